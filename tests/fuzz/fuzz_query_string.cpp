// libFuzzer target: arbitrary bytes as a query string. Checks the limits on every accepted
// input and that re-encoding the parsed parameters and parsing again gives the same parameters.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <string>
#include <string_view>

#include "core/text.hpp"
#include "http/query_string.hpp"

namespace {

void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "invariant broken: %s\n", what);
    std::abort();
  }
}

std::string encode(std::string_view s) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if ((u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z') || (u >= '0' && u <= '9') || u == '-' ||
        u == '_' || u == '.' || u == '~') {
      out.push_back(c);
    } else {
      out.push_back('%');
      out.push_back(kHex[u >> 4]);
      out.push_back(kHex[u & 15]);
    }
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using libromind::http::parse_query_string;
  std::string_view raw(reinterpret_cast<const char*>(data), size);
  libromind::http::QueryLimits limits;
  auto parsed = parse_query_string(raw, limits);
  if (!parsed) {
    check(parsed.error().code == libromind::core::ErrorCode::kInvalidArgument, "error code");
    return 0;
  }
  const auto& items = parsed->items();
  check(raw.size() <= limits.max_total_bytes, "total limit");
  check(items.size() <= limits.max_params, "parameter limit");
  std::string again;
  for (const auto& [k, v] : items) {
    check(!k.empty() && k.size() <= limits.max_key_bytes, "key limit");
    check(v.size() <= limits.max_value_bytes, "value limit");
    check(libromind::core::is_valid_utf8(k) && libromind::core::is_valid_utf8(v), "UTF-8");
    check(parsed->has(k) && !parsed->get_all(k).empty(), "lookup finds every key");
    again += (again.empty() ? "" : "&") + encode(k) + "=" + encode(v);
  }
  if (!items.empty()) {
    check(parsed->get(items[0].first) == std::string_view(items[0].second), "first value");
  }
  (void)parsed->reject_unknown({"q", "limit"});
  (void)parsed->reject_repeated();

  // Encoding can triple the size, so the total limit is lifted for the second parse.
  limits.max_total_bytes = std::numeric_limits<size_t>::max();
  auto reparsed = parse_query_string(again, limits);
  check(reparsed.ok(), "re-encoded parameters parse");
  check(reparsed->items() == items, "round trip keeps the parameters");
  return 0;
}
