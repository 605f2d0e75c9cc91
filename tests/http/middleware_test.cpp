#include "http/middleware.hpp"

#include <gtest/gtest.h>
#include <zlib.h>

#include "http/problem.hpp"

namespace libromind::http {
namespace {

std::string gunzip(const std::string& in) {
  z_stream zs{};
  inflateInit2(&zs, 15 + 16);
  std::string out(size_t{1} << 20, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  int rc = inflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  inflateEnd(&zs);
  EXPECT_EQ(rc, Z_STREAM_END);
  return out;
}

TEST(RequestId, HonoursAWellFormedClientIdAndEchoesIt) {
  RequestIdMiddleware m;
  Request req;
  req.headers["x-request-id"] = "abc-123:x.y_z";
  m.before(req);
  EXPECT_EQ(req.request_id, "abc-123:x.y_z");
  Response resp;
  m.after(req, resp);
  EXPECT_EQ(*resp.header("X-Request-Id"), "abc-123:x.y_z");
}

TEST(RequestId, ReplacesAMalformedOrOversizedClientId) {
  RequestIdMiddleware m;
  for (std::string bad :
       {std::string("has space"), std::string(129, 'a'), std::string("a\nb"), std::string("")}) {
    Request req;
    req.headers["x-request-id"] = bad;
    m.before(req);
    EXPECT_NE(req.request_id, bad);
    EXPECT_TRUE(is_valid_request_id(req.request_id));
  }
}

TEST(RequestId, GeneratedIdsAreUnique) {
  EXPECT_NE(generate_request_id(), generate_request_id());
  EXPECT_EQ(generate_request_id().size(), 32u);
}

TEST(Cors, AllowsOnlyConfiguredOrigins) {
  CorsMiddleware m({"https://shop.example"}, "GET, HEAD, OPTIONS");
  Request ok;
  ok.headers["origin"] = "https://shop.example";
  Response r1;
  m.after(ok, r1);
  EXPECT_EQ(*r1.header("Access-Control-Allow-Origin"), "https://shop.example");
  EXPECT_NE(r1.header("Vary")->find("Origin"), std::string::npos);

  Request other;
  other.headers["origin"] = "https://evil.example";
  Response r2;
  m.after(other, r2);
  EXPECT_EQ(r2.header("Access-Control-Allow-Origin"), nullptr);
}

TEST(Cors, PreflightFromAnAllowedOriginIs204AndFromOthers403) {
  CorsMiddleware m({"https://shop.example"}, "GET, HEAD, OPTIONS");
  Request pre;
  pre.method = "OPTIONS";
  pre.headers["origin"] = "https://shop.example";
  pre.headers["access-control-request-method"] = "GET";
  auto r = m.before(pre);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 204);
  EXPECT_NE(r->header("Access-Control-Allow-Methods"), nullptr);

  pre.headers["origin"] = "https://evil.example";
  auto denied = m.before(pre);
  ASSERT_TRUE(denied.has_value());
  EXPECT_EQ(denied->status, 403);
  EXPECT_EQ(denied->content_type, "application/problem+json");
}

TEST(Caching, CacheableReadGetsETagAndCacheControl) {
  CachingMiddleware m;
  Request req;
  Response resp = json_response(200, R"({"a":1})");
  resp.cacheable = true;
  m.after(req, resp);
  ASSERT_NE(resp.header("ETag"), nullptr);
  EXPECT_EQ(*resp.header("Cache-Control"), "public, max-age=30");
  EXPECT_EQ(resp.status, 200);
}

TEST(Caching, MatchingIfNoneMatchGives304WithEmptyBody) {
  CachingMiddleware m;
  Response first = json_response(200, R"({"a":1})");
  first.cacheable = true;
  Request req;
  m.after(req, first);
  const std::string etag = *first.header("ETag");

  for (std::string inm : {etag, "W/" + etag, "\"other\", " + etag, std::string("*")}) {
    Request again;
    again.headers["if-none-match"] = inm;
    Response resp = json_response(200, R"({"a":1})");
    resp.cacheable = true;
    m.after(again, resp);
    EXPECT_EQ(resp.status, 304) << inm;
    EXPECT_TRUE(resp.body.empty());
    EXPECT_EQ(*resp.header("ETag"), etag);
  }
}

TEST(Caching, ErrorsAndUncacheableResponsesAreNoStore) {
  CachingMiddleware m;
  Request req;
  Response resp = json_response(200, "{}");
  m.after(req, resp);
  EXPECT_EQ(*resp.header("Cache-Control"), "no-store");
  EXPECT_EQ(resp.header("ETag"), nullptr);
}

TEST(Compression, GzipsLargeJsonWhenAcceptedAndRoundTrips) {
  CompressionMiddleware m;
  Request req;
  req.headers["accept-encoding"] = "br, gzip;q=0.8";
  std::string body = "[" + std::string(5000, '1') + "]";
  Response resp = json_response(200, body);
  m.after(req, resp);
  EXPECT_EQ(*resp.header("Content-Encoding"), "gzip");
  EXPECT_LT(resp.body.size(), body.size());
  EXPECT_EQ(gunzip(resp.body), body);
}

TEST(Compression, LeavesSmallBodiesAndRefusingClientsAlone) {
  CompressionMiddleware m;
  Request gz;
  gz.headers["accept-encoding"] = "gzip";
  Response small = json_response(200, "{}");
  m.after(gz, small);
  EXPECT_EQ(small.header("Content-Encoding"), nullptr);

  Request refuses;
  refuses.headers["accept-encoding"] = "gzip;q=0, identity";
  Response big = json_response(200, std::string(4000, ' '));
  m.after(refuses, big);
  EXPECT_EQ(big.header("Content-Encoding"), nullptr);
  EXPECT_EQ(*big.header("Vary"), "Accept-Encoding");
}

TEST(SecurityHeaders, AreSetOnEveryResponse) {
  SecurityHeadersMiddleware m;
  Request req;
  Response resp = problem(404, "not-found", "Not found", "x", "rid");
  m.after(req, resp);
  EXPECT_EQ(*resp.header("X-Content-Type-Options"), "nosniff");
  EXPECT_EQ(*resp.header("X-Frame-Options"), "DENY");
  EXPECT_NE(resp.header("Content-Security-Policy"), nullptr);
}

TEST(Pipeline, AfterRunsInReverseOrderOnlyForMiddlewaresThatRan) {
  struct Recorder : Middleware {
    Recorder(std::string n, std::vector<std::string>& log, bool answer)
        : name(std::move(n)), log(log), answer(answer) {}
    std::optional<Response> before(Request&) override {
      log.push_back("before " + name);
      if (answer) return json_response(204, "");
      return std::nullopt;
    }
    void after(const Request&, Response&) override { log.push_back("after " + name); }
    std::string name;
    std::vector<std::string>& log;
    bool answer;
  };
  std::vector<std::string> log;
  Pipeline p;
  p.add(std::make_unique<Recorder>("a", log, false));
  p.add(std::make_unique<Recorder>("b", log, true));
  p.add(std::make_unique<Recorder>("c", log, false));
  Request req;
  size_t ran = 0;
  auto r = p.run_before(req, ran);
  ASSERT_TRUE(r.has_value());
  p.run_after(req, *r, ran);
  EXPECT_EQ(log, (std::vector<std::string>{"before a", "before b", "after b", "after a"}));
}

TEST(Problem, MapsErrorCodesToStatusesAndStableTypes) {
  auto bad = problem_from_error(core::Error::invalid("limit must be 1..100", "limit"), "r1");
  EXPECT_EQ(bad.status, 400);
  EXPECT_NE(bad.body.find("\"/problems/invalid-parameter\""), std::string::npos);
  EXPECT_NE(bad.body.find("\"field\":\"limit\""), std::string::npos);
  EXPECT_EQ(problem_from_error(core::Error::not_found("x"), "r").status, 404);
  auto down = problem_from_error(core::Error::unavailable("store down"), "r");
  EXPECT_EQ(down.status, 503);
  EXPECT_EQ(*down.header("Retry-After"), "1");
}

TEST(Problem, InternalErrorsDoNotLeakTheirMessage) {
  auto r = problem_from_error(core::Error::internal("SELECT secret FROM users failed"), "rid");
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(r.body.find("secret"), std::string::npos);
  EXPECT_NE(r.body.find("rid"), std::string::npos);
}

}  // namespace
}  // namespace libromind::http
