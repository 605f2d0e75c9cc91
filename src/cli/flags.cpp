#include "cli/flags.hpp"

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <thread>

#include "core/text.hpp"
#include "telemetry/log.hpp"

namespace libromind::cli {

void add_store_flags(CLI::App& cmd, StoreFlags& f) {
  cmd.add_option("--database-url", f.database_url,
                 "Store URL: sqlite://PATH or postgresql://USER@HOST:PORT/DB")
      ->envname("LIBROMIND_DATABASE_URL")
      ->capture_default_str();
  cmd.add_option("--database-url-file", f.database_url_file,
                 "Read the store URL from this file (for URLs carrying a password)")
      ->envname("LIBROMIND_DATABASE_URL_FILE");
  cmd.add_option("--store-pool-size", f.pool_size,
                 "PostgreSQL connections / SQLite reader connections")
      ->envname("LIBROMIND_STORE_POOL_SIZE")
      ->check(CLI::Range(1, 256))
      ->capture_default_str();
  cmd.add_option("--store-timeout-ms", f.busy_timeout_ms,
                 "How long to wait for a store connection or lock")
      ->envname("LIBROMIND_STORE_TIMEOUT_MS")
      ->check(CLI::Range(1, 600000))
      ->capture_default_str();
  cmd.add_option("--log-level", f.log_level, "debug, info, warn or error")
      ->envname("LIBROMIND_LOG_LEVEL")
      ->check(CLI::IsMember({"debug", "info", "warn", "error"}))
      ->capture_default_str();
}

core::Result<std::unique_ptr<store::Store>> open_store(StoreFlags& f) {
  telemetry::LogLevel level;
  telemetry::parse_log_level(f.log_level, level);
  telemetry::set_log_level(level);
  std::string url = f.database_url;
  if (!f.database_url_file.empty()) {
    std::ifstream in(f.database_url_file);
    if (!in) return core::Error::invalid("cannot read --database-url-file " + f.database_url_file);
    std::getline(in, url);
    url = std::string(core::trim(url));
  }
  store::StoreOptions so;
  so.url = url;
  so.pool_size = f.pool_size;
  so.busy_timeout_ms = f.busy_timeout_ms;
  return store::open_store(so);
}

int default_threads() {
  const unsigned n = std::thread::hardware_concurrency();
  return static_cast<int>(n == 0 ? 1 : std::min(4u, n));
}

std::string default_model_dir() {
  if (const char* env = std::getenv("LIBROMIND_MODEL_DIR"); env && *env) return env;
  const char* home = std::getenv("HOME");
  return std::string(home && *home ? home : ".") + "/.cache/libromind/models";
}

void add_ml_flags(CLI::App& cmd, MlFlags& f) {
  f.model_dir = default_model_dir();
  cmd.add_option("--model-dir", f.model_dir,
                 "Where scripts/fetch-models.sh installed the models (embedder/, reranker/)")
      ->envname("LIBROMIND_MODEL_DIR")
      ->capture_default_str();
  cmd.add_option("--threads", f.threads, "Threads for the encoder's matrix products")
      ->envname("LIBROMIND_ML_THREADS")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  cmd.add_option("--batch-size", f.batch_size, "Texts per forward pass")
      ->envname("LIBROMIND_ML_BATCH_SIZE")
      ->check(CLI::Range(1, 1024))
      ->capture_default_str();
}

ml::EncoderOptions encoder_options(const MlFlags& f) {
  ml::EncoderOptions o = ml::default_encoder_options();
  o.threads = f.threads;
  o.batch_size = f.batch_size;
  return o;
}

int fail(const std::string& message) {
  std::cerr << "libromind: " << message << "\n";
  return 2;
}

void add_llm_flags(CLI::App& cmd, LlmFlags& f) {
  cmd.add_option("--llm-url", f.url,
                 "Model server for query expansion, HyDE and explanations (none: off)")
      ->envname("LIBROMIND_LLM_URL");
  cmd.add_option("--llm-api", f.api, "Its API: openai (llama.cpp, vLLM, OpenAI) or ollama")
      ->envname("LIBROMIND_LLM_API")
      ->check(CLI::IsMember({"openai", "ollama"}))
      ->capture_default_str();
  cmd.add_option("--llm-model", f.model, "Model name the server knows")
      ->envname("LIBROMIND_LLM_MODEL");
  cmd.add_option("--llm-api-key-file", f.api_key_file,
                 "File holding the API key (sent as a Bearer token)")
      ->envname("LIBROMIND_LLM_API_KEY_FILE");
  cmd.add_option("--llm-connect-timeout-ms", f.connect_timeout_ms, "Connect timeout")
      ->envname("LIBROMIND_LLM_CONNECT_TIMEOUT_MS")
      ->check(CLI::Range(int64_t{1}, int64_t{600000}))
      ->capture_default_str();
  cmd.add_option("--llm-first-token-timeout-ms", f.first_token_timeout_ms,
                 "From the call to the first token")
      ->envname("LIBROMIND_LLM_FIRST_TOKEN_TIMEOUT_MS")
      ->check(CLI::Range(int64_t{1}, int64_t{3600000}))
      ->capture_default_str();
  cmd.add_option("--llm-total-timeout-ms", f.total_timeout_ms, "The whole generation")
      ->envname("LIBROMIND_LLM_TOTAL_TIMEOUT_MS")
      ->check(CLI::Range(int64_t{1}, int64_t{3600000}))
      ->capture_default_str();
  cmd.add_option("--llm-breaker-failures", f.breaker_failures,
                 "Consecutive failures that open the circuit breaker (0: never)")
      ->envname("LIBROMIND_LLM_BREAKER_FAILURES")
      ->check(CLI::Range(0, 1000))
      ->capture_default_str();
  cmd.add_option("--llm-breaker-open-ms", f.breaker_open_ms,
                 "How long an open breaker skips the model server")
      ->envname("LIBROMIND_LLM_BREAKER_OPEN_MS")
      ->check(CLI::Range(int64_t{1}, int64_t{3600000}))
      ->capture_default_str();
  cmd.add_option("--llm-max-concurrency", f.max_concurrency, "Generations in flight")
      ->envname("LIBROMIND_LLM_MAX_CONCURRENCY")
      ->check(CLI::Range(1, 1024))
      ->capture_default_str();
}

core::Result<std::unique_ptr<llm::Client>> make_llm_client(const LlmFlags& f,
                                                           telemetry::Registry* metrics) {
  if (f.url.empty()) return std::unique_ptr<llm::Client>();
  llm::ClientOptions o;
  LM_ASSIGN_OR_RETURN(o.api, llm::parse_api(f.api));
  o.base_url = f.url;
  o.model = f.model;
  if (!f.api_key_file.empty()) {
    std::ifstream in(f.api_key_file);
    if (!in) return core::Error::invalid("cannot read --llm-api-key-file " + f.api_key_file);
    std::getline(in, o.api_key);
    o.api_key = std::string(core::trim(o.api_key));
  }
  o.connect_timeout_ms = f.connect_timeout_ms;
  o.first_token_timeout_ms = f.first_token_timeout_ms;
  o.total_timeout_ms = f.total_timeout_ms;
  o.breaker_failures = f.breaker_failures;
  o.breaker_open_ms = f.breaker_open_ms;
  o.max_concurrency = f.max_concurrency;
  if (auto v = llm::validate(o); !v) {
    return core::Error::invalid("model server settings: " + v.error().message);
  }
  return std::make_unique<llm::Client>(std::move(o), metrics);
}

}  // namespace libromind::cli
