#include "search/background_embedder.hpp"

#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "search/documents.hpp"
#include "telemetry/log.hpp"

namespace libromind::search {

BackgroundEmbedder::BackgroundEmbedder(store::Store& store,
                                       std::unique_ptr<ml::SentenceEmbedder> embedder,
                                       std::string model_id, std::chrono::milliseconds poll,
                                       IndexerOptions options)
    : store_(store),
      embedder_(std::move(embedder)),
      indexer_(store, *embedder_, std::move(model_id), options),
      poll_(poll) {}

BackgroundEmbedder::~BackgroundEmbedder() { stop(); }

void BackgroundEmbedder::start() {
  thread_ = std::thread([this] { run(); });
}

void BackgroundEmbedder::stop() {
  stop_flag_ = true;
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

EmbedProgress BackgroundEmbedder::progress() const {
  std::lock_guard lock(mutex_);
  return progress_;
}

bool BackgroundEmbedder::wait_caught_up(std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mutex_);
  return cv_.wait_for(lock, timeout, [&] { return progress_.caught_up || stop_flag_; }) &&
         progress_.caught_up;
}

void BackgroundEmbedder::run() {
  // Below the request threads: serving comes first (Linux: per-thread nice value).
  setpriority(PRIO_PROCESS, static_cast<id_t>(syscall(SYS_gettid)), 10);
  const auto t0 = std::chrono::steady_clock::now();
  auto on_progress = [&](const IndexerStats& s) {
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::lock_guard lock(mutex_);
    progress_.running = true;
    progress_.stale = s.stale;
    progress_.total_embedded += s.embedded - progress_.embedded;
    progress_.embedded = s.embedded;
    progress_.per_second = secs > 0 ? static_cast<double>(progress_.total_embedded) / secs : 0;
  };
  int64_t seen_seq = 0;
  // The first pass: everything that is missing or stale.
  while (!stop_flag_) {
    int64_t start_seq = 0;
    if (auto conn = store_.acquire(store::Access::kRead); conn) {
      if (auto s = current_change_seq(**conn); s) start_seq = *s;
    }
    auto r = indexer_.run_full(&stop_flag_, on_progress);
    if (r) {
      telemetry::log_info("search_embeddings_caught_up", {{"model", indexer_.model_id()},
                                                          {"books", r->books},
                                                          {"embedded", r->embedded},
                                                          {"seconds", r->seconds}});
      std::lock_guard lock(mutex_);
      progress_.running = false;
      progress_.caught_up = !stop_flag_;
      progress_.error.clear();
      seen_seq = start_seq;
      cv_.notify_all();
      break;
    }
    telemetry::log_warn("search_embedding_failed", {{"error", r.error().message}});
    std::unique_lock lock(mutex_);
    progress_.error = r.error().message;
    cv_.wait_for(lock, std::chrono::seconds(2), [&] { return stop_flag_.load(); });
  }
  // Then whatever changes.
  while (!stop_flag_) {
    {
      std::unique_lock lock(mutex_);
      cv_.wait_for(lock, poll_, [&] { return stop_flag_.load(); });
    }
    if (stop_flag_) break;
    int64_t next = seen_seq;
    {
      std::lock_guard lock(mutex_);
      progress_.embedded = 0;
      progress_.stale = 0;
    }
    auto r = indexer_.run_changed(seen_seq, next, &stop_flag_, on_progress);
    std::lock_guard lock(mutex_);
    progress_.running = false;
    if (!r) {
      progress_.error = r.error().message;
      continue;
    }
    progress_.error.clear();
    seen_seq = next;
  }
}

}  // namespace libromind::search
