// Routes a method and path to a handler, with `{name}` path parameters. Matching is exact
// per segment; a path that exists with another method gives 405 with the allowed methods.
//
//   router.add("GET", "/api/v1/books/{id}", [&](Request& r) { return get_book(r); });
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "http/message.hpp"

namespace libromind::http {

using Handler = std::function<Response(Request&)>;

struct Route {
  std::string method;
  std::string pattern;  // "/api/v1/books/{id}"
  std::vector<std::string> segments;
  Handler handler;
  // Runs on the I/O thread when true (cheap, never blocks: health). Otherwise on the bounded
  // blocking pool.
  bool inline_handler = false;
  // A public read whose 200 responses may be served from the response cache until the store's
  // change sequence moves.
  bool cacheable = false;
};

struct RouteOptions {
  bool inline_handler = false;
  bool cacheable = false;
};

struct RouteMatch {
  const Route* route = nullptr;      // set when matched
  std::vector<std::string> allowed;  // methods of the path when only the method did not match
};

class Router {
 public:
  void add(std::string method, std::string pattern, Handler handler, RouteOptions options = {});
  // Fills request.path_params on a match.
  RouteMatch match(Request& request) const;
  const std::vector<Route>& routes() const { return routes_; }

 private:
  std::vector<Route> routes_;
};

}  // namespace libromind::http
