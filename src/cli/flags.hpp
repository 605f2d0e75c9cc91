// Flags shared by several subcommands: where the store is (and the log level), and where the
// ML engine's models are with its thread and batch settings. Each flag has a LIBROMIND_* twin.
#pragma once

#include <CLI/CLI.hpp>
#include <memory>
#include <string>

#include "core/result.hpp"
#include "llm/client.hpp"
#include "ml/bert.hpp"
#include "store/store.hpp"

namespace libromind::cli {

struct StoreFlags {
  std::string database_url = "sqlite://var/libromind.db";
  std::string database_url_file;
  int pool_size = 8;
  int busy_timeout_ms = 5000;
  std::string log_level = "info";
};

void add_store_flags(CLI::App& cmd, StoreFlags& f);
// Sets the log level and opens the store the flags name.
core::Result<std::unique_ptr<store::Store>> open_store(StoreFlags& f);

// All cores up to four: a single query splits its matrix products across them.
int default_threads();

struct MlFlags {
  std::string model_dir;
  int threads = default_threads();
  int batch_size = 32;
};

std::string default_model_dir();
void add_ml_flags(CLI::App& cmd, MlFlags& f);
ml::EncoderOptions encoder_options(const MlFlags& f);

// The model server for the LLM stages and the explanations. No URL: none (those stages are
// degraded, recommendations explain nothing).
struct LlmFlags {
  std::string url;
  std::string api = "openai";
  std::string model;
  std::string api_key_file;  // the key itself never on the command line
  int64_t connect_timeout_ms = 2000;
  int64_t first_token_timeout_ms = 20000;
  int64_t total_timeout_ms = 120000;
  int breaker_failures = 3;
  int64_t breaker_open_ms = 30000;
  int max_concurrency = 2;
};

void add_llm_flags(CLI::App& cmd, LlmFlags& f);
// The client the flags describe, or null without --llm-url; a bad setting is an error.
core::Result<std::unique_ptr<llm::Client>> make_llm_client(const LlmFlags& f,
                                                           telemetry::Registry* metrics);

// Configuration errors end the process with one clear line on stderr (exit status 2).
int fail(const std::string& message);

}  // namespace libromind::cli
