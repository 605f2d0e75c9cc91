#include "http/middleware.hpp"

#include <zlib.h>

#include <random>

#include "core/text.hpp"
#include "http/problem.hpp"

namespace libromind::http {

std::optional<Response> Pipeline::run_before(Request& req, size_t& ran) const {
  ran = 0;
  for (const auto& m : chain_) {
    ++ran;
    if (auto r = m->before(req)) return r;
  }
  return std::nullopt;
}

void Pipeline::run_after(const Request& req, Response& resp, size_t ran) const {
  for (size_t i = ran; i-- > 0;) chain_[i]->after(req, resp);
}

std::string generate_request_id() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return core::hex(rng()) + core::hex(rng());
}

bool is_valid_request_id(std::string_view id) { return core::is_safe_id(id, 128); }

std::optional<Response> RequestIdMiddleware::before(Request& req) {
  const auto* given = req.header("x-request-id");
  req.request_id = (given && is_valid_request_id(*given)) ? *given : generate_request_id();
  return std::nullopt;
}

void RequestIdMiddleware::after(const Request& req, Response& resp) {
  resp.set_header("X-Request-Id", req.request_id);
}

CorsMiddleware::CorsMiddleware(std::vector<std::string> origins, std::string methods)
    : origins_(origins.begin(), origins.end()), methods_(std::move(methods)) {}

std::optional<Response> CorsMiddleware::before(Request& req) {
  const auto* origin = req.header("origin");
  if (req.method != "OPTIONS" || !origin || !req.header("access-control-request-method")) {
    return std::nullopt;
  }
  if (!origins_.count(*origin)) {
    return problem(403, "forbidden", "Origin not allowed",
                   "cross-origin requests are accepted only from configured origins",
                   req.request_id);
  }
  Response r;
  r.status = 204;
  r.content_type.clear();
  r.set_header("Access-Control-Allow-Methods", methods_);
  r.set_header(
      "Access-Control-Allow-Headers",
      "Authorization, Content-Type, If-None-Match, Idempotency-Key, X-Cart-Token, X-Request-Id");
  r.set_header("Access-Control-Max-Age", "600");
  return r;
}

void CorsMiddleware::after(const Request& req, Response& resp) {
  const auto* origin = req.header("origin");
  if (!origin || !origins_.count(*origin)) return;
  resp.set_header("Access-Control-Allow-Origin", *origin);
  resp.set_header("Access-Control-Expose-Headers",
                  "ETag, X-Request-Id, Retry-After, Location, Idempotent-Replayed");
  const auto* vary = resp.header("Vary");
  resp.set_header("Vary", vary ? *vary + ", Origin" : "Origin");
}

void SecurityHeadersMiddleware::after(const Request&, Response& resp) {
  resp.set_header("X-Content-Type-Options", "nosniff");
  resp.set_header("X-Frame-Options", "DENY");
  resp.set_header("Referrer-Policy", "no-referrer");
  resp.set_header("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'");
  resp.set_header("Cross-Origin-Resource-Policy", "same-site");
}

namespace {
bool etag_matches(const std::string& if_none_match, const std::string& etag) {
  if (core::trim(if_none_match) == "*") return true;
  for (auto part : core::split(if_none_match, ',')) {
    auto t = core::trim(part);
    if (t.substr(0, 2) == "W/") t.remove_prefix(2);
    if (t == etag) return true;
  }
  return false;
}
}  // namespace

void CachingMiddleware::after(const Request& req, Response& resp) {
  if (!resp.cacheable || resp.status != 200) {
    if (!resp.header("Cache-Control")) resp.set_header("Cache-Control", "no-store");
    return;
  }
  // A response from the cache already carries the ETag of its uncompressed body.
  const auto* existing = resp.header("ETag");
  std::string etag = existing ? *existing : etag_for(resp.body);
  resp.set_header("ETag", etag);
  resp.set_header("Cache-Control", "public, max-age=" + std::to_string(resp.max_age_seconds));
  resp.set_header("Vary", "Accept-Encoding");
  const auto* inm = req.header("if-none-match");
  if (inm && etag_matches(*inm, etag)) {
    resp.status = 304;
    resp.body.clear();
  }
}

std::string etag_for(std::string_view body) { return "\"" + core::hex(core::fnv1a64(body)) + "\""; }

bool is_compressible(const std::string& content_type) {
  return content_type.find("json") != std::string::npos || content_type.rfind("text/", 0) == 0;
}

bool accepts_gzip(const std::string& accept_encoding) {
  for (auto part : core::split(accept_encoding, ',')) {
    auto t = core::trim(part);
    auto semi = t.find(';');
    auto coding = core::to_lower_ascii(core::trim(t.substr(0, semi)));
    if (coding != "gzip" && coding != "*") continue;
    if (semi != std::string_view::npos) {
      auto params = core::trim(t.substr(semi + 1));
      if (params == "q=0" || params == "q=0.0" || params == "q=0.00" || params == "q=0.000") {
        continue;
      }
    }
    return true;
  }
  return false;
}

std::string gzip_compress(std::string_view data, int level) {
  z_stream zs{};
  if (deflateInit2(&zs, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) return {};
  std::string out;
  out.resize(deflateBound(&zs, data.size()) + 32);
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  int rc = deflate(&zs, Z_FINISH);
  size_t n = zs.total_out;
  deflateEnd(&zs);
  if (rc != Z_STREAM_END) return {};
  out.resize(n);
  return out;
}

void CompressionMiddleware::after(const Request& req, Response& resp) {
  if (resp.body.size() < min_bytes_ || resp.header("Content-Encoding")) return;
  if (!is_compressible(resp.content_type)) return;
  const auto* vary = resp.header("Vary");
  if (!vary) resp.set_header("Vary", "Accept-Encoding");
  const auto* ae = req.header("accept-encoding");
  if (!ae || !accepts_gzip(*ae)) return;
  std::string z = gzip_compress(resp.body);
  if (z.empty() || z.size() >= resp.body.size()) return;
  resp.body = std::move(z);
  resp.set_header("Content-Encoding", "gzip");
}

}  // namespace libromind::http
