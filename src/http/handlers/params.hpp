// Typed, range-checked access to query and path parameters for handlers: every failure is an
// invalid-argument error naming the parameter.
#pragma once

#include <optional>
#include <string>

#include "core/result.hpp"
#include "http/message.hpp"
#include "http/query_string.hpp"

namespace libromind::http {

// A 400 unknown-parameter problem when the query has a key not in `allowed`.
std::optional<Response> reject_unknown_params(const Request& req,
                                              std::initializer_list<std::string_view> allowed);

core::Result<std::optional<int64_t>> int_param(const QueryParams& q, std::string_view key,
                                               int64_t min, int64_t max);
core::Result<std::optional<bool>> bool_param(const QueryParams& q, std::string_view key);
// A string of at most max_chars code points (control characters rejected).
core::Result<std::optional<std::string>> string_param(const QueryParams& q, std::string_view key,
                                                      size_t max_chars);

}  // namespace libromind::http
