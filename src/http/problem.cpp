#include "http/problem.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>

namespace libromind::http {

Response problem(int status, const std::string& type, const std::string& title,
                 const std::string& detail, const std::string& request_id,
                 const std::vector<FieldProblem>& errors) {
  nlohmann::json j = {{"type", "/problems/" + type},
                      {"title", title},
                      {"status", status},
                      {"request_id", request_id}};
  if (!detail.empty()) j["detail"] = detail;
  if (!errors.empty()) {
    auto arr = nlohmann::json::array();
    for (const auto& e : errors) arr.push_back({{"field", e.field}, {"message", e.message}});
    j["errors"] = std::move(arr);
  }
  Response r;
  r.status = status;
  r.content_type = "application/problem+json";
  r.body = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  r.set_header("Cache-Control", "no-store");
  return r;
}

Response problem_from_error(const core::Error& e, const std::string& request_id) {
  std::vector<FieldProblem> fields;
  if (!e.field.empty()) fields.push_back({e.field, e.message});
  auto type_or = [&e](const char* fallback) {
    return e.type.empty() ? std::string(fallback) : e.type;
  };
  switch (e.code) {
    case core::ErrorCode::kInvalidArgument:
      return problem(400, type_or("invalid-parameter"), "Invalid parameter", e.message, request_id,
                     fields);
    case core::ErrorCode::kNotFound:
      return problem(404, type_or("not-found"), "Not found", e.message, request_id);
    case core::ErrorCode::kUnauthenticated: {
      auto r = problem(401, type_or("unauthenticated"), "Authentication required", e.message,
                       request_id);
      r.set_header("WWW-Authenticate", "Bearer realm=\"libromind\"");
      return r;
    }
    case core::ErrorCode::kForbidden:
      return problem(403, type_or("forbidden"), "Forbidden", e.message, request_id);
    case core::ErrorCode::kConflict:
      return problem(409, type_or("conflict"), "Conflict", e.message, request_id, fields);
    case core::ErrorCode::kUnprocessable:
      return problem(422, type_or("unprocessable"), "Unprocessable request", e.message, request_id,
                     fields);
    case core::ErrorCode::kPaymentRequired:
      return problem(402, type_or("payment-declined"), "Payment declined", e.message, request_id);
    case core::ErrorCode::kTooManyRequests: {
      auto r =
          problem(429, type_or("too-many-requests"), "Too many requests", e.message, request_id);
      r.set_header("Retry-After", std::to_string(std::max<int64_t>(1, e.retry_after_seconds)));
      return r;
    }
    case core::ErrorCode::kPayloadTooLarge:
      return problem(413, "payload-too-large", "Payload too large", e.message, request_id);
    case core::ErrorCode::kUnsupportedMediaType:
      return problem(415, type_or("unsupported-media-type"), "Unsupported media type", e.message,
                     request_id);
    case core::ErrorCode::kUnavailable: {
      auto r = problem(503, type_or("unavailable"), "Service unavailable", e.message, request_id);
      r.set_header("Retry-After", std::to_string(std::max<int64_t>(1, e.retry_after_seconds)));
      return r;
    }
    case core::ErrorCode::kInternal:
      break;
  }
  // Internal details stay in the log; the caller gets the request id to quote.
  return problem(500, "internal", "Internal error",
                 "an unexpected error occurred; quote the request id when reporting it",
                 request_id);
}

}  // namespace libromind::http
