// The service's own request and response types. Handlers and middleware work on these, never
// on sockets or Beast types, so they are unit-tested without I/O.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "http/query_string.hpp"

namespace libromind::http {

struct Request {
  std::string method;  // "GET", "POST", ...
  std::string target;  // as received: path and query
  std::string path;    // decoded path, no query
  std::string raw_query;
  QueryParams query;
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;
  std::string remote_address;
  // Filled by the server and router.
  std::string request_id;
  std::string route;  // the matched route pattern ("/api/v1/books/{id}"), or "unmatched"
  std::map<std::string, std::string> path_params;
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();

  const std::string* header(const std::string& lower_name) const {
    auto it = headers.find(lower_name);
    return it == headers.end() ? nullptr : &it->second;
  }
};

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  // A cacheable read: the server adds an ETag, answers If-None-Match with 304 and sets
  // Cache-Control from `max_age_seconds`.
  bool cacheable = false;
  int max_age_seconds = 30;

  void set_header(const std::string& name, std::string value);
  const std::string* header(const std::string& name) const;  // case-insensitive
};

Response json_response(int status, std::string body);

}  // namespace libromind::http
