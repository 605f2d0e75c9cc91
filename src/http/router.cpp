#include "http/router.hpp"

#include <algorithm>

#include "core/text.hpp"

namespace libromind::http {
namespace {

// A segment that does not decode stays as it is (the server rejects such paths before routing).
std::string decode_segment(std::string_view in) {
  return core::percent_decode(in).value_or(std::string(in));
}

// Splits a raw path into decoded segments. One trailing slash is ignored; any other empty
// segment ("//") is kept, so such a path matches no route.
std::vector<std::string> split_path(std::string_view path) {
  std::vector<std::string> out;
  if (!path.empty() && path.front() == '/') path.remove_prefix(1);
  if (!path.empty() && path.back() == '/') path.remove_suffix(1);
  if (path.empty()) return out;
  for (auto part : core::split(path, '/')) out.push_back(decode_segment(part));
  return out;
}

bool is_param(const std::string& seg) {
  return seg.size() > 2 && seg.front() == '{' && seg.back() == '}';
}

}  // namespace

void Router::add(std::string method, std::string pattern, Handler handler, RouteOptions options) {
  Route r;
  r.method = std::move(method);
  r.segments = split_path(pattern);
  r.pattern = std::move(pattern);
  r.handler = std::move(handler);
  r.inline_handler = options.inline_handler;
  r.cacheable = options.cacheable;
  routes_.push_back(std::move(r));
}

RouteMatch Router::match(Request& request) const {
  const auto segs = split_path(request.path);
  RouteMatch m;
  for (const auto& r : routes_) {
    if (r.segments.size() != segs.size()) continue;
    std::map<std::string, std::string> params;
    bool ok = true;
    for (size_t i = 0; i < segs.size() && ok; ++i) {
      if (is_param(r.segments[i])) {
        params[r.segments[i].substr(1, r.segments[i].size() - 2)] = segs[i];
      } else {
        ok = r.segments[i] == segs[i];
      }
    }
    if (!ok) continue;
    if (r.method == request.method || (request.method == "HEAD" && r.method == "GET")) {
      m.route = &r;
      request.path_params = std::move(params);
      request.route = r.pattern;
      return m;
    }
    if (std::find(m.allowed.begin(), m.allowed.end(), r.method) == m.allowed.end()) {
      m.allowed.push_back(r.method);
    }
  }
  request.route = "unmatched";
  return m;
}

}  // namespace libromind::http
