// Access tokens: JWTs signed with HMAC-SHA-256 (RFC 7519, RFC 7515 "HS256"), 15 minutes by
// default. The key ring holds one or more keys, each with an id (`kid`): the first signs, all
// verify, so a key is rotated by adding the new one first and removing the old one once the
// tokens it signed have expired. Verification accepts only HS256 with a known `kid` (never
// `alg: none`, never another algorithm), checks the signature in constant time, then the
// issuer, expiry and claims.
//
//   LM_ASSIGN_OR_RETURN(auto keys, accounts::parse_key_ring(file_text));
//   accounts::TokenSigner signer(std::move(keys));
//   std::string jwt = signer.issue({.user_id = 7, .role = "customer", .session = fam}, now);
//   LM_ASSIGN_OR_RETURN(auto claims, signer.verify(jwt, now));
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"

namespace libromind::accounts {

struct SigningKey {
  std::string kid;     // 1..64 of [A-Za-z0-9._-]
  std::string secret;  // raw bytes, at least 32
};

// One key per line: `KID SECRET`, the secret base64url-encoded (at least 32 bytes decoded);
// blank lines and `#` comments are ignored. The first key signs.
core::Result<std::vector<SigningKey>> parse_key_ring(std::string_view text);

// A fresh random key ring of one key (for development when none is configured).
std::vector<SigningKey> ephemeral_key_ring();

struct AccessClaims {
  int64_t user_id = 0;
  std::string role;     // "customer" or "admin"
  std::string session;  // the refresh-token family this login belongs to
  int64_t issued_at = 0;
  int64_t expires_at = 0;
};

class TokenSigner {
 public:
  explicit TokenSigner(std::vector<SigningKey> keys, int64_t ttl_seconds = 900,
                       std::string issuer = "libromind");
  // Fills issued_at/expires_at from `now` and the TTL.
  std::string issue(AccessClaims claims, int64_t now) const;
  // An unauthenticated error saying what is wrong (malformed, bad signature, expired, ...).
  core::Result<AccessClaims> verify(std::string_view token, int64_t now) const;
  int64_t ttl_seconds() const { return ttl_; }
  const std::string& active_kid() const { return keys_.front().kid; }

 private:
  std::vector<SigningKey> keys_;
  int64_t ttl_;
  std::string issuer_;
};

}  // namespace libromind::accounts
