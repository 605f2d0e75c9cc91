#include "http/query_string.hpp"

#include <unordered_set>

#include "core/text.hpp"

namespace libromind::http {

namespace {

// application/x-www-form-urlencoded decoding: `+` is a space, `%XX` a byte.
std::optional<std::string> decode(std::string_view s) { return core::percent_decode(s, true); }

}  // namespace

std::optional<std::string_view> QueryParams::get(std::string_view key) const {
  for (const auto& [k, v] : items_) {
    if (k == key) {
      return std::string_view(v);
    }
  }
  return std::nullopt;
}

std::vector<std::string_view> QueryParams::get_all(std::string_view key) const {
  std::vector<std::string_view> out;
  for (const auto& [k, v] : items_) {
    if (k == key) {
      out.emplace_back(v);
    }
  }
  return out;
}

bool QueryParams::has(std::string_view key) const { return get(key).has_value(); }

core::Result<void> QueryParams::reject_unknown(
    std::initializer_list<std::string_view> allowed) const {
  for (const auto& [k, v] : items_) {
    bool known = false;
    for (std::string_view a : allowed) {
      known = known || a == k;
    }
    if (!known) {
      return core::Error::invalid("unknown query parameter '" + k + "'", k);
    }
  }
  return core::ok();
}

core::Result<void> QueryParams::reject_repeated() const {
  std::unordered_set<std::string_view> seen;
  for (const auto& [k, v] : items_) {
    if (!seen.insert(k).second) {
      return core::Error::invalid("query parameter '" + k + "' given more than once", k);
    }
  }
  return core::ok();
}

core::Result<void> QueryParams::reject_repeated(
    std::initializer_list<std::string_view> keys) const {
  for (std::string_view key : keys) {
    if (get_all(key).size() > 1) {
      std::string k(key);
      return core::Error::invalid("query parameter '" + k + "' given more than once", k);
    }
  }
  return core::ok();
}

core::Result<QueryParams> parse_query_string(std::string_view raw, const QueryLimits& limits) {
  if (raw.size() > limits.max_total_bytes) {
    return core::Error::invalid("query string longer than " +
                                std::to_string(limits.max_total_bytes) + " bytes");
  }
  std::vector<std::pair<std::string, std::string>> items;
  for (std::string_view pair : core::split(raw, '&')) {
    if (pair.empty()) {
      continue;
    }
    size_t eq = pair.find('=');
    std::string_view raw_key = pair.substr(0, eq);
    std::string_view raw_value =
        eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1);

    auto key = decode(raw_key);
    if (!key) {
      return core::Error::invalid("invalid percent-encoding in a query parameter name");
    }
    if (!core::is_valid_utf8(*key)) {
      return core::Error::invalid("query parameter name is not valid UTF-8");
    }
    if (key->empty()) {
      return core::Error::invalid("empty query parameter name");
    }
    if (key->size() > limits.max_key_bytes) {
      return core::Error::invalid(
          "query parameter name longer than " + std::to_string(limits.max_key_bytes) + " bytes",
          *key);
    }
    auto value = decode(raw_value);
    if (!value) {
      return core::Error::invalid("invalid percent-encoding in query parameter '" + *key + "'",
                                  *key);
    }
    if (!core::is_valid_utf8(*value)) {
      return core::Error::invalid("query parameter '" + *key + "' is not valid UTF-8", *key);
    }
    if (value->size() > limits.max_value_bytes) {
      return core::Error::invalid("query parameter '" + *key + "' longer than " +
                                      std::to_string(limits.max_value_bytes) + " bytes",
                                  *key);
    }
    if (items.size() == limits.max_params) {
      return core::Error::invalid("more than " + std::to_string(limits.max_params) +
                                  " query parameters");
    }
    items.emplace_back(std::move(*key), std::move(*value));
  }
  return QueryParams(std::move(items));
}

}  // namespace libromind::http
