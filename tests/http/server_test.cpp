// The server over real sockets on 127.0.0.1, port 0: overload answers 503 with Retry-After,
// limits give problem responses, and stop() drains in-flight requests before run() returns.
#include "http/server.hpp"

#include <gtest/gtest.h>

#include <future>
#include <thread>

#include "http/asio.hpp"
#include "http/problem.hpp"

namespace libromind::http {
namespace {

namespace bhttp = beast::http;
using tcp = asio::ip::tcp;

struct Reply {
  int status = 0;
  std::string body;
  std::string retry_after;
  std::string content_type;
};

Reply get(uint16_t port, const std::string& target,
          const std::vector<std::pair<std::string, std::string>>& headers = {}) {
  asio::io_context ioc;
  beast::tcp_stream stream(ioc);
  stream.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  bhttp::request<bhttp::string_body> req{bhttp::verb::get, target, 11};
  req.set(bhttp::field::host, "localhost");
  for (const auto& [k, v] : headers) req.set(k, v);
  bhttp::write(stream, req);
  beast::flat_buffer buf;
  bhttp::response<bhttp::string_body> res;
  bhttp::read(stream, buf, res);
  return {static_cast<int>(res.result_int()), res.body(),
          std::string(res[bhttp::field::retry_after]),
          std::string(res[bhttp::field::content_type])};
}

class ServerFixture : public ::testing::Test {
 protected:
  void start(ServerOptions options) {
    options.port = 0;
    options.access_log = false;
    server_ = std::make_unique<Server>(options, router_, pipeline_, metrics_);
    ASSERT_TRUE(server_->bind().ok());
    port_ = server_->port();
    thread_ = std::thread([this] { server_->run(); });
  }
  void TearDown() override {
    if (server_) server_->stop();
    if (thread_.joinable()) thread_.join();
  }
  Router router_;
  Pipeline pipeline_;
  telemetry::Registry metrics_;
  std::unique_ptr<Server> server_;
  std::thread thread_;
  uint16_t port_ = 0;
};

TEST_F(ServerFixture, AFullBlockingPoolAnswers503WithRetryAfterInsteadOfQueueing) {
  std::promise<void> release;
  auto released = release.get_future().share();
  std::atomic<int> entered{0};
  router_.add("GET", "/slow", [&](Request&) {
    ++entered;
    released.wait();
    return json_response(200, "{}");
  });
  ServerOptions o;
  o.blocking_threads = 1;
  o.max_pending = 1;
  start(o);
  auto first = std::async(std::launch::async, [&] { return get(port_, "/slow"); });
  while (entered.load() == 0) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  Reply second = get(port_, "/slow");
  EXPECT_EQ(second.status, 503);
  EXPECT_EQ(second.retry_after, "1");
  EXPECT_EQ(second.content_type, "application/problem+json");
  release.set_value();
  EXPECT_EQ(first.get().status, 200);
}

TEST_F(ServerFixture, StopFinishesTheRequestInFlightThenRunReturns) {
  std::promise<void> release;
  auto released = release.get_future().share();
  std::atomic<int> entered{0};
  router_.add("GET", "/slow", [&](Request&) {
    ++entered;
    released.wait();
    return json_response(200, R"({"done":true})");
  });
  start(ServerOptions{});
  auto inflight = std::async(std::launch::async, [&] { return get(port_, "/slow"); });
  while (entered.load() == 0) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  server_->stop();
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  release.set_value();
  Reply r = inflight.get();
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, R"({"done":true})");
  thread_.join();  // run() returned
  // New connections are refused once drained.
  asio::io_context ioc;
  tcp::socket s(ioc);
  beast::error_code ec;
  s.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port_), ec);
  EXPECT_TRUE(ec);
}

TEST_F(ServerFixture, OversizedHeadersGet431AndOversizedBodies413) {
  router_.add("POST", "/echo", [](Request& r) { return json_response(200, r.body); });
  ServerOptions o;
  o.header_limit = 4096;
  o.body_limit = 1024;
  start(o);
  Reply big_header = get(port_, "/echo", {{"X-Big", std::string(8000, 'a')}});
  EXPECT_EQ(big_header.status, 431);
  EXPECT_EQ(big_header.content_type, "application/problem+json");

  asio::io_context ioc;
  beast::tcp_stream stream(ioc);
  stream.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port_));
  bhttp::request<bhttp::string_body> req{bhttp::verb::post, "/echo", 11};
  req.set(bhttp::field::host, "localhost");
  req.body() = std::string(4096, 'x');
  req.prepare_payload();
  bhttp::write(stream, req);
  beast::flat_buffer buf;
  bhttp::response<bhttp::string_body> res;
  bhttp::read(stream, buf, res);
  EXPECT_EQ(res.result_int(), 413u);
}

TEST_F(ServerFixture, HandlerExceptionsBecome500ProblemsWithoutDetails) {
  router_.add("GET", "/boom", [](Request&) -> Response { throw std::runtime_error("secret"); });
  start(ServerOptions{});
  Reply r = get(port_, "/boom");
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(r.body.find("secret"), std::string::npos);
}

TEST_F(ServerFixture, CacheableRoutesAreServedFromTheCacheUntilTheGenerationMoves) {
  std::atomic<int> calls{0};
  router_.add("GET", "/c",
              [&](Request&) {
                Response r = json_response(200, "{\"n\":" + std::to_string(++calls) + "}");
                r.cacheable = true;
                return r;
              },
              {.cacheable = true});
  std::atomic<int64_t> generation{1};
  ServerOptions o;
  o.cache_generation = [&] { return generation.load(); };
  start(o);
  EXPECT_EQ(get(port_, "/c").body, R"({"n":1})");
  EXPECT_EQ(get(port_, "/c").body, R"({"n":1})");
  EXPECT_EQ(get(port_, "/c?x=1").body, R"({"n":2})");  // another target, another entry
  generation = 2;
  EXPECT_EQ(get(port_, "/c").body, R"({"n":3})");
  EXPECT_EQ(calls.load(), 3);
}

}  // namespace
}  // namespace libromind::http
