// The HTTP server: Beast over Asio with one C++20 coroutine per connection. Reads with
// timeouts and size limits, runs the middleware chain and the router, runs blocking handlers
// on a bounded pool (full pool -> 503 with Retry-After), streams responses that have a
// producer (chunked, with back-pressure and disconnect detection: a client that leaves makes the
// producer's next write fail) and drains on SIGTERM/SIGINT (open streams are ended at once).
//
//   http::Server server(options, router, pipeline, metrics);
//   server.run();  // returns after a signal and a drain
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "http/middleware.hpp"
#include "http/response_cache.hpp"
#include "http/router.hpp"
#include "telemetry/metrics.hpp"

namespace libromind::http {

// A route whose request body goes to a file instead of memory (bulk uploads).
struct UploadRoute {
  std::string method;  // "POST"
  std::string path;    // exact path ("/api/v1/admin/imports")
  size_t body_limit = 50 * 1024 * 1024;
  // Decides from the request head whether its body is worth reading (e.g. the caller is an
  // admin). A refused upload's handler runs without the body (it answers 401/403), and the
  // connection closes after the answer. Unset: every upload is read.
  std::function<bool(const Request&)> admit;
};

struct ServerOptions {
  std::string host = "127.0.0.1";               // address to bind
  uint16_t port = 8080;                         // 0 picks a free port (logged at start)
  int io_threads = 1;                           // threads running the connections' coroutines
  int blocking_threads = 4;                     // threads for store calls and other blocking work
  int max_pending = 256;                        // blocking tasks queued or running before 503
  size_t header_limit = 16 * 1024;              // bytes of request line + headers
  size_t body_limit = 1024 * 1024;              // bytes of request body
  std::chrono::seconds read_timeout{15};        // to read one request once it started
  std::chrono::seconds idle_timeout{60};        // keep-alive wait for the next request
  std::chrono::seconds shutdown_timeout{10};    // drain deadline after SIGTERM
  size_t max_requests_per_connection = 100000;  // then the connection is closed
  bool access_log = true;
  // The store's change sequence; cacheable routes are served from the response cache while it
  // stays the same. Unset (or negative) disables the cache.
  std::function<int64_t()> cache_generation;
  size_t cache_max_bytes = 64 * 1024 * 1024;
  // Streamed responses (Server-Sent Events): their producers run on a pool of their own, as
  // they wait on model servers for seconds; a full pool answers 503.
  int stream_threads = 16;
  size_t stream_queue_limit = 1024 * 1024;               // bytes queued for a slow reader
  std::chrono::milliseconds stream_stall_timeout{5000};  // a reader that takes no bytes: closed
  std::chrono::milliseconds stream_heartbeat_after{15000};
  // Upload routes: the body is streamed to a file in upload_dir (Request::body_file), which
  // the server removes after the response unless the handler moved it.
  std::vector<UploadRoute> uploads;
  std::string upload_dir = "var/uploads/incoming";
  std::chrono::seconds upload_timeout{600};  // to read one upload body
};

class Server {
 public:
  Server(ServerOptions options, const Router& router, const Pipeline& pipeline,
         telemetry::Registry& metrics);
  ~Server();

  // Binds the listener; after this, port() is the bound port.
  core::Result<void> bind();
  uint16_t port() const { return bound_port_; }
  // Serves until stop() or SIGTERM/SIGINT, then drains in-flight requests.
  void run();
  // Asks the server to drain and stop (thread-safe).
  void stop();

  // Handles one request through middleware and router (no socket). Blocking handlers run on
  // the calling thread. Exposed for tests.
  Response handle_now(Request& request);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  uint16_t bound_port_ = 0;
};

}  // namespace libromind::http
