// Passwords: the registration policy (length, a bundled list of common passwords) and argon2id
// hashing through libsodium. Hashes are libsodium's encoded strings ("$argon2id$v=19$m=...,
// t=...,p=1$salt$hash"), so the parameters travel with each hash and can be raised later.
//
//   accounts::PasswordHasher hasher({.ops_limit = 2, .mem_limit_kib = 65536});
//   LM_ASSIGN_OR_RETURN(auto encoded, hasher.hash(password));
//   bool ok = hasher.verify(encoded, password);
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "core/result.hpp"

namespace libromind::accounts {

// OWASP's minimum for argon2id (Password Storage Cheat Sheet): m = 19 MiB, t = 2, p = 1.
inline constexpr uint64_t kMinOpsLimit = 2;
inline constexpr uint64_t kMinMemLimitKib = 19 * 1024;

struct Argon2Params {
  uint64_t ops_limit = 2;          // t: passes over memory
  uint64_t mem_limit_kib = 65536;  // m: 64 MiB (libsodium's "interactive" level)
};

// Rejects parameters below OWASP's minimum.
core::Result<void> validate_params(const Argon2Params& params);

class PasswordHasher {
 public:
  explicit PasswordHasher(Argon2Params params);
  core::Result<std::string> hash(std::string_view password) const;
  // Constant-time comparison inside libsodium; false for a malformed hash.
  bool verify(std::string_view encoded, std::string_view password) const;
  // Burns the same time as a verify, for logins of unknown accounts (no timing oracle).
  void verify_dummy(std::string_view password) const;
  const Argon2Params& params() const { return params_; }

 private:
  Argon2Params params_;
  mutable std::once_flag dummy_once_;
  mutable std::string dummy_hash_;
};

inline constexpr size_t kMinPasswordChars = 10;
inline constexpr size_t kMaxPasswordChars = 256;

// At least 10 and at most 256 code points of valid UTF-8, not on the bundled common-password
// list (compared case-insensitively), and not the e-mail address or its local part.
core::Result<void> check_password_policy(std::string_view password, std::string_view email);
bool is_common_password(std::string_view password);

// Trims, lower-cases and checks an e-mail address: one '@', a non-empty local part without
// spaces or control characters, a domain of dot-separated labels; at most 254 bytes.
core::Result<std::string> normalize_email(std::string_view email);

}  // namespace libromind::accounts
