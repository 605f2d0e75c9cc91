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

}  // namespace libromind::cli
