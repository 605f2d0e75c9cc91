#include "http/handlers/common.hpp"

#include "core/text.hpp"

namespace libromind::http {

Response json_ok(int status, const ojson& body) {
  return json_response(status, body.dump(-1, ' ', false, ojson::error_handler_t::replace));
}

Response no_content() {
  Response r;
  r.status = 204;
  r.content_type.clear();
  return r;
}

core::Result<nlohmann::json> json_body(const Request& req, const std::set<std::string>& allowed,
                                       size_t max_bytes) {
  const auto* ct = req.header("content-type");
  std::string type = ct ? core::to_lower_ascii(core::trim(ct->substr(0, ct->find(';')))) : "";
  if (type != "application/json") {
    return core::Error{core::ErrorCode::kUnsupportedMediaType,
                       "send the body as Content-Type: application/json"};
  }
  if (req.body.size() > max_bytes) {
    return core::Error{core::ErrorCode::kPayloadTooLarge,
                       "the body must be at most " + std::to_string(max_bytes) + " bytes"};
  }
  if (!core::is_valid_utf8(req.body)) {
    auto e = core::Error::invalid("the body is not valid UTF-8");
    e.type = "malformed-body";
    return e;
  }
  // Our bodies nest a few levels; deeper nesting is refused before anything recurses on it.
  if (core::json_nesting_depth(req.body, kMaxJsonDepth) > kMaxJsonDepth) {
    auto e = core::Error::invalid("the body nests deeper than " + std::to_string(kMaxJsonDepth) +
                                  " levels");
    e.type = "malformed-body";
    return e;
  }
  auto j = nlohmann::json::parse(req.body, nullptr, false);
  if (j.is_discarded()) {
    auto e = core::Error::invalid("the body is not valid JSON");
    e.type = "malformed-body";
    return e;
  }
  if (!j.is_object()) {
    auto e = core::Error::invalid("the body must be a JSON object");
    e.type = "malformed-body";
    return e;
  }
  for (const auto& [k, v] : j.items()) {
    if (!allowed.count(k)) {
      auto e = core::Error::invalid("unknown field '" + k + "'", k);
      e.type = "unknown-field";
      return e;
    }
  }
  return j;
}

core::Result<std::optional<std::string>> str_field(const nlohmann::json& j, const char* key,
                                                   size_t max_chars, const std::string& prefix) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return std::optional<std::string>();
  const std::string name = prefix + key;
  if (!it->is_string()) return core::Error::invalid(name + " must be a string", name);
  std::string s = it->get<std::string>();
  if (core::utf8_length(s) > max_chars) {
    return core::Error::invalid(
        name + " must have at most " + std::to_string(max_chars) + " characters", name);
  }
  return std::optional<std::string>(std::move(s));
}

core::Result<std::string> required_str(const nlohmann::json& j, const char* key, size_t max_chars,
                                       const std::string& prefix) {
  LM_ASSIGN_OR_RETURN(auto v, str_field(j, key, max_chars, prefix));
  if (!v) return core::Error::invalid(prefix + key + " is required", prefix + key);
  return *v;
}

core::Result<std::optional<int64_t>> int_field(const nlohmann::json& j, const char* key,
                                               int64_t min, int64_t max,
                                               const std::string& prefix) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return std::optional<int64_t>();
  const std::string name = prefix + key;
  if (!it->is_number_integer()) return core::Error::invalid(name + " must be an integer", name);
  if (it->is_number_unsigned() && it->get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)) {
    return core::Error::invalid(name + " is out of range", name);
  }
  int64_t v = it->get<int64_t>();
  if (v < min || v > max) {
    return core::Error::invalid(
        name + " must be between " + std::to_string(min) + " and " + std::to_string(max), name);
  }
  return std::optional<int64_t>(v);
}

core::Result<std::optional<Principal>> Authenticator::optional(const Request& req) const {
  const auto* h = req.header("authorization");
  if (!h) return std::optional<Principal>();
  std::string_view v = core::trim(*h);
  if (v.size() < 7 || core::to_lower_ascii(v.substr(0, 7)) != "bearer ") {
    return core::Error::make(core::ErrorCode::kUnauthenticated,
                             "use Authorization: Bearer <access token>", "invalid-token");
  }
  LM_ASSIGN_OR_RETURN(auto claims, accounts_.authenticate(core::trim(v.substr(7))));
  return std::optional<Principal>(Principal{claims.user_id, claims.role});
}

core::Result<Principal> Authenticator::require(const Request& req) const {
  LM_ASSIGN_OR_RETURN(auto p, optional(req));
  if (!p) {
    return core::Error::make(core::ErrorCode::kUnauthenticated,
                             "sign in: this needs Authorization: Bearer <access token>",
                             "unauthenticated");
  }
  return *p;
}

core::Result<Principal> Authenticator::require_admin(const Request& req) const {
  LM_ASSIGN_OR_RETURN(auto p, require(req));
  if (!p.admin()) {
    return core::Error::make(core::ErrorCode::kForbidden, "this needs an administrator",
                             "forbidden");
  }
  return p;
}

std::string client_address(const Request& req, const std::set<std::string>& trusted) {
  if (!trusted.count(req.remote_address)) return req.remote_address;
  const auto* xff = req.header("x-forwarded-for");
  if (!xff) return req.remote_address;
  auto parts = core::split(*xff, ',');
  for (size_t i = parts.size(); i-- > 0;) {
    std::string hop(core::trim(parts[i]));
    if (hop.empty() || hop.size() > 64) break;
    if (!trusted.count(hop)) return hop;
  }
  return req.remote_address;
}

std::optional<std::string> cookie(const Request& req, std::string_view name) {
  const auto* h = req.header("cookie");
  if (!h) return std::nullopt;
  for (auto part : core::split(*h, ';')) {
    auto t = core::trim(part);
    auto eq = t.find('=');
    if (eq == std::string_view::npos) continue;
    if (core::trim(t.substr(0, eq)) == name) return std::string(core::trim(t.substr(eq + 1)));
  }
  return std::nullopt;
}

bool valid_public_id(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id) {
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

}  // namespace libromind::http
