// Server-Sent Events: the event format, and streamed responses over real sockets (each event
// reaches the client as it is written, a client that leaves makes the producer's writes fail,
// a reader that stops reading is cut off, a drain ends open streams, a full stream pool 503s).
#include "http/sse.hpp"

#include <gtest/gtest.h>

#include <future>
#include <thread>

#include "http/asio.hpp"
#include "http/server.hpp"

namespace libromind::http {
namespace {

namespace bhttp = beast::http;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

TEST(SseEvent, WritesEventNameThenOneDataLinePerLineThenABlankLine) {
  EXPECT_EQ(sse_event("token", R"({"text":"hi"})"), "event: token\ndata: {\"text\":\"hi\"}\n\n");
  EXPECT_EQ(sse_event("", "a\nb\r\nc\rd"), "data: a\ndata: b\ndata: c\ndata: d\n\n");
  EXPECT_EQ(sse_event("e", ""), "event: e\ndata: \n\n");
  EXPECT_EQ(sse_event("e", "x\n"), "event: e\ndata: x\ndata: \n\n");
}

TEST(SseEvent, KeepsNamesIdsAndCommentsOnOneLine) {
  EXPECT_EQ(sse_event("bad\nname", "d", "1\r2"), "event: badname\nid: 12\ndata: d\n\n");
  EXPECT_EQ(sse_comment("keep\nalive"), ": keepalive\n\n");
}

TEST(SseResponse, CarriesTheHeadersThatStopProxiesBufferingOrTransforming) {
  auto r = sse_response([](StreamWriter&) {});
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "text/event-stream; charset=utf-8");
  ASSERT_NE(r.header("Cache-Control"), nullptr);
  EXPECT_EQ(*r.header("Cache-Control"), "no-store, no-transform");
  ASSERT_NE(r.header("X-Accel-Buffering"), nullptr);
  EXPECT_EQ(*r.header("X-Accel-Buffering"), "no");
  EXPECT_TRUE(static_cast<bool>(r.stream));
}

// A raw client: sends a GET, then reads what arrives, so tests see each chunk as it comes.
class RawClient {
 public:
  explicit RawClient(uint16_t port) : socket_(ioc_) {
    socket_.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
    std::string req = "GET /events HTTP/1.1\r\nHost: localhost\r\n\r\n";
    asio::write(socket_, asio::buffer(req));
  }
  // Reads until `needle` has arrived; false on EOF or error first.
  bool read_until(const std::string& needle) {
    while (received_.find(needle) == std::string::npos) {
      std::array<char, 4096> buf;
      beast::error_code ec;
      size_t n = socket_.read_some(asio::buffer(buf), ec);
      if (ec) return false;
      received_.append(buf.data(), n);
    }
    return true;
  }
  // Reads to EOF.
  void read_all() {
    for (;;) {
      std::array<char, 4096> buf;
      beast::error_code ec;
      size_t n = socket_.read_some(asio::buffer(buf), ec);
      if (ec) return;
      received_.append(buf.data(), n);
    }
  }
  void close() {
    beast::error_code ec;
    socket_.close(ec);
  }
  const std::string& received() const { return received_; }

 private:
  asio::io_context ioc_;
  tcp::socket socket_;
  std::string received_;
};

class StreamFixture : public ::testing::Test {
 protected:
  void start(ServerOptions options = {}) {
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
  double streams(const std::string& outcome) {
    auto text = metrics_.render();
    auto key = "libromind_http_streams_total{route=\"/events\",outcome=\"" + outcome + "\"} ";
    auto pos = text.find(key);
    return pos == std::string::npos ? 0 : std::stod(text.substr(pos + key.size()));
  }
  Router router_;
  Pipeline pipeline_;
  telemetry::Registry metrics_;
  std::unique_ptr<Server> server_;
  std::thread thread_;
  uint16_t port_ = 0;
};

TEST_F(StreamFixture, EachEventReachesTheClientBeforeTheProducerFinishes) {
  std::promise<void> first_seen;
  auto seen = first_seen.get_future().share();
  router_.add("GET", "/events", [seen](Request&) {
    return sse_response([seen](StreamWriter& out) {
      SseWriter sse(out);
      sse.event("results", R"({"n":1})");
      // Waits until the client has the first event: it was sent, not held back.
      seen.wait_for(5s);
      sse.event("done", "{}");
    });
  });
  start();
  RawClient client(port_);
  ASSERT_TRUE(client.read_until("event: results\ndata: {\"n\":1}\n\n"));
  const std::string& head = client.received();
  EXPECT_NE(head.find("Content-Type: text/event-stream; charset=utf-8"), std::string::npos);
  EXPECT_NE(head.find("Transfer-Encoding: chunked"), std::string::npos);
  EXPECT_NE(head.find("X-Accel-Buffering: no"), std::string::npos);
  EXPECT_NE(head.find("Cache-Control: no-store, no-transform"), std::string::npos);
  EXPECT_NE(head.find("Connection: close"), std::string::npos);
  EXPECT_EQ(head.find("done"), std::string::npos);
  first_seen.set_value();
  client.read_all();
  EXPECT_NE(client.received().find("event: done"), std::string::npos);
  // The chunked body ends with its terminator.
  EXPECT_EQ(client.received().substr(client.received().size() - 5), "0\r\n\r\n");
  EXPECT_EQ(streams("completed"), 1);
}

TEST_F(StreamFixture, AClientThatLeavesIsSeenBeforeTheProducerWritesAgain) {
  std::promise<bool> saw_close;
  router_.add("GET", "/events", [&saw_close](Request&) {
    return sse_response([&saw_close](StreamWriter& out) {
      out.write(sse_event("results", "{}"));
      // Like a model still thinking: no writes, only checks.
      auto until = std::chrono::steady_clock::now() + 5s;
      while (!out.closed() && std::chrono::steady_clock::now() < until)
        std::this_thread::sleep_for(5ms);
      saw_close.set_value(out.closed());
      EXPECT_FALSE(out.write("late"));
    });
  });
  start();
  auto closed = saw_close.get_future();
  {
    RawClient client(port_);
    ASSERT_TRUE(client.read_until("event: results"));
    client.close();
  }
  ASSERT_EQ(closed.wait_for(3s), std::future_status::ready);
  EXPECT_TRUE(closed.get());
  for (int i = 0; i < 100 && streams("client_closed") == 0; ++i) std::this_thread::sleep_for(10ms);
  EXPECT_EQ(streams("client_closed"), 1);
}

TEST_F(StreamFixture, AReaderThatStopsReadingIsCutOffAfterTheStallTimeout) {
  std::promise<bool> refused;
  router_.add("GET", "/events", [&refused](Request&) {
    return sse_response([&refused](StreamWriter& out) {
      const std::string block(64 * 1024, 'x');
      auto until = std::chrono::steady_clock::now() + 20s;
      bool ok = true;
      while (ok && std::chrono::steady_clock::now() < until) ok = out.write(block);
      refused.set_value(!ok);
    });
  });
  ServerOptions o;
  o.stream_queue_limit = 128 * 1024;
  o.stream_stall_timeout = 200ms;
  start(o);
  auto result = refused.get_future();
  RawClient client(port_);  // sends the request, then never reads
  ASSERT_EQ(result.wait_for(15s), std::future_status::ready);
  EXPECT_TRUE(result.get());
  client.close();
  for (int i = 0; i < 100 && streams("stalled") == 0; ++i) std::this_thread::sleep_for(10ms);
  EXPECT_EQ(streams("stalled"), 1);
}

TEST_F(StreamFixture, StopEndsOpenStreamsAndRunReturns) {
  std::atomic<bool> started{false};
  router_.add("GET", "/events", [&started](Request&) {
    return sse_response([&started](StreamWriter& out) {
      out.write(sse_event("results", "{}"));
      started = true;
      while (!out.closed()) std::this_thread::sleep_for(5ms);
    });
  });
  start();
  RawClient client(port_);
  ASSERT_TRUE(client.read_until("event: results"));
  server_->stop();
  thread_.join();
  client.read_all();  // the server ended the stream: EOF, not a hang
  EXPECT_TRUE(started.load());
  EXPECT_EQ(streams("drained"), 1);
}

TEST_F(StreamFixture, AFullStreamPoolAnswers503) {
  std::promise<void> release;
  auto released = release.get_future().share();
  router_.add("GET", "/events", [released](Request&) {
    return sse_response([released](StreamWriter& out) {
      out.write(sse_event("results", "{}"));
      released.wait_for(5s);
    });
  });
  ServerOptions o;
  o.stream_threads = 1;
  start(o);
  RawClient first(port_);
  ASSERT_TRUE(first.read_until("event: results"));
  RawClient second(port_);
  second.read_all();
  EXPECT_EQ(second.received().rfind("HTTP/1.1 503", 0), 0u) << second.received();
  EXPECT_NE(second.received().find("Retry-After: 1"), std::string::npos);
  release.set_value();
  first.read_all();
  EXPECT_EQ(streams("rejected"), 1);
}

TEST_F(StreamFixture, AnIdleStreamGetsHeartbeatComments) {
  std::promise<void> release;
  auto released = release.get_future().share();
  router_.add("GET", "/events", [released](Request&) {
    return sse_response([released](StreamWriter&) { released.wait_for(5s); });
  });
  ServerOptions o;
  o.stream_heartbeat_after = 50ms;
  start(o);
  RawClient client(port_);
  EXPECT_TRUE(client.read_until(": keep-alive\n\n"));
  release.set_value();
  client.read_all();
}

TEST_F(StreamFixture, HandleNowCollectsAStreamedBody) {
  router_.add("GET", "/events", [](Request&) {
    return sse_response([](StreamWriter& out) {
      SseWriter sse(out);
      sse.event("a", "1");
      sse.event("b", "2");
    });
  });
  ServerOptions o;
  o.access_log = false;
  Server server(o, router_, pipeline_, metrics_);
  Request req;
  req.method = "GET";
  req.path = "/events";
  req.target = "/events";
  Response r = server.handle_now(req);
  EXPECT_EQ(r.body, "event: a\ndata: 1\n\nevent: b\ndata: 2\n\n");
  EXPECT_FALSE(static_cast<bool>(r.stream));
}

}  // namespace
}  // namespace libromind::http
