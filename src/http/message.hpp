// The service's own request and response types. Handlers and middleware work on these, never
// on sockets or Beast types, so they are unit-tested without I/O.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
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
  // An upload route's body, on disk ("" otherwise, and when the upload was refused unread).
  std::string body_file;
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

// Where a streamed response's producer writes. The server sends each write as it comes (HTTP/1.1
// chunked); a write returns false once the client has gone, the server drains or the client
// stopped reading for too long, and the producer should then stop (cancelling upstream work).
class StreamWriter {
 public:
  virtual ~StreamWriter() = default;
  virtual bool write(std::string_view data) = 0;
  virtual bool closed() const = 0;
};

// Runs on the server's stream pool after the response head is sent; may block (it is the one
// place where a request waits on a model server). Returns when the body is complete.
using StreamProducer = std::function<void(StreamWriter&)>;

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  // A cacheable read: the server adds an ETag, answers If-None-Match with 304 and sets
  // Cache-Control from `max_age_seconds`.
  bool cacheable = false;
  int max_age_seconds = 30;
  // A streamed body (Server-Sent Events): when set, `body` is ignored and the producer writes
  // the body. Never cached or compressed; the connection closes after the stream.
  StreamProducer stream;
  // Written after `stream_heartbeat_after` without a write (keeps proxies from timing out an
  // idle stream); empty: none.
  std::string stream_heartbeat;

  void set_header(const std::string& name, std::string value);
  const std::string* header(const std::string& name) const;  // case-insensitive
};

Response json_response(int status, std::string body);

}  // namespace libromind::http
