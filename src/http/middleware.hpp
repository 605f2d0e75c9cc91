// The middleware chain: each middleware may answer a request before it reaches its handler
// (`before`) and may amend every response on the way out (`after`, in reverse order).
// Authentication (accounts issue) is one more Middleware, not a change to handlers.
#pragma once

#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "http/message.hpp"

namespace libromind::http {

class Middleware {
 public:
  virtual ~Middleware() = default;
  virtual std::optional<Response> before(Request&) { return std::nullopt; }
  virtual void after(const Request&, Response&) {}
};

class Pipeline {
 public:
  void add(std::unique_ptr<Middleware> m) { chain_.push_back(std::move(m)); }
  // Runs `before` in order; the first response short-circuits. `after` then runs for the
  // middlewares that ran, in reverse order.
  std::optional<Response> run_before(Request& req, size_t& ran) const;
  void run_after(const Request& req, Response& resp, size_t ran) const;
  size_t size() const { return chain_.size(); }

 private:
  std::vector<std::unique_ptr<Middleware>> chain_;
};

// Honours a well-formed client X-Request-Id (1..128 of [A-Za-z0-9._:-]), else generates one;
// echoes it on the response.
class RequestIdMiddleware : public Middleware {
 public:
  std::optional<Response> before(Request& req) override;
  void after(const Request& req, Response& resp) override;
};

// CORS for configured origins only; preflights from others get 403.
class CorsMiddleware : public Middleware {
 public:
  // `methods` is what a preflight advertises ("GET, HEAD, OPTIONS").
  CorsMiddleware(std::vector<std::string> origins, std::string methods);
  std::optional<Response> before(Request& req) override;
  void after(const Request& req, Response& resp) override;

 private:
  std::set<std::string> origins_;
  std::string methods_;
};

class SecurityHeadersMiddleware : public Middleware {
 public:
  void after(const Request& req, Response& resp) override;
};

// ETag + If-None-Match (304) and Cache-Control for cacheable reads; no-store otherwise.
class CachingMiddleware : public Middleware {
 public:
  void after(const Request& req, Response& resp) override;
};

// gzip for bodies over `min_bytes` when the client accepts it.
class CompressionMiddleware : public Middleware {
 public:
  explicit CompressionMiddleware(size_t min_bytes = 1024) : min_bytes_(min_bytes) {}
  void after(const Request& req, Response& resp) override;

 private:
  size_t min_bytes_;
};

// A strong entity tag for a body ("\"<16 hex digits>\"").
std::string etag_for(std::string_view body);
bool is_compressible(const std::string& content_type);
std::string generate_request_id();
bool is_valid_request_id(std::string_view id);
bool accepts_gzip(const std::string& accept_encoding);
std::string gzip_compress(std::string_view data, int level = 5);

}  // namespace libromind::http
