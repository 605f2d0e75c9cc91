#include "accounts/tokens.hpp"

#include <nlohmann/json.hpp>
#include <stdexcept>

#include "core/crypto.hpp"
#include "core/text.hpp"

namespace libromind::accounts {
namespace {

using json = nlohmann::json;

constexpr size_t kMaxTokenBytes = 4096;
constexpr int64_t kClockSkewSeconds = 60;

bool valid_kid(std::string_view kid) {
  if (kid.empty() || kid.size() > 64) return false;
  for (char c : kid) {
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

core::Error unauthenticated(std::string why) {
  return core::Error::make(core::ErrorCode::kUnauthenticated, "access token rejected: " + why,
                           "invalid-token");
}

std::optional<json> decode_json_part(std::string_view part) {
  auto raw = core::base64url_decode(part);
  if (!raw) return std::nullopt;
  auto j = json::parse(*raw, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  return j;
}

}  // namespace

core::Result<std::vector<SigningKey>> parse_key_ring(std::string_view text) {
  std::vector<SigningKey> keys;
  int line_no = 0;
  for (auto line : core::split(text, '\n')) {
    ++line_no;
    auto t = core::trim(line);
    if (t.empty() || t.front() == '#') continue;
    auto sp = t.find_first_of(" \t");
    if (sp == std::string_view::npos) {
      return core::Error::invalid("key ring line " + std::to_string(line_no) +
                                  ": expected 'KID SECRET'");
    }
    std::string kid(t.substr(0, sp));
    auto secret_text = core::trim(t.substr(sp + 1));
    if (!valid_kid(kid)) {
      return core::Error::invalid("key ring line " + std::to_string(line_no) +
                                  ": a key id is 1..64 of A-Z a-z 0-9 . _ -");
    }
    auto secret = core::base64url_decode(secret_text);
    if (!secret || secret->size() < 32) {
      return core::Error::invalid("key ring line " + std::to_string(line_no) +
                                  ": the secret must be base64url of at least 32 bytes");
    }
    for (const auto& k : keys) {
      if (k.kid == kid) {
        return core::Error::invalid("key ring line " + std::to_string(line_no) +
                                    ": duplicate key id '" + kid + "'");
      }
    }
    keys.push_back({kid, *secret});
  }
  if (keys.empty()) return core::Error::invalid("key ring holds no key");
  return keys;
}

std::vector<SigningKey> ephemeral_key_ring() {
  auto secret = core::base64url_decode(core::random_token(32));
  return {{"ephemeral-" + core::random_token(6), *secret}};
}

TokenSigner::TokenSigner(std::vector<SigningKey> keys, int64_t ttl_seconds, std::string issuer)
    : keys_(std::move(keys)), ttl_(ttl_seconds), issuer_(std::move(issuer)) {
  if (keys_.empty()) throw std::invalid_argument("TokenSigner needs at least one key");
}

std::string TokenSigner::issue(AccessClaims c, int64_t now) const {
  const SigningKey& key = keys_.front();
  json header = {{"alg", "HS256"}, {"typ", "JWT"}, {"kid", key.kid}};
  json payload = {{"iss", issuer_}, {"sub", std::to_string(c.user_id)},
                  {"role", c.role}, {"sid", c.session},
                  {"iat", now},     {"exp", now + ttl_}};
  std::string signing_input =
      core::base64url_encode(header.dump()) + "." + core::base64url_encode(payload.dump());
  return signing_input + "." + core::base64url_encode(core::hmac_sha256(key.secret, signing_input));
}

core::Result<AccessClaims> TokenSigner::verify(std::string_view token, int64_t now) const {
  if (token.empty() || token.size() > kMaxTokenBytes) return unauthenticated("malformed token");
  auto dot1 = token.find('.');
  auto dot2 = dot1 == std::string_view::npos ? dot1 : token.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos || token.find('.', dot2 + 1) != std::string_view::npos) {
    return unauthenticated("malformed token");
  }
  auto header = decode_json_part(token.substr(0, dot1));
  if (!header) return unauthenticated("malformed token header");
  // Only the one algorithm we issue; `none` and every other value are refused outright.
  auto alg = header->find("alg");
  if (alg == header->end() || !alg->is_string() || *alg != "HS256") {
    return unauthenticated("algorithm not accepted");
  }
  if (header->contains("crit")) return unauthenticated("unsupported critical header");
  if (auto typ = header->find("typ");
      typ != header->end() && (!typ->is_string() || *typ != "JWT")) {
    return unauthenticated("not a JWT");
  }
  auto kid = header->find("kid");
  if (kid == header->end() || !kid->is_string()) return unauthenticated("no key id");
  const SigningKey* key = nullptr;
  for (const auto& k : keys_) {
    if (k.kid == kid->get<std::string>()) key = &k;
  }
  if (!key) return unauthenticated("unknown key id");
  auto sig = core::base64url_decode(token.substr(dot2 + 1));
  if (!sig) return unauthenticated("malformed signature");
  const std::string expected = core::hmac_sha256(key->secret, token.substr(0, dot2));
  if (!core::constant_time_equal(*sig, expected)) return unauthenticated("bad signature");

  auto payload = decode_json_part(token.substr(dot1 + 1, dot2 - dot1 - 1));
  if (!payload) return unauthenticated("malformed claims");
  const json& p = *payload;
  auto str = [&](const char* k) -> std::optional<std::string> {
    auto it = p.find(k);
    if (it == p.end() || !it->is_string()) return std::nullopt;
    return it->get<std::string>();
  };
  auto num = [&](const char* k) -> std::optional<int64_t> {
    auto it = p.find(k);
    if (it == p.end() || !it->is_number_integer()) return std::nullopt;
    return it->get<int64_t>();
  };
  if (str("iss") != issuer_) return unauthenticated("wrong issuer");
  auto exp = num("exp");
  auto iat = num("iat");
  if (!exp || !iat) return unauthenticated("missing time claims");
  if (*exp <= now) return unauthenticated("token expired");
  if (*iat > now + kClockSkewSeconds) return unauthenticated("token issued in the future");
  auto sub = str("sub");
  auto uid = sub ? core::parse_int(*sub) : std::nullopt;
  if (!uid || *uid < 1) return unauthenticated("bad subject");
  auto role = str("role");
  if (role != "customer" && role != "admin") return unauthenticated("bad role");
  auto sid = str("sid");
  if (!sid || sid->empty()) return unauthenticated("no session");
  return AccessClaims{*uid, *role, *sid, *iat, *exp};
}

}  // namespace libromind::accounts
