// Vetted primitives for the service's secrets (libsodium): random tokens, SHA-256,
// HMAC-SHA-256 and constant-time comparison. Nothing here is hand-rolled cryptography.
//
//   std::string token = core::random_token(32);         // 256 bits, base64url
//   std::string stored = core::sha256_hex(token);         // what the store keeps
#pragma once

#include <string>
#include <string_view>

namespace libromind::core {

// `bytes` random bytes from the OS CSPRNG, base64url-encoded without padding.
std::string random_token(size_t bytes);
// Lower-case hex SHA-256 of `data`.
std::string sha256_hex(std::string_view data);
// Raw 32-byte HMAC-SHA-256 of `data` under `key`.
std::string hmac_sha256(std::string_view key, std::string_view data);
// Constant-time equality of two strings of the same length (false when lengths differ).
bool constant_time_equal(std::string_view a, std::string_view b);

}  // namespace libromind::core
