// The client against the fault-injecting FakeModelServer: streaming order for both APIs,
// deadlines, cancellation, retries, the circuit breaker, the concurrency limit, reasoning removal
// and the request it sends. Times are asserted with generous margins (a loaded 2-core machine
// under ASan): "cut within the deadline + 1 s", never an exact duration.
#include "llm/client.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <thread>

#include "fake_model_server.hpp"
#include "telemetry/metrics.hpp"

namespace libromind::llm {
namespace {

using namespace std::chrono_literals;
using testing::FakeModelServer;
using testing::FakeReply;
using testing::Fault;
using Clock = std::chrono::steady_clock;

ClientOptions options_for(const FakeModelServer& server, Api api) {
  ClientOptions o;
  o.api = api;
  o.base_url = server.base_url();
  o.model = "fake-model";
  o.connect_timeout_ms = 2000;
  o.first_token_timeout_ms = 10000;
  o.total_timeout_ms = 20000;
  o.retries = 0;
  o.retry_backoff_ms = 10;
  o.breaker_failures = 100;
  return o;
}

ChatRequest hello() {
  ChatRequest r;
  r.messages = {{"system", "You are terse."}, {"user", "Say hello"}};
  r.temperature = 0.1;
  r.max_tokens = 32;
  return r;
}

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

class BothApis : public ::testing::TestWithParam<Api> {};

INSTANTIATE_TEST_SUITE_P(Api, BothApis, ::testing::Values(Api::kOllama, Api::kOpenAi),
                         [](const auto& info) { return std::string(to_string(info.param)); });

TEST_P(BothApis, StreamsPiecesInOrderAndSendsTheRequestOfItsApi) {
  FakeModelServer server(GetParam());
  server.push({.pieces = {"Hel", "lo, ", "reader", "!"}, .delay_ms = 20, .split_events = true});
  Client client(options_for(server, GetParam()));
  std::vector<std::string> got;
  auto r = client.chat(hello(), [&](std::string_view p) {
    got.emplace_back(p);
    return true;
  });
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(got, (std::vector<std::string>{"Hel", "lo, ", "reader", "!"}));
  EXPECT_EQ(r->text, "Hello, reader!");
  EXPECT_EQ(r->tokens, 4);
  EXPECT_FALSE(r->cancelled);
  EXPECT_GT(r->first_token_ms, 0);
  EXPECT_GE(r->total_ms, r->first_token_ms);
  EXPECT_EQ(r->attempts, 1);

  auto seen = server.seen();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].method, "POST");
  auto body = nlohmann::json::parse(seen[0].body);
  EXPECT_EQ(body["model"], "fake-model");
  EXPECT_EQ(body["stream"], true);
  ASSERT_EQ(body["messages"].size(), 2u);
  EXPECT_EQ(body["messages"][1]["role"], "user");
  EXPECT_EQ(body["messages"][1]["content"], "Say hello");
  if (GetParam() == Api::kOllama) {
    EXPECT_EQ(seen[0].path, "/api/chat");
    EXPECT_DOUBLE_EQ(body["options"]["temperature"].get<double>(), 0.1);
    EXPECT_EQ(body["options"]["num_predict"], 32);
  } else {
    EXPECT_EQ(seen[0].path, "/v1/chat/completions");
    EXPECT_DOUBLE_EQ(body["temperature"].get<double>(), 0.1);
    EXPECT_EQ(body["max_tokens"], 32);
  }
  EXPECT_EQ(seen[0].headers.count("authorization"), 0u);
}

TEST_P(BothApis, CompleteCollectsTheWholeAnswer) {
  FakeModelServer server(GetParam());
  server.push({.pieces = {"one ", "two ", "three"}});
  Client client(options_for(server, GetParam()));
  auto r = client.complete(hello());
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->text, "one two three");
}

TEST_P(BothApis, ReasoningIsNeverPassedOn) {
  FakeModelServer server(GetParam());
  // Reasoning in its own field first, then inline tags split across pieces.
  server.push({.pieces = {"<th", "ink>the user wants", " a greeting</thi", "nk>\n\nHel", "lo"},
               .thinking = {"considering", " the question"}});
  Client client(options_for(server, GetParam()));
  std::string streamed;
  auto r = client.chat(hello(), [&](std::string_view p) {
    EXPECT_EQ(p.find("think"), std::string_view::npos) << p;
    streamed += p;
    return true;
  });
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(streamed, "Hello");
  EXPECT_EQ(r->text, "Hello");
}

TEST_P(BothApis, AnApiKeyIsSentAsABearerToken) {
  FakeModelServer server(GetParam());
  server.push({.pieces = {"ok"}});
  auto o = options_for(server, GetParam());
  o.api_key = "sk-test-123";
  Client client(o);
  auto r = client.complete(hello());
  ASSERT_TRUE(r.ok()) << r.error().message;
  auto seen = server.seen();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].headers["authorization"], "Bearer sk-test-123");
}

TEST_P(BothApis, CancellingClosesTheConnectionAndIsNotAnError) {
  FakeModelServer server(GetParam());
  FakeReply reply;
  for (int i = 0; i < 50; ++i) reply.pieces.push_back("w" + std::to_string(i) + " ");
  reply.delay_ms = 30;
  server.push(reply);
  Client client(options_for(server, GetParam()));
  int calls = 0;
  auto start = Clock::now();
  auto r = client.chat(hello(), [&](std::string_view) { return ++calls < 2; });
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_TRUE(r->cancelled);
  EXPECT_EQ(calls, 2);
  EXPECT_EQ(r->text, "w0 w1 ");
  EXPECT_LT(seconds_since(start), 1.0);  // 50 pieces would take 1.5 s
  // The server sees the client leave and stops long before its 50 pieces.
  EXPECT_TRUE(server.wait_for_disconnect(3s));
  EXPECT_LT(server.pieces_sent(), 10u);
}

TEST_P(BothApis, AStallBeforeTheFirstTokenIsCutAtTheFirstTokenDeadline) {
  FakeModelServer server(GetParam());
  server.push({.fault = Fault::kStallBeforeFirstByte, .stall_ms = 10000});
  auto o = options_for(server, GetParam());
  o.first_token_timeout_ms = 300;
  Client client(o);
  auto start = Clock::now();
  auto r = client.complete(hello());
  double took = seconds_since(start);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, core::ErrorCode::kUnavailable);
  EXPECT_EQ(r.error().type, "llm-timeout");
  EXPECT_NE(r.error().message.find("300 ms"), std::string::npos) << r.error().message;
  EXPECT_GE(took, 0.25);
  EXPECT_LT(took, 0.3 + 1.0);
  EXPECT_TRUE(server.wait_for_disconnect(3s));
}

TEST_P(BothApis, ACancelPredicateStopsTheCallBeforeTheFirstToken) {
  // The SSE endpoint's case: the shopper leaves while the model is still reading the prompt.
  FakeModelServer server(GetParam());
  server.push({.fault = Fault::kStallBeforeFirstByte, .stall_ms = 10000});
  Client client(options_for(server, GetParam()));
  auto start = Clock::now();
  auto req = hello();
  req.cancelled = [&] { return seconds_since(start) > 0.2; };
  auto r = client.chat(req, [](std::string_view) { return true; });
  double took = seconds_since(start);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_TRUE(r->cancelled);
  EXPECT_EQ(r->text, "");
  EXPECT_LT(took, 0.2 + 0.5);  // polled every 50 ms, not at the 20 s first-token deadline
  EXPECT_TRUE(server.wait_for_disconnect(3s));  // the connection is dropped: generation stops
}

TEST_P(BothApis, AStallMidStreamIsCutAtTheTotalDeadline) {
  FakeModelServer server(GetParam());
  server.push({.fault = Fault::kStallMidStream,
               .pieces = {"a", "b", "c", "d"},
               .stall_ms = 10000,
               .fault_after = 2});
  auto o = options_for(server, GetParam());
  o.first_token_timeout_ms = 5000;
  o.total_timeout_ms = 800;
  Client client(o);
  std::string streamed;
  auto start = Clock::now();
  auto r = client.chat(hello(), [&](std::string_view p) {
    streamed += p;
    return true;
  });
  double took = seconds_since(start);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().type, "llm-timeout");
  EXPECT_EQ(streamed, "ab");
  EXPECT_GE(took, 0.7);
  EXPECT_LT(took, 0.8 + 1.0);
}

TEST_P(BothApis, ASlowButSteadyStreamIsCutAtTheTotalDeadline) {
  FakeModelServer server(GetParam());
  FakeReply reply;
  for (int i = 0; i < 100; ++i) reply.pieces.push_back("x");
  reply.delay_ms = 50;  // 5 s in all
  server.push(reply);
  auto o = options_for(server, GetParam());
  o.total_timeout_ms = 600;
  Client client(o);
  auto start = Clock::now();
  auto r = client.complete(hello());
  double took = seconds_since(start);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().type, "llm-timeout");
  EXPECT_NE(r.error().message.find("600 ms"), std::string::npos) << r.error().message;
  EXPECT_LT(took, 0.6 + 1.0);
}

TEST_P(BothApis, ACloseMidStreamIsAnErrorAndIsNotRetried) {
  FakeModelServer server(GetParam());
  server.push({.fault = Fault::kCloseMidStream, .pieces = {"a", "b", "c"}, .fault_after = 2});
  server.set_default({.pieces = {"should not be asked for"}});
  auto o = options_for(server, GetParam());
  o.retries = 3;
  Client client(o);
  std::string streamed;
  auto r = client.chat(hello(), [&](std::string_view p) {
    streamed += p;
    return true;
  });
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, core::ErrorCode::kUnavailable);
  EXPECT_EQ(r.error().type, "llm-server-error");
  EXPECT_EQ(streamed, "ab");
  EXPECT_EQ(server.requests(), 1u);
}

TEST_P(BothApis, AServerErrorCarriesTheServersMessage) {
  FakeModelServer server(GetParam());
  server.push({.fault = Fault::kStatus,
               .status = 500,
               .body = GetParam() == Api::kOllama
                           ? R"({"error":"llama runner process has terminated"})"
                           : R"({"error":{"message":"llama runner process has terminated"}})"});
  Client client(options_for(server, GetParam()));
  auto r = client.complete(hello());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, core::ErrorCode::kUnavailable);
  EXPECT_EQ(r.error().type, "llm-server-error");
  EXPECT_NE(r.error().message.find("500"), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("llama runner process has terminated"), std::string::npos)
      << r.error().message;
}

TEST_P(BothApis, AnUnknownModelIsNotFoundWithTheServersMessage) {
  FakeModelServer server(GetParam());
  server.push({.fault = Fault::kStatus,
               .status = 404,
               .body = GetParam() == Api::kOllama
                           ? R"({"error":"model \"nope\" not found, try pulling it first"})"
                           : R"({"error":{"message":"model \"nope\" not found","code":404}})"});
  auto o = options_for(server, GetParam());
  o.breaker_failures = 1;
  Client client(o);
  auto r = client.complete(hello());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, core::ErrorCode::kNotFound);
  EXPECT_EQ(r.error().type, "llm-model-not-found");
  EXPECT_NE(r.error().message.find("model \"nope\" not found"), std::string::npos)
      << r.error().message;
  // A 4xx shows a working server: it does not open the breaker.
  EXPECT_TRUE(client.available());
}

TEST_P(BothApis, AnErrorEventInTheStreamIsAnError) {
  FakeModelServer server(GetParam());
  FakeReply reply;
  if (GetParam() == Api::kOllama) {
    reply.raw = {"{\"message\":{\"content\":\"par\"},\"done\":false}\n",
                 "{\"error\":\"out of memory\"}\n"};
  } else {
    reply.raw = {"data: {\"choices\":[{\"delta\":{\"content\":\"par\"}}]}\n\n",
                 "data: {\"error\":{\"message\":\"out of memory\"}}\n\n"};
  }
  server.push(reply);
  Client client(options_for(server, GetParam()));
  auto r = client.complete(hello());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().type, "llm-server-error");
  EXPECT_NE(r.error().message.find("out of memory"), std::string::npos) << r.error().message;
}

TEST_P(BothApis, AStreamThatEndsWithoutItsEndMarkerIsAnError) {
  FakeModelServer server(GetParam());
  FakeReply reply;
  reply.raw = {GetParam() == Api::kOllama
                   ? "{\"message\":{\"content\":\"half\"},\"done\":false}\n"
                   : "data: {\"choices\":[{\"delta\":{\"content\":\"half\"}}]}\n\n"};
  server.push(reply);
  Client client(options_for(server, GetParam()));
  auto r = client.complete(hello());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().type, "llm-server-error");
}

TEST_P(BothApis, GarbageInTheStreamIsABadResponse) {
  FakeModelServer server(GetParam());
  FakeReply reply;
  reply.raw = {GetParam() == Api::kOllama ? "<html>proxy error</html>\n"
                                          : "data: <html>proxy error</html>\n\n"};
  server.push(reply);
  Client client(options_for(server, GetParam()));
  auto r = client.complete(hello());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().type, "llm-bad-response");
}

TEST(Client, AnOpenAiBaseUrlMayEndInV1) {
  FakeModelServer server(Api::kOpenAi);
  server.push({.pieces = {"ok"}});
  auto o = options_for(server, Api::kOpenAi);
  o.base_url += "/v1/";
  Client client(o);
  ASSERT_TRUE(client.complete(hello()).ok());
  EXPECT_EQ(server.seen().at(0).path, "/v1/chat/completions");
}

TEST(Client, ARefusedConnectionIsRetriedAndThenSucceeds) {
  FakeModelServer server(Api::kOllama, /*listening=*/false);
  server.push({.pieces = {"after ", "retry"}});
  telemetry::Registry registry;
  auto o = options_for(server, Api::kOllama);
  o.retries = 1;
  o.retry_backoff_ms = 400;
  Client client(o, &registry);
  auto call = std::async(std::launch::async, [&] { return client.complete(hello()); });
  // The first attempt is refused; once the client counts its retry, the port starts listening.
  auto deadline = Clock::now() + 5s;
  while (Clock::now() < deadline &&
         registry.render().find("libromind_llm_retries_total{api=\"ollama\"} 1") ==
             std::string::npos) {
    std::this_thread::sleep_for(2ms);
  }
  server.listen();
  auto r = call.get();
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->text, "after retry");
  EXPECT_EQ(r->attempts, 2);
  EXPECT_EQ(server.requests(), 1u);
}

TEST(Client, AConnectionClosedBeforeAnyAnswerIsRetried) {
  FakeModelServer server(Api::kOpenAi);
  server.push({.fault = Fault::kCloseBeforeAnswer});
  server.push({.pieces = {"second ", "time"}});
  auto o = options_for(server, Api::kOpenAi);
  o.retries = 2;
  Client client(o);
  auto r = client.complete(hello());
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->text, "second time");
  EXPECT_EQ(r->attempts, 2);
  EXPECT_EQ(server.requests(), 2u);
}

TEST(Client, AConnectionRefusedOnEveryAttemptIsUnreachable) {
  FakeModelServer server(Api::kOllama, /*listening=*/false);
  auto o = options_for(server, Api::kOllama);
  o.retries = 2;
  o.retry_backoff_ms = 10;
  Client client(o);
  auto r = client.complete(hello());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, core::ErrorCode::kUnavailable);
  EXPECT_EQ(r.error().type, "llm-unreachable");
}

TEST(Client, TheBreakerOpensAfterConsecutiveFailuresAndFailsFast) {
  FakeModelServer server(Api::kOllama);
  server.set_default({.fault = Fault::kStatus, .status = 503, .body = R"({"error":"busy"})"});
  telemetry::Registry registry;
  auto o = options_for(server, Api::kOllama);
  o.breaker_failures = 3;
  o.breaker_open_ms = 60000;
  Client client(o, &registry);
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(client.available()) << i;
    auto r = client.complete(hello());
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().type, "llm-server-error");
  }
  EXPECT_FALSE(client.available());
  auto start = Clock::now();
  auto r = client.complete(hello());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, core::ErrorCode::kUnavailable);
  EXPECT_EQ(r.error().type, "llm-unavailable");
  EXPECT_GE(r.error().retry_after_seconds, 1);
  EXPECT_LT(seconds_since(start), 0.1);
  EXPECT_EQ(server.requests(), 3u);  // the fourth call never reached the server
  std::string text = registry.render();
  EXPECT_NE(text.find("libromind_llm_breaker_open 1"), std::string::npos) << text;
  EXPECT_NE(text.find("libromind_llm_requests_total{api=\"ollama\",outcome=\"breaker_open\"} 1"),
            std::string::npos)
      << text;
}

TEST(Client, ASuccessResetsTheFailureCount) {
  FakeModelServer server(Api::kOllama);
  FakeReply fail{.fault = Fault::kStatus, .status = 500, .body = "{}"};
  server.push(fail);
  server.push(fail);
  server.push({.pieces = {"ok"}});
  server.push(fail);
  server.push(fail);
  auto o = options_for(server, Api::kOllama);
  o.breaker_failures = 3;
  Client client(o);
  for (int i = 0; i < 5; ++i) (void)client.complete(hello());
  EXPECT_TRUE(client.available());
}

TEST(Client, AHalfOpenTrialClosesTheBreakerOnSuccess) {
  FakeModelServer server(Api::kOpenAi);
  FakeReply fail{.fault = Fault::kStatus, .status = 502, .body = "Bad Gateway"};
  server.push(fail);
  server.push(fail);
  server.set_default({.pieces = {"back"}});
  telemetry::Registry registry;
  auto o = options_for(server, Api::kOpenAi);
  o.breaker_failures = 2;
  o.breaker_open_ms = 300;
  Client client(o, &registry);
  (void)client.complete(hello());
  (void)client.complete(hello());
  EXPECT_FALSE(client.available());
  EXPECT_EQ(client.complete(hello()).error().type, "llm-unavailable");
  std::this_thread::sleep_for(450ms);
  EXPECT_TRUE(client.available());
  auto r = client.complete(hello());
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->text, "back");
  EXPECT_TRUE(client.available());
  EXPECT_TRUE(client.complete(hello()).ok());
  std::string text = registry.render();
  EXPECT_NE(text.find("libromind_llm_breaker_open 0"), std::string::npos) << text;
  EXPECT_NE(text.find("libromind_llm_breaker_transitions_total{to=\"closed\"} 1"),
            std::string::npos)
      << text;
}

TEST(Client, AFailedHalfOpenTrialReopensTheBreaker) {
  FakeModelServer server(Api::kOllama, /*listening=*/false);  // refuses every connection
  auto o = options_for(server, Api::kOllama);
  o.breaker_failures = 2;
  o.breaker_open_ms = 300;
  Client client(o);
  (void)client.complete(hello());
  (void)client.complete(hello());
  EXPECT_FALSE(client.available());
  std::this_thread::sleep_for(450ms);
  EXPECT_TRUE(client.available());
  auto trial = client.complete(hello());
  ASSERT_FALSE(trial.ok());
  EXPECT_EQ(trial.error().type, "llm-unreachable");
  // One failed trial is enough to open it again, for another full period.
  EXPECT_FALSE(client.available());
  EXPECT_EQ(client.complete(hello()).error().type, "llm-unavailable");
}

TEST(Client, TimeoutsCountAsBreakerFailures) {
  FakeModelServer server(Api::kOllama);
  server.set_default({.fault = Fault::kStallBeforeFirstByte, .stall_ms = 5000});
  auto o = options_for(server, Api::kOllama);
  o.first_token_timeout_ms = 150;
  o.breaker_failures = 2;
  Client client(o);
  EXPECT_EQ(client.complete(hello()).error().type, "llm-timeout");
  EXPECT_EQ(client.complete(hello()).error().type, "llm-timeout");
  EXPECT_FALSE(client.available());
}

TEST(Client, OneCallOverTheConcurrencyLimitWaitsThenFails) {
  FakeModelServer server(Api::kOllama);
  FakeReply slow;
  slow.pieces = {"slow"};
  slow.delay_ms = 3000;
  server.set_default(slow);
  auto o = options_for(server, Api::kOllama);
  o.max_concurrency = 2;
  o.queue_timeout_ms = 300;
  Client client(o);
  auto a = std::async(std::launch::async, [&] { return client.complete(hello()); });
  auto b = std::async(std::launch::async, [&] { return client.complete(hello()); });
  ASSERT_TRUE(server.wait_for_requests(2, 5s));
  auto start = Clock::now();
  auto c = client.complete(hello());
  double waited = seconds_since(start);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().code, core::ErrorCode::kUnavailable);
  EXPECT_EQ(c.error().type, "llm-busy");
  EXPECT_GE(waited, 0.25);
  EXPECT_LT(waited, 0.3 + 1.0);
  EXPECT_EQ(server.requests(), 2u);
  EXPECT_TRUE(a.get().ok());
  EXPECT_TRUE(b.get().ok());
  // A busy client is not a failing server.
  EXPECT_TRUE(client.available());
}

TEST(Client, AWaitingCallGetsTheSlotWhenOneIsFreed) {
  FakeModelServer server(Api::kOpenAi);
  FakeReply quick;
  quick.pieces = {"done"};
  quick.delay_ms = 300;
  server.set_default(quick);
  auto o = options_for(server, Api::kOpenAi);
  o.max_concurrency = 1;
  o.queue_timeout_ms = 5000;
  Client client(o);
  auto a = std::async(std::launch::async, [&] { return client.complete(hello()); });
  ASSERT_TRUE(server.wait_for_requests(1, 5s));
  auto b = client.complete(hello());
  ASSERT_TRUE(b.ok()) << b.error().message;
  EXPECT_TRUE(a.get().ok());
  EXPECT_EQ(server.requests(), 2u);
}

TEST(Client, ManyThreadsShareOneClient) {
  FakeModelServer server(Api::kOllama);
  server.set_default({.pieces = {"a", "b", "c"}, .delay_ms = 2});
  auto o = options_for(server, Api::kOllama);
  o.max_concurrency = 3;
  o.queue_timeout_ms = 20000;
  telemetry::Registry registry;
  Client client(o, &registry);
  std::vector<std::future<bool>> calls;
  for (int i = 0; i < 8; ++i) {
    calls.push_back(std::async(std::launch::async, [&] {
      auto r = client.complete(hello());
      return r.ok() && r->text == "abc";
    }));
  }
  for (auto& c : calls) EXPECT_TRUE(c.get());
  std::string text = registry.render();
  EXPECT_NE(text.find("libromind_llm_requests_total{api=\"ollama\",outcome=\"ok\"} 8"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("libromind_llm_tokens_total{api=\"ollama\"} 24"), std::string::npos) << text;
  EXPECT_NE(text.find("libromind_llm_in_flight 0"), std::string::npos) << text;
}

TEST(Client, MetricsDescribeASuccessfulCall) {
  FakeModelServer server(Api::kOpenAi);
  server.push({.pieces = {"x", "y"}});
  telemetry::Registry registry;
  Client client(options_for(server, Api::kOpenAi), &registry);
  ASSERT_TRUE(client.complete(hello()).ok());
  std::string text = registry.render();
  for (const char* want :
       {"libromind_llm_requests_total{api=\"openai\",outcome=\"ok\"} 1",
        "libromind_llm_time_to_first_token_seconds_count{api=\"openai\"} 1",
        "libromind_llm_generation_seconds_count{api=\"openai\"} 1",
        "libromind_llm_tokens_total{api=\"openai\"} 2", "libromind_llm_breaker_open 0",
        "libromind_llm_info{api=\"openai\",model=\"fake-model\"} 1"}) {
    EXPECT_NE(text.find(want), std::string::npos) << want << "\n" << text;
  }
}

TEST(Client, ASinkThatThrowsEndsTheCallWithAnInternalError) {
  FakeModelServer server(Api::kOllama);
  server.push({.pieces = {"a", "b"}});
  Client client(options_for(server, Api::kOllama));
  auto r = client.chat(
      hello(), [](std::string_view) -> bool { throw std::runtime_error("browser went away"); });
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, core::ErrorCode::kInternal);
  EXPECT_NE(r.error().message.find("browser went away"), std::string::npos);
  EXPECT_TRUE(client.available());
}

TEST(Client, InvalidRequestsAreRefusedBeforeSending) {
  FakeModelServer server(Api::kOllama);
  Client client(options_for(server, Api::kOllama));
  ChatRequest empty;
  EXPECT_EQ(client.complete(empty).error().code, core::ErrorCode::kInvalidArgument);
  ChatRequest bad_role = hello();
  bad_role.messages[0].role = "wizard";
  EXPECT_EQ(client.complete(bad_role).error().code, core::ErrorCode::kInvalidArgument);
  ChatRequest no_tokens = hello();
  no_tokens.max_tokens = 0;
  EXPECT_EQ(client.complete(no_tokens).error().code, core::ErrorCode::kInvalidArgument);
  EXPECT_EQ(server.requests(), 0u);
}

TEST(Client, OptionsAreValidated) {
  ClientOptions o;
  o.model = "m";
  EXPECT_TRUE(validate(o).ok());
  o.base_url = "ftp://x";
  EXPECT_FALSE(validate(o).ok());
  o.base_url = "http://x";
  o.max_concurrency = 0;
  EXPECT_FALSE(validate(o).ok());
  o.max_concurrency = 1;
  o.model.clear();
  EXPECT_FALSE(validate(o).ok());
  EXPECT_EQ(parse_api("openai").value(), Api::kOpenAi);
  EXPECT_FALSE(parse_api("bard").ok());
}

}  // namespace
}  // namespace libromind::llm
