#include "llm/client.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "core/text.hpp"
#include "llm/stream_parser.hpp"
#include "telemetry/log.hpp"
#include "telemetry/metrics.hpp"

namespace libromind::llm {

const char* to_string(Api api) { return api == Api::kOllama ? "ollama" : "openai"; }

core::Result<Api> parse_api(std::string_view name) {
  if (name == "ollama") return Api::kOllama;
  if (name == "openai") return Api::kOpenAi;
  return core::Error::invalid("unknown LLM API '" + std::string(name) +
                              "' (expected ollama or openai)");
}

core::Result<void> validate(const ClientOptions& o) {
  auto bad = [](const std::string& what) { return core::Error::invalid("LLM options: " + what); };
  if (o.base_url.rfind("http://", 0) != 0 && o.base_url.rfind("https://", 0) != 0) {
    return bad("the model server URL must start with http:// or https://");
  }
  if (o.model.empty()) return bad("no model name");
  if (o.connect_timeout_ms <= 0 || o.first_token_timeout_ms <= 0 || o.total_timeout_ms <= 0 ||
      o.queue_timeout_ms < 0 || o.breaker_open_ms <= 0 || o.retry_backoff_ms < 0) {
    return bad("timeouts must be positive");
  }
  if (o.retries < 0 || o.retries > 10) return bad("retries must be 0..10");
  if (o.breaker_failures < 0) return bad("breaker_failures must be 0 (off) or more");
  if (o.max_concurrency < 1) return bad("max_concurrency must be at least 1");
  if (o.max_line_bytes < 1024 || o.max_response_bytes < o.max_line_bytes) {
    return bad("max_line_bytes must be at least 1024 and at most max_response_bytes");
  }
  return core::ok();
}

namespace {

using Clock = std::chrono::steady_clock;
using nlohmann::json;

// What became of one call; the label of libromind_llm_requests_total.
enum class Outcome {
  kOk,
  kCancelled,
  kTimeout,
  kUnreachable,
  kServerError,
  kBadResponse,
  kRejected,  // a 4xx: the server is up and refused the request
  kBusy,
  kBreakerOpen,
  kInvalid,    // never sent
  kSinkError,  // the caller's token sink threw
};

const char* outcome_label(Outcome o) {
  switch (o) {
    case Outcome::kOk:
      return "ok";
    case Outcome::kCancelled:
      return "cancelled";
    case Outcome::kTimeout:
      return "timeout";
    case Outcome::kUnreachable:
      return "unreachable";
    case Outcome::kServerError:
      return "server_error";
    case Outcome::kBadResponse:
      return "bad_response";
    case Outcome::kRejected:
      return "rejected";
    case Outcome::kBusy:
      return "busy";
    case Outcome::kBreakerOpen:
      return "breaker_open";
    case Outcome::kInvalid:
      return "invalid";
    case Outcome::kSinkError:
      return "sink_error";
  }
  return "unknown";
}

// Failures that say the server is down, overloaded or broken: these count for the breaker.
bool is_server_failure(Outcome o) {
  return o == Outcome::kTimeout || o == Outcome::kUnreachable || o == Outcome::kServerError ||
         o == Outcome::kBadResponse;
}

double ms_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

// scheme://host:port of the base URL, without user info, path or query: safe for a log line.
std::string server_for_log(const std::string& url) {
  size_t scheme = url.find("://");
  size_t host = scheme == std::string::npos ? 0 : scheme + 3;
  size_t end = url.find_first_of("/?#", host);
  std::string authority =
      url.substr(host, end == std::string::npos ? std::string::npos : end - host);
  if (size_t at = authority.rfind('@'); at != std::string::npos) authority.erase(0, at + 1);
  return url.substr(0, host) + authority;
}

std::string endpoint(const ClientOptions& o) {
  std::string base = o.base_url;
  while (!base.empty() && base.back() == '/') base.pop_back();
  if (o.api == Api::kOllama) return base + "/api/chat";
  // OpenAI SDKs configure the base with its "/v1"; both spellings work.
  constexpr std::string_view kV1 = "/v1";
  if (base.size() >= kV1.size() && base.compare(base.size() - kV1.size(), kV1.size(), kV1) == 0) {
    return base + "/chat/completions";
  }
  return base + "/v1/chat/completions";
}

std::string request_body(const ClientOptions& o, const ChatRequest& r) {
  json messages = json::array();
  for (const auto& m : r.messages) messages.push_back({{"role", m.role}, {"content", m.content}});
  json body = {{"model", o.model}, {"messages", std::move(messages)}, {"stream", true}};
  if (o.api == Api::kOllama) {
    body["options"] = {{"temperature", r.temperature}, {"num_predict", r.max_tokens}};
  } else {
    body["temperature"] = r.temperature;
    body["max_tokens"] = r.max_tokens;
  }
  // Invalid UTF-8 in a prompt becomes U+FFFD rather than an exception.
  return body.dump(-1, ' ', false, json::error_handler_t::replace);
}

core::Result<void> validate_request(const ChatRequest& r) {
  if (r.messages.empty()) return core::Error::invalid("a chat request needs at least one message");
  for (const auto& m : r.messages) {
    if (m.role != "system" && m.role != "user" && m.role != "assistant") {
      return core::Error::invalid("message role must be system, user or assistant");
    }
  }
  if (!std::isfinite(r.temperature) || r.temperature < 0 || r.temperature > 2) {
    return core::Error::invalid("temperature must be in 0..2");
  }
  if (r.max_tokens < 1) return core::Error::invalid("max_tokens must be at least 1");
  return core::ok();
}

void init_curl_once() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

// Why the callbacks stopped the transfer.
enum class Stop {
  kNone,
  kDone,          // the server's end marker arrived: the answer is complete
  kCancelled,     // the sink returned false
  kStreamError,   // an error event in the stream
  kProtocol,      // malformed or over-long stream
  kTooLarge,      // over max_response_bytes
  kTotalTimeout,  // noticed in the write callback
  kErrorBody,     // enough of an error body has been read
  kSinkError,     // the sink threw (an exception must not cross libcurl's C frames)
};

constexpr size_t kMaxErrorBody = 16 * 1024;

// State shared by one attempt's curl callbacks.
struct Transfer {
  Transfer(const ClientOptions& o, const TokenSink& s, Clock::time_point begin,
           Clock::time_point total)
      : options(o),
        sink(s),
        decoder(o.api, o.max_line_bytes),
        start(begin),
        total_deadline(total) {}

  const ClientOptions& options;
  const TokenSink& sink;
  StreamDecoder decoder;
  ThinkFilter think;
  std::vector<StreamEvent> events;
  Clock::time_point start, total_deadline;
  CURL* easy = nullptr;

  bool response_started = false;  // a header byte arrived
  bool any_token = false;         // a token (answer or reasoning) arrived
  bool done = false;              // the server's end marker
  bool finished = false;          // a finish reason arrived (OpenAI servers may omit [DONE])
  long status = 0;
  int64_t retry_after_s = 0;
  std::string error_body;
  size_t body_bytes = 0;
  Stop stop = Stop::kNone;
  std::string stop_message;

  std::string text;
  int64_t content_events = 0;
  int64_t server_tokens = -1;
  double first_piece_ms = 0;

  // Passes answer text to the sink; false when it asks to stop.
  bool deliver(const std::string& piece) {
    if (piece.empty()) return true;
    if (first_piece_ms == 0) first_piece_ms = std::max(ms_between(start, Clock::now()), 0.001);
    text += piece;
    try {
      if (sink && !sink(piece)) {
        stop = Stop::kCancelled;
        return false;
      }
    } catch (const std::exception& e) {
      stop = Stop::kSinkError;
      stop_message = clean_message(e.what(), 300);
      return false;
    }
    return true;
  }

  // Handles decoded events; false stops the transfer.
  bool consume_events() {
    for (auto& e : events) {
      if (!e.error.empty()) {
        stop = Stop::kStreamError;
        stop_message = clean_message(e.error, 300);
        events.clear();
        return false;
      }
      if (!e.content.empty() || e.reasoning) any_token = true;
      if (!e.content.empty()) ++content_events;
      if (e.completion_tokens >= 0) server_tokens = e.completion_tokens;
      if (!e.finish_reason.empty()) finished = true;
      if (!deliver(think.push(e.content))) {
        events.clear();
        return false;
      }
      if (e.done) {
        done = true;
        events.clear();
        if (!deliver(think.finish())) return false;
        stop = Stop::kDone;
        return false;
      }
    }
    events.clear();
    return true;
  }

  // End of a body that ended without an end marker: the last line and held-back text.
  bool flush() {
    if (!decoder.finish(events)) {
      stop = Stop::kProtocol;
      stop_message = decoder.error();
      return false;
    }
    if (!consume_events()) return stop == Stop::kDone;
    return deliver(think.finish());
  }
};

size_t on_header(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  size_t len = size * n;
  t->response_started = true;
  std::string_view line(data, len);
  constexpr std::string_view kRetryAfter = "retry-after:";
  if (line.size() > kRetryAfter.size() &&
      core::to_lower_ascii(line.substr(0, kRetryAfter.size())) == kRetryAfter) {
    if (auto v = core::parse_int(core::trim(line.substr(kRetryAfter.size())))) {
      t->retry_after_s = std::clamp<int64_t>(*v, 0, 3600);
    }
  }
  return len;
}

size_t on_write(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  size_t len = size * n;
  t->response_started = true;
  if (t->status == 0) curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &t->status);
  if (t->status < 200 || t->status >= 300) {
    size_t room = kMaxErrorBody - std::min(kMaxErrorBody, t->error_body.size());
    t->error_body.append(data, std::min(room, len));
    if (t->error_body.size() >= kMaxErrorBody) {
      t->stop = Stop::kErrorBody;
      return 0;
    }
    return len;
  }
  t->body_bytes += len;
  if (t->body_bytes > t->options.max_response_bytes) {
    t->stop = Stop::kTooLarge;
    t->stop_message = "the model server sent more than " +
                      std::to_string(t->options.max_response_bytes) + " bytes";
    return 0;
  }
  if (!t->decoder.feed(std::string_view(data, len), t->events)) {
    // Events before the bad line still count (they may carry an error message).
    if (!t->consume_events()) return 0;
    t->stop = Stop::kProtocol;
    t->stop_message = t->decoder.error();
    return 0;
  }
  if (!t->consume_events()) return 0;
  if (Clock::now() >= t->total_deadline) {
    t->stop = Stop::kTotalTimeout;
    return 0;
  }
  return len;
}

struct Attempt {
  Outcome outcome = Outcome::kOk;
  core::Error error;
  bool retryable = false;  // nothing of the answer arrived: another attempt is safe
};

core::Error llm_error(core::ErrorCode code, std::string message, const char* type,
                      int64_t retry_after = 0) {
  auto e = core::Error::make(code, std::move(message), type);
  e.retry_after_seconds = retry_after;
  return e;
}

Attempt from_status(const Transfer& t) {
  std::string server = server_error_message(t.error_body);
  std::string msg = "the model server answered " + std::to_string(t.status) +
                    (server.empty() ? std::string() : ": " + server);
  using core::ErrorCode;
  Attempt a;
  long s = t.status;
  if (s == 404) {
    a.outcome = Outcome::kRejected;
    a.error = llm_error(ErrorCode::kNotFound, msg, "llm-model-not-found");
  } else if (s == 401 || s == 403) {
    a.outcome = Outcome::kRejected;
    a.error = llm_error(ErrorCode::kUnavailable, msg, "llm-unauthorized");
  } else if (s == 429) {
    a.outcome = Outcome::kServerError;
    a.error = llm_error(ErrorCode::kUnavailable, msg, "llm-overloaded",
                        std::max<int64_t>(t.retry_after_s, 1));
  } else if (s == 408 || s >= 500) {
    a.outcome = Outcome::kServerError;
    a.error = llm_error(ErrorCode::kUnavailable, msg, "llm-server-error", t.retry_after_s);
  } else if (s >= 400) {
    a.outcome = Outcome::kRejected;
    a.error = llm_error(ErrorCode::kInvalidArgument, msg, "llm-rejected");
  } else {
    a.outcome = Outcome::kBadResponse;
    a.error = llm_error(ErrorCode::kUnavailable,
                        "the model server answered with unexpected status " + std::to_string(s),
                        "llm-bad-response");
  }
  return a;
}

// The histogram buckets of generation times: a small model's first token within a second, a
// long explanation within minutes.
std::vector<double> generation_buckets() {
  return {0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60, 120, 300};
}

}  // namespace

class Client::Impl {
 public:
  Impl(ClientOptions options, telemetry::Registry* registry)
      : options_(std::move(options)), api_label_(to_string(options_.api)) {
    options_.max_concurrency = std::max(options_.max_concurrency, 1);
    options_.retries = std::clamp(options_.retries, 0, 10);
    options_.max_line_bytes = std::max<size_t>(options_.max_line_bytes, 1024);
    options_.max_response_bytes = std::max(options_.max_response_bytes, options_.max_line_bytes);
    server_ = server_for_log(options_.base_url);
    url_ = endpoint(options_);
    init_curl_once();
    if (registry != nullptr) register_metrics(*registry);
  }

  const ClientOptions& options() const { return options_; }

  bool available() const {
    std::lock_guard lock(mutex_);
    switch (breaker_) {
      case Breaker::kClosed:
        return true;
      case Breaker::kOpen:
        return Clock::now() >= open_until_;
      case Breaker::kHalfOpen:
        return !trial_in_flight_;
    }
    return true;
  }

  core::Result<ChatResult> chat(const ChatRequest& request, const TokenSink& on_piece) {
    if (auto v = validate_request(request); !v) return finish_call(Outcome::kInvalid, v.error());
    if (options_.model.empty()) {
      return finish_call(Outcome::kInvalid, core::Error::invalid("no LLM model configured"));
    }

    int64_t retry_after_ms = 0;
    Admission admission = admit(retry_after_ms);
    if (admission == Admission::kRejected) {
      return finish_call(
          Outcome::kBreakerOpen,
          llm_error(core::ErrorCode::kUnavailable,
                    "the model server is unavailable after repeated failures; not calling it",
                    "llm-unavailable", std::max<int64_t>((retry_after_ms + 999) / 1000, 1)));
    }
    const bool trial = admission == Admission::kTrial;

    auto queued = Clock::now();
    if (!acquire_slot(queued + std::chrono::milliseconds(options_.queue_timeout_ms))) {
      if (trial) record_breaker(Verdict::kNeutral, trial, {});
      telemetry::log_warn("llm_queue_timeout", {{"api", api_label_},
                                                {"server", server_},
                                                {"max_concurrency", options_.max_concurrency},
                                                {"queue_timeout_ms", options_.queue_timeout_ms}});
      return finish_call(Outcome::kBusy,
                         llm_error(core::ErrorCode::kUnavailable,
                                   "all " + std::to_string(options_.max_concurrency) +
                                       " model-server slots stayed busy for " +
                                       std::to_string(options_.queue_timeout_ms) + " ms",
                                   "llm-busy", 1));
    }
    if (metrics_) metrics_->queue_wait->observe(ms_between(queued, Clock::now()) / 1000.0);

    ChatResult result;
    Attempt outcome;
    {
      SlotGuard slot(*this);
      outcome = generate(request, on_piece, result);
    }

    if (outcome.outcome == Outcome::kOk || outcome.outcome == Outcome::kCancelled ||
        outcome.outcome == Outcome::kRejected) {
      // A 4xx or a cancellation still shows a working server.
      record_breaker(Verdict::kSuccess, trial, {});
    } else if (is_server_failure(outcome.outcome)) {
      record_breaker(Verdict::kFailure, trial, outcome.error.message);
    } else {
      record_breaker(Verdict::kNeutral, trial, {});
    }

    if (outcome.outcome != Outcome::kOk && outcome.outcome != Outcome::kCancelled) {
      telemetry::log_warn("llm_request_failed", {{"api", api_label_},
                                                 {"server", server_},
                                                 {"model", options_.model},
                                                 {"outcome", outcome_label(outcome.outcome)},
                                                 {"type", outcome.error.type},
                                                 {"error", outcome.error.message},
                                                 {"attempts", result.attempts},
                                                 {"elapsed_ms", std::lround(result.total_ms)}});
      return finish_call(outcome.outcome, outcome.error);
    }
    if (metrics_) {
      metrics_->tokens->inc(static_cast<double>(result.tokens));
      metrics_->generation->observe(result.total_ms / 1000.0);
      if (result.first_token_ms > 0) metrics_->ttft->observe(result.first_token_ms / 1000.0);
    }
    count(outcome.outcome);
    return result;
  }

 private:
  enum class Breaker { kClosed, kOpen, kHalfOpen };
  enum class Admission { kAllowed, kTrial, kRejected };
  enum class Verdict { kSuccess, kFailure, kNeutral };

  struct Metrics {
    telemetry::Family<telemetry::Counter>* requests = nullptr;
    telemetry::Family<telemetry::Counter>* transitions = nullptr;
    telemetry::Histogram* ttft = nullptr;
    telemetry::Histogram* generation = nullptr;
    telemetry::Histogram* queue_wait = nullptr;
    telemetry::Counter* tokens = nullptr;
    telemetry::Counter* retries = nullptr;
    telemetry::Gauge* breaker_open = nullptr;
    telemetry::Gauge* in_flight = nullptr;
  };

  class SlotGuard {
   public:
    explicit SlotGuard(Impl& impl) : impl_(impl) {}
    ~SlotGuard() { impl_.release_slot(); }
    SlotGuard(const SlotGuard&) = delete;
    SlotGuard& operator=(const SlotGuard&) = delete;

   private:
    Impl& impl_;
  };

  void register_metrics(telemetry::Registry& r) {
    metrics_ = std::make_unique<Metrics>();
    const std::vector<std::string> api = {api_label_};
    metrics_->requests = &r.counter("libromind_llm_requests_total",
                                    "Model-server chat calls by outcome", {"api", "outcome"});
    metrics_->ttft = &r.histogram("libromind_llm_time_to_first_token_seconds",
                                  "From the start of a chat call to its first answer piece",
                                  {"api"}, generation_buckets())
                          .with(api);
    metrics_->generation = &r.histogram("libromind_llm_generation_seconds",
                                        "Duration of completed or cancelled generations", {"api"},
                                        generation_buckets())
                                .with(api);
    metrics_->queue_wait =
        &r.histogram("libromind_llm_queue_wait_seconds", "Wait for a free generation slot", {"api"},
                     telemetry::latency_buckets())
             .with(api);
    metrics_->tokens =
        &r.counter("libromind_llm_tokens_total", "Tokens generated (server count)", {"api"})
             .with(api);
    metrics_->retries = &r.counter("libromind_llm_retries_total",
                                   "Attempts repeated after a connection error", {"api"})
                             .with(api);
    metrics_->breaker_open =
        &r.gauge("libromind_llm_breaker_open", "1 while the circuit breaker skips the model server")
             .get();
    metrics_->transitions = &r.counter("libromind_llm_breaker_transitions_total",
                                       "Circuit breaker state changes", {"to"});
    metrics_->in_flight =
        &r.gauge("libromind_llm_in_flight", "Generations in flight (at most max_concurrency)")
             .get();
    r.gauge("libromind_llm_info", "The configured model server", {"api", "model"})
        .with({api_label_, options_.model})
        .set(1);
    r.gauge("libromind_llm_max_concurrency", "Generation slots")
        .get()
        .set(options_.max_concurrency);
  }

  core::Error finish_call(Outcome o, core::Error e) {
    count(o);
    return e;
  }

  void count(Outcome o) {
    if (metrics_) metrics_->requests->with({api_label_, outcome_label(o)}).inc();
  }

  // --- concurrency limit

  bool acquire_slot(Clock::time_point deadline) {
    std::unique_lock lock(mutex_);
    if (!slot_freed_.wait_until(lock, deadline,
                                [&] { return in_flight_ < options_.max_concurrency; })) {
      return false;
    }
    ++in_flight_;
    if (metrics_) metrics_->in_flight->set(in_flight_);
    return true;
  }

  void release_slot() {
    {
      std::lock_guard lock(mutex_);
      --in_flight_;
      if (metrics_) metrics_->in_flight->set(in_flight_);
    }
    slot_freed_.notify_one();
  }

  // --- circuit breaker

  Admission admit(int64_t& retry_after_ms) {
    std::lock_guard lock(mutex_);
    auto now = Clock::now();
    switch (breaker_) {
      case Breaker::kClosed:
        return Admission::kAllowed;
      case Breaker::kOpen:
        if (now < open_until_) {
          retry_after_ms =
              std::chrono::duration_cast<std::chrono::milliseconds>(open_until_ - now).count();
          return Admission::kRejected;
        }
        set_breaker(Breaker::kHalfOpen, "half_open");
        telemetry::log_info("llm_breaker_half_open", {{"api", api_label_}, {"server", server_}});
        trial_in_flight_ = true;
        return Admission::kTrial;
      case Breaker::kHalfOpen:
        if (trial_in_flight_) {
          retry_after_ms = 1000;
          return Admission::kRejected;
        }
        trial_in_flight_ = true;
        return Admission::kTrial;
    }
    return Admission::kAllowed;
  }

  void record_breaker(Verdict v, bool trial, const std::string& error) {
    std::lock_guard lock(mutex_);
    if (trial) trial_in_flight_ = false;
    if (options_.breaker_failures <= 0) return;
    if (v == Verdict::kSuccess) {
      failures_ = 0;
      if (breaker_ != Breaker::kClosed) {
        set_breaker(Breaker::kClosed, "closed");
        telemetry::log_info("llm_breaker_closed", {{"api", api_label_}, {"server", server_}});
      }
      return;
    }
    if (v != Verdict::kFailure) return;
    if (breaker_ == Breaker::kClosed) {
      if (++failures_ < options_.breaker_failures) return;
      open_breaker("llm_breaker_opened", error);
    } else if (breaker_ == Breaker::kHalfOpen && trial) {
      open_breaker("llm_breaker_reopened", error);
    }
    // Calls admitted before the breaker opened may still fail: they do not extend it.
  }

  void open_breaker(const char* event, const std::string& error) {
    open_until_ = Clock::now() + std::chrono::milliseconds(options_.breaker_open_ms);
    set_breaker(Breaker::kOpen, "open");
    telemetry::log_warn(event, {{"api", api_label_},
                                {"server", server_},
                                {"consecutive_failures", failures_},
                                {"open_ms", options_.breaker_open_ms},
                                {"last_error", error}});
  }

  void set_breaker(Breaker b, const char* label) {
    breaker_ = b;
    if (metrics_) {
      metrics_->breaker_open->set(b == Breaker::kOpen ? 1 : 0);
      metrics_->transitions->with({label}).inc();
    }
  }

  // --- one generation, with its retries

  Attempt generate(const ChatRequest& request, const TokenSink& on_piece, ChatResult& result) {
    const auto start = Clock::now();
    const auto first_deadline = start + std::chrono::milliseconds(options_.first_token_timeout_ms);
    const auto total_deadline = start + std::chrono::milliseconds(options_.total_timeout_ms);
    const std::string body = request_body(options_, request);
    Attempt a;
    for (int attempt = 0;; ++attempt) {
      result = ChatResult();
      result.attempts = attempt + 1;
      a = run_attempt(body, on_piece, request.cancelled, start, first_deadline, total_deadline,
                      result);
      if (!a.retryable || attempt >= options_.retries) break;
      auto backoff = std::chrono::milliseconds(options_.retry_backoff_ms * (attempt + 1));
      if (Clock::now() + backoff >= std::min(first_deadline, total_deadline)) break;
      if (metrics_) metrics_->retries->inc();
      telemetry::log_warn("llm_retry", {{"api", api_label_},
                                        {"server", server_},
                                        {"attempt", attempt + 1},
                                        {"error", a.error.message}});
      std::this_thread::sleep_for(backoff);
    }
    result.total_ms = ms_between(start, Clock::now());
    return a;
  }

  Attempt run_attempt(const std::string& body, const TokenSink& on_piece,
                      const std::function<bool()>& cancelled, Clock::time_point start,
                      Clock::time_point first_deadline, Clock::time_point total_deadline,
                      ChatResult& result) {
    Transfer t(options_, on_piece, start, total_deadline);
    CURL* easy = curl_easy_init();
    CURLM* multi = curl_multi_init();
    if (easy == nullptr || multi == nullptr) {
      if (easy != nullptr) curl_easy_cleanup(easy);
      if (multi != nullptr) curl_multi_cleanup(multi);
      return {Outcome::kUnreachable,
              core::Error::make(core::ErrorCode::kUnavailable, "libcurl could not start a transfer",
                                "llm-unreachable"),
              false};
    }
    t.easy = easy;
    curl_slist* headers = nullptr;
    headers = curl_slist_append(headers, "Content-Type: application/json");
    headers =
        curl_slist_append(headers, options_.api == Api::kOllama ? "Accept: application/x-ndjson"
                                                                : "Accept: text/event-stream");
    headers = curl_slist_append(headers, "Expect:");  // no 100-continue round trip
    std::string auth;
    if (!options_.api_key.empty()) {
      auth = "Authorization: Bearer " + options_.api_key;
      headers = curl_slist_append(headers, auth.c_str());
    }

    curl_easy_setopt(easy, CURLOPT_URL, url_.c_str());
    curl_easy_setopt(easy, CURLOPT_POST, 1L);
    curl_easy_setopt(easy, CURLOPT_POSTFIELDS, body.data());
    curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
    curl_easy_setopt(easy, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, &t);
    curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(easy, CURLOPT_HEADERDATA, &t);
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);  // threads: no SIGALRM for DNS timeouts
    curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS,
                     static_cast<long>(options_.connect_timeout_ms));
    curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(easy, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(easy, CURLOPT_USERAGENT, "libromind-llm/1");
    curl_multi_add_handle(multi, easy);

    // The deadlines are checked here rather than in curl's progress callback, which runs only
    // about once a second while a server is silent.
    enum class Timer { kNone, kFirstToken, kTotal } timed_out = Timer::kNone;
    int running = 1;
    while (running > 0) {
      if (curl_multi_perform(multi, &running) != CURLM_OK) break;
      if (running == 0) break;
      if (cancelled && cancelled()) {
        t.stop = Stop::kCancelled;
        break;
      }
      auto now = Clock::now();
      if (!t.any_token && now >= first_deadline) {
        timed_out = Timer::kFirstToken;
        break;
      }
      if (now >= total_deadline) {
        timed_out = Timer::kTotal;
        break;
      }
      auto next = t.any_token ? total_deadline : std::min(first_deadline, total_deadline);
      auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(next - now).count() + 1;
      // A caller that can cancel is asked every 50 ms, also while the server is still silent.
      const int64_t most = cancelled ? 50 : 1000;
      curl_multi_poll(multi, nullptr, 0, static_cast<int>(std::clamp<int64_t>(wait, 1, most)),
                      nullptr);
    }
    CURLcode code = CURLE_OK;
    int left = 0;
    while (CURLMsg* m = curl_multi_info_read(multi, &left)) {
      if (m->msg == CURLMSG_DONE) code = m->data.result;
    }
    if (t.status == 0) curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &t.status);
    // Removing the handle mid-transfer closes the connection: the server sees the client leave
    // and can stop generating.
    curl_multi_remove_handle(multi, easy);
    curl_easy_cleanup(easy);
    curl_multi_cleanup(multi);
    curl_slist_free_all(headers);

    if (t.stop == Stop::kTotalTimeout) timed_out = Timer::kTotal;
    Attempt a = classify(t, code, timed_out == Timer::kFirstToken, timed_out == Timer::kTotal);
    result.text = std::move(t.text);
    result.tokens = t.server_tokens >= 0 ? t.server_tokens : t.content_events;
    result.first_token_ms = t.first_piece_ms;
    result.cancelled = a.outcome == Outcome::kCancelled;
    return a;
  }

  Attempt classify(Transfer& t, CURLcode code, bool first_token_timeout, bool total_timeout) {
    using core::ErrorCode;
    auto fail = [](Outcome o, ErrorCode c, std::string msg, const char* type,
                   bool retryable = false) {
      return Attempt{o, llm_error(c, std::move(msg), type), retryable};
    };
    if (t.stop == Stop::kCancelled) return {Outcome::kCancelled, {}, false};
    if (t.stop == Stop::kDone) return {Outcome::kOk, {}, false};
    if (t.stop == Stop::kSinkError) {
      return {Outcome::kSinkError,
              core::Error::internal("the token sink failed: " + t.stop_message), false};
    }
    // An error status says more than a timeout while its body was read.
    if (t.status >= 400) return from_status(t);
    if (first_token_timeout) {
      return fail(Outcome::kTimeout, ErrorCode::kUnavailable,
                  "no token from the model server within " +
                      std::to_string(options_.first_token_timeout_ms) + " ms",
                  "llm-timeout");
    }
    if (total_timeout) {
      return fail(
          Outcome::kTimeout, ErrorCode::kUnavailable,
          "the generation took longer than " + std::to_string(options_.total_timeout_ms) + " ms",
          "llm-timeout");
    }
    if (t.stop == Stop::kStreamError) {
      return fail(Outcome::kServerError, ErrorCode::kUnavailable,
                  "the model server reported an error: " + t.stop_message, "llm-server-error");
    }
    if (t.stop == Stop::kProtocol || t.stop == Stop::kTooLarge) {
      return fail(Outcome::kBadResponse, ErrorCode::kUnavailable, t.stop_message,
                  "llm-bad-response");
    }
    switch (code) {
      case CURLE_OK:
        break;
      case CURLE_COULDNT_RESOLVE_HOST:
      case CURLE_COULDNT_RESOLVE_PROXY:
      case CURLE_COULDNT_CONNECT:
        return fail(Outcome::kUnreachable, ErrorCode::kUnavailable,
                    std::string("cannot reach the model server: ") + curl_easy_strerror(code),
                    "llm-unreachable", true);
      case CURLE_OPERATION_TIMEDOUT:
        // Only the connect timeout is left to curl; retrying it would double a long wait.
        return fail(Outcome::kUnreachable, ErrorCode::kUnavailable,
                    "cannot connect to the model server within " +
                        std::to_string(options_.connect_timeout_ms) + " ms",
                    "llm-unreachable");
      case CURLE_GOT_NOTHING:
      case CURLE_RECV_ERROR:
      case CURLE_SEND_ERROR:
        if (!t.response_started) {
          return fail(Outcome::kUnreachable, ErrorCode::kUnavailable,
                      std::string("the model server closed the connection before answering: ") +
                          curl_easy_strerror(code),
                      "llm-unreachable", true);
        }
        return fail(Outcome::kServerError, ErrorCode::kUnavailable,
                    std::string("the connection to the model server broke during the answer: ") +
                        curl_easy_strerror(code),
                    "llm-server-error");
      case CURLE_PARTIAL_FILE:
        return fail(Outcome::kServerError, ErrorCode::kUnavailable,
                    "the model server closed the stream before the answer was complete",
                    "llm-server-error");
      default:
        return fail(Outcome::kUnreachable, ErrorCode::kUnavailable,
                    std::string("model server request failed: ") + curl_easy_strerror(code),
                    "llm-unreachable");
    }
    if (t.status < 200 || t.status >= 300) return from_status(t);
    // The body ended without the end marker: decode what is left, then insist on an ending.
    if (!t.flush()) {
      if (t.stop == Stop::kCancelled) return {Outcome::kCancelled, {}, false};
      if (t.stop == Stop::kSinkError) {
        return {Outcome::kSinkError,
                core::Error::internal("the token sink failed: " + t.stop_message), false};
      }
      if (t.stop == Stop::kStreamError) {
        return fail(Outcome::kServerError, ErrorCode::kUnavailable,
                    "the model server reported an error: " + t.stop_message, "llm-server-error");
      }
      return fail(Outcome::kBadResponse, ErrorCode::kUnavailable, t.stop_message,
                  "llm-bad-response");
    }
    if (!t.done && !t.finished) {
      return fail(Outcome::kServerError, ErrorCode::kUnavailable,
                  "the model server ended the stream before the answer was complete",
                  "llm-server-error");
    }
    return {Outcome::kOk, {}, false};
  }

  ClientOptions options_;
  std::string api_label_;
  std::string server_;  // for logs
  std::string url_;
  std::unique_ptr<Metrics> metrics_;

  mutable std::mutex mutex_;
  std::condition_variable slot_freed_;
  int in_flight_ = 0;
  Breaker breaker_ = Breaker::kClosed;
  int failures_ = 0;
  Clock::time_point open_until_;
  bool trial_in_flight_ = false;
};

Client::Client(ClientOptions options, telemetry::Registry* metrics)
    : impl_(std::make_unique<Impl>(std::move(options), metrics)) {}

Client::~Client() = default;

core::Result<ChatResult> Client::chat(const ChatRequest& request, const TokenSink& on_piece) {
  return impl_->chat(request, on_piece);
}

bool Client::available() const { return impl_->available(); }

const ClientOptions& Client::options() const { return impl_->options(); }

}  // namespace libromind::llm
