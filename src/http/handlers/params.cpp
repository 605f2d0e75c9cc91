#include "http/handlers/params.hpp"

#include "core/text.hpp"
#include "http/problem.hpp"

namespace libromind::http {

std::optional<Response> reject_unknown_params(const Request& req,
                                              std::initializer_list<std::string_view> allowed) {
  auto r = req.query.reject_unknown(allowed);
  if (r) return std::nullopt;
  return problem(400, "unknown-parameter", "Unknown parameter", r.error().message, req.request_id,
                 {{r.error().field, r.error().message}});
}

core::Result<std::optional<int64_t>> int_param(const QueryParams& q, std::string_view key,
                                               int64_t min, int64_t max) {
  auto v = q.get(key);
  if (!v) return std::optional<int64_t>{};
  auto n = core::parse_int(*v);
  const std::string k(key);
  if (!n) return core::Error::invalid(k + " must be an integer", k);
  if (*n < min || *n > max) {
    return core::Error::invalid(
        k + " must be between " + std::to_string(min) + " and " + std::to_string(max), k);
  }
  return std::optional<int64_t>{*n};
}

core::Result<std::optional<bool>> bool_param(const QueryParams& q, std::string_view key) {
  auto v = q.get(key);
  if (!v) return std::optional<bool>{};
  if (*v == "true") return std::optional<bool>{true};
  if (*v == "false") return std::optional<bool>{false};
  const std::string k(key);
  return core::Error::invalid(k + " must be true or false", k);
}

core::Result<std::optional<std::string>> string_param(const QueryParams& q, std::string_view key,
                                                      size_t max_chars) {
  auto v = q.get(key);
  if (!v) return std::optional<std::string>{};
  const std::string k(key);
  if (core::utf8_length(*v) > max_chars) {
    return core::Error::invalid(k + " must be at most " + std::to_string(max_chars) + " characters",
                                k);
  }
  for (unsigned char c : *v) {
    if (c < 0x20 || c == 0x7f) return core::Error::invalid(k + " contains control characters", k);
  }
  return std::optional<std::string>{std::string(*v)};
}

}  // namespace libromind::http
