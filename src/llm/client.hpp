// A streaming chat client for a model server: the Ollama API (`POST /api/chat`, NDJSON stream)
// or the OpenAI-compatible chat API (`POST /v1/chat/completions`, SSE stream), chosen by
// configuration. The search pipeline (query expansion, HyDE) and the recommendation
// explanations call it; a failure is reported as an Error, never as text in the answer.
//
//   llm::ClientOptions o;
//   o.api = llm::Api::kOllama;
//   o.base_url = "http://127.0.0.1:11434";
//   o.model = "gemma3:270m";
//   llm::Client client(o, &registry);
//   auto r = client.chat({{{"user", "Say hi"}}}, [](std::string_view piece) {
//     std::cout << piece;  // reasoning (<think>...</think>) is never passed on
//     return true;         // false cancels the generation upstream
//   });
//   if (!r) { degrade(r.error()); }  // kUnavailable: down, slow, busy or breaker open
//
// One Client serves many threads. It bounds the generations in flight, retries only what cannot
// have reached the model (connection refused or reset before any byte of the answer), and opens
// a circuit breaker after consecutive failures so that callers degrade at once instead of
// waiting for a dead server. Errors (code, `type`):
//   kUnavailable "llm-unavailable"     the breaker is open (retry_after_seconds says how long)
//   kUnavailable "llm-busy"            no free slot within queue_timeout_ms
//   kUnavailable "llm-unreachable"     cannot resolve / connect, or reset before the answer
//   kUnavailable "llm-timeout"         no first token in time, or over total_timeout_ms
//   kUnavailable "llm-server-error"    5xx, 408, an error event in the stream, a broken stream
//   kUnavailable "llm-overloaded"      429 (retry_after_seconds from Retry-After)
//   kUnavailable "llm-unauthorized"    401 / 403 (the api key is wrong: configuration)
//   kUnavailable "llm-bad-response"    malformed or over-long stream, or not a 2xx/4xx/5xx
//   kNotFound    "llm-model-not-found" 404 (Ollama and OpenAI say so for an unknown model)
//   kInvalidArgument "llm-rejected"    another 4xx: the server refused this request
//   kInvalidArgument (no type)         the request itself is invalid (never sent)
//   kInternal (no type)                the token sink threw (the exception stops the transfer)
// The message carries the server's own message (cleaned, at most 300 bytes), never the prompt
// or the api key.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"

namespace libromind::telemetry {
class Registry;
}

namespace libromind::llm {

enum class Api { kOllama, kOpenAi };

const char* to_string(Api api);
// "ollama" or "openai"; anything else is a kInvalidArgument error.
core::Result<Api> parse_api(std::string_view name);

struct ClientOptions {
  Api api = Api::kOllama;
  // Scheme, host and port; for the OpenAI API a trailing "/v1" (as OpenAI SDKs write it) is
  // accepted too.
  std::string base_url = "http://127.0.0.1:11434";
  std::string model;
  std::string api_key;  // sent as a Bearer token when not empty (OpenAI-compatible servers)
  int64_t connect_timeout_ms = 2000;
  // From the start of the call to the first generated token, answer or reasoning (a model that
  // is thinking is not stalled); covers connecting and retries.
  int64_t first_token_timeout_ms = 20000;
  int64_t total_timeout_ms = 120000;        // the whole generation, from the start of the call
  int retries = 1;                          // extra attempts, on connection errors only
  int64_t retry_backoff_ms = 100;           // wait before retry n: n * retry_backoff_ms
  int breaker_failures = 3;                 // consecutive failures that open the breaker; 0: never
  int64_t breaker_open_ms = 30000;          // how long an open breaker skips the LLM
  int max_concurrency = 2;                  // generations in flight; more wait (bounded) or fail
  int64_t queue_timeout_ms = 2000;          // how long a call waits for a free slot
  size_t max_line_bytes = size_t{1} << 20;  // one NDJSON / SSE line of the stream
  size_t max_response_bytes = size_t{8} << 20;  // the whole streamed body
};

// Checks the ranges (positive timeouts and limits, a model name, an http(s) base URL), for the
// configuration step to refuse before the service starts. The Client itself clamps.
core::Result<void> validate(const ClientOptions& options);

struct Message {
  std::string role;  // "system", "user" or "assistant"
  std::string content;
};

struct ChatRequest {
  std::vector<Message> messages;
  double temperature = 0.2;
  int max_tokens = 256;
  // Polled while waiting on the server (every 50 ms at most): true stops the generation as a
  // sink returning false does (the result is `cancelled`), also before the first token. The
  // SSE endpoint passes "the client has gone".
  std::function<bool()> cancelled;
};

struct ChatResult {
  std::string text;           // the answer without reasoning
  int64_t tokens = 0;         // content tokens received (the server's count when it sends one)
  double first_token_ms = 0;  // from the start of the call to the first answer piece (0: none)
  double total_ms = 0;
  bool cancelled = false;  // the callback returned false
  int attempts = 0;        // connections made (1 + retries used)
};

// Called with each piece of answer text as it arrives; return false to stop generating.
using TokenSink = std::function<bool(std::string_view piece)>;

// The seam that the search pipeline (query expansion, HyDE, explanations) depends on, so that
// its tests can script answers without a socket. Client is the implementation for both APIs.
class ModelServer {
 public:
  virtual ~ModelServer() = default;
  // Streams the answer into `on_piece` (pieces in order, reasoning removed). A cancelled call
  // (on_piece returned false) is a success with `cancelled` set and the text delivered so far.
  virtual core::Result<ChatResult> chat(const ChatRequest& request, const TokenSink& on_piece) = 0;
  // The whole answer at once.
  core::Result<ChatResult> complete(const ChatRequest& request) {
    return chat(request, [](std::string_view) { return true; });
  }
  // False while calls would fail fast (the circuit breaker is open or probing).
  virtual bool available() const = 0;
};

// The libcurl client for the Ollama and the OpenAI-compatible chat APIs. Thread-safe. With a
// registry it registers its metrics (libromind_llm_*) once: one Client per registry.
class Client final : public ModelServer {
 public:
  explicit Client(ClientOptions options, telemetry::Registry* metrics = nullptr);
  ~Client() override;
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  core::Result<ChatResult> chat(const ChatRequest& request, const TokenSink& on_piece) override;
  using ModelServer::complete;
  bool available() const override;
  const ClientOptions& options() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace libromind::llm
