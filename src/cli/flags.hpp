// Flags shared by several subcommands: where the store is (and the log level), and where the
// ML engine's models are with its thread and batch settings. Each flag has a LIBROMIND_* twin.
#pragma once

#include <CLI/CLI.hpp>
#include <memory>
#include <string>

#include "core/result.hpp"
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

// Configuration errors end the process with one clear line on stderr (exit status 2).
int fail(const std::string& message);

}  // namespace libromind::cli
