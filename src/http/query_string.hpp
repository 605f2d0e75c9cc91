// Parses the query part of a request target (after `?`) into ordered key/value pairs, with
// percent-decoding, UTF-8 checks and size limits, so handlers only see well-formed parameters.
//
//   LM_ASSIGN_OR_RETURN(auto params, http::parse_query_string(target.substr(q + 1)));
//   LM_TRY(params.reject_unknown({"q", "limit", "genre"}));
//   auto q = params.get("q").value_or("");
#pragma once

#include <cstddef>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.hpp"

namespace libromind::http {

struct QueryLimits {
  size_t max_params = 50;         // non-empty `key=value` pairs
  size_t max_key_bytes = 64;      // decoded
  size_t max_value_bytes = 2048;  // decoded
  size_t max_total_bytes = 8192;  // the raw query string
};

// Decoded parameters in the order given; a key may repeat.
class QueryParams {
 public:
  QueryParams() = default;
  explicit QueryParams(std::vector<std::pair<std::string, std::string>> items)
      : items_(std::move(items)) {}

  // The first value of `key`.
  std::optional<std::string_view> get(std::string_view key) const;
  // Every value of `key`, in order.
  std::vector<std::string_view> get_all(std::string_view key) const;
  bool has(std::string_view key) const;
  const std::vector<std::pair<std::string, std::string>>& items() const { return items_; }

  // Error "unknown query parameter 'x'" (field x) for the first key not in `allowed`.
  core::Result<void> reject_unknown(std::initializer_list<std::string_view> allowed) const;
  // Error "query parameter 'x' given more than once" (field x) for the first repeated key.
  core::Result<void> reject_repeated() const;
  // Same, only for the keys listed (others, such as `genre`, may repeat).
  core::Result<void> reject_repeated(std::initializer_list<std::string_view> keys) const;

 private:
  std::vector<std::pair<std::string, std::string>> items_;
};

// `raw` is the text after `?` (without any `#fragment`). `+` is a space; `%XX` is decoded, and a
// `%` not followed by two hex digits is an error; `a=1&&b=2` skips the empty pair; `a` alone has
// the value "". Errors are kInvalidArgument, with the field set to the key where there is one.
core::Result<QueryParams> parse_query_string(std::string_view raw, const QueryLimits& limits = {});

}  // namespace libromind::http
