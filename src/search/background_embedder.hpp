// The serving process's embedder: at start it computes the vectors the store is missing (the
// whole catalogue on a first run, nothing on later ones), then embeds new and changed books as
// the change sequence moves. It runs on its own thread at a lower priority, so lexical search
// is served at once while the vectors are computed; its progress is exposed for /search/status
// and metrics. With several replicas, each may run one (writes are idempotent upserts); the
// jobs issue moves this work to a queue.
//
//   search::BackgroundEmbedder bg(store, std::move(embedder), model_id);
//   bg.start();
//   auto p = bg.progress();  // {running, stale, embedded, per_second}
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "ml/embedder.hpp"
#include "search/indexer.hpp"
#include "store/store.hpp"

namespace libromind::search {

struct EmbedProgress {
  bool running = false;    // catching up now
  bool caught_up = false;  // the first full pass finished
  int64_t stale = 0;       // vectors to compute in the current pass
  int64_t embedded = 0;    // computed in the current pass
  int64_t total_embedded = 0;
  double per_second = 0;
  std::string error;  // the last failure ("" when fine)
};

class BackgroundEmbedder {
 public:
  BackgroundEmbedder(store::Store& store, std::unique_ptr<ml::SentenceEmbedder> embedder,
                     std::string model_id, std::chrono::milliseconds poll = std::chrono::seconds(1),
                     IndexerOptions options = {});
  ~BackgroundEmbedder();

  void start();
  void stop();
  EmbedProgress progress() const;
  // Blocks until the first full pass is done (or timeout); true when it is.
  bool wait_caught_up(std::chrono::milliseconds timeout) const;

 private:
  void run();

  store::Store& store_;
  std::unique_ptr<ml::SentenceEmbedder> embedder_;
  EmbeddingIndexer indexer_;
  std::chrono::milliseconds poll_;
  std::atomic<bool> stop_flag_{false};
  mutable std::mutex mutex_;
  mutable std::condition_variable cv_;
  EmbedProgress progress_;
  std::thread thread_;
};

}  // namespace libromind::search
