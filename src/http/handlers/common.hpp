// Shared pieces of the JSON API handlers: error mapping, JSON bodies with strict fields, and
// the authenticated principal of a request.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>

#include "accounts/account_service.hpp"
#include "core/result.hpp"
#include "http/message.hpp"
#include "http/problem.hpp"

namespace libromind::http {

using ojson = nlohmann::ordered_json;

// Runs a handler body that may fail with a core::Error, mapping errors to problems.
template <typename F>
Response guarded(Request& req, F&& body) {
  core::Result<Response> r = body();
  if (!r) return problem_from_error(r.error(), req.request_id);
  return std::move(*r);
}

Response json_ok(int status, const ojson& body);
// 204 No Content.
Response no_content();

inline constexpr size_t kMaxJsonBody = 64 * 1024;
inline constexpr size_t kMaxJsonDepth = 32;

// The request body as a JSON object: Content-Type application/json (else 415), valid UTF-8,
// at most `max_bytes`, an object whose keys are all in `allowed` (else 400 naming the key).
core::Result<nlohmann::json> json_body(const Request& req, const std::set<std::string>& allowed,
                                       size_t max_bytes = kMaxJsonBody);

// Typed fields of a JSON object; a wrong type is a 400 naming the field (`prefix` + key).
core::Result<std::optional<std::string>> str_field(const nlohmann::json& j, const char* key,
                                                   size_t max_chars,
                                                   const std::string& prefix = "");
core::Result<std::string> required_str(const nlohmann::json& j, const char* key, size_t max_chars,
                                       const std::string& prefix = "");
core::Result<std::optional<int64_t>> int_field(const nlohmann::json& j, const char* key,
                                               int64_t min, int64_t max,
                                               const std::string& prefix = "");

// The signed-in caller, from `Authorization: Bearer <access token>`.
struct Principal {
  int64_t user_id = 0;
  std::string role;
  bool admin() const { return role == "admin"; }
};

class Authenticator {
 public:
  explicit Authenticator(accounts::AccountService& accounts) : accounts_(accounts) {}
  // No Authorization header: nullopt. A header that is not a valid bearer token: 401.
  core::Result<std::optional<Principal>> optional(const Request& req) const;
  core::Result<Principal> require(const Request& req) const;
  // 401 without a valid token, 403 for a signed-in customer.
  core::Result<Principal> require_admin(const Request& req) const;

 private:
  accounts::AccountService& accounts_;
};

// The client's address for throttling: the peer, or, when the peer is a trusted proxy, the
// right-most X-Forwarded-For entry that is not one.
std::string client_address(const Request& req, const std::set<std::string>& trusted_proxies);

// The value of one cookie of the request, if present.
std::optional<std::string> cookie(const Request& req, std::string_view name);

bool valid_public_id(std::string_view id);

}  // namespace libromind::http
