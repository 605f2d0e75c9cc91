// The embedding jobs (jobs/kinds.hpp): `embed_books` computes the vectors of a batch of books
// (enqueued with every catalogue write that changes a book's text, and by bulk uploads),
// `embed_stale` those of the whole catalogue that are missing or stale (enqueued by a
// command-line import and when `serve` starts). Both skip books whose stored vector is current,
// so running a job twice has the effect of running it once; what they write takes a change
// sequence, so every serving process's vector index picks it up from the change feed.
//
//   search::EmbedJobs embed(store, std::move(embedder), model_id);
//   jobs::Handlers handlers;
//   embed.register_handlers(handlers);
//   auto p = embed.progress();  // for /search/status and metrics
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>

#include "jobs/worker.hpp"
#include "ml/embedder.hpp"
#include "search/indexer.hpp"
#include "store/store.hpp"

namespace libromind::search {

// What this process's embedding jobs have done (other processes' work shows in the store's
// vector count, not here).
struct EmbedProgress {
  bool running = false;    // an embedding job runs now
  bool caught_up = false;  // an `embed_stale` pass finished in this process
  int64_t stale = 0;       // vectors to compute in the current (or last) catalogue pass
  int64_t embedded = 0;    // computed in that pass
  int64_t total_embedded = 0;
  double per_second = 0;  // total_embedded over the time spent embedding
  std::string error;      // the last failure ("" when fine)
};

class EmbedJobs {
 public:
  EmbedJobs(store::Store& store, std::unique_ptr<ml::SentenceEmbedder> embedder,
            std::string model_id, IndexerOptions options = {});

  void register_handlers(jobs::Handlers& handlers);
  const std::string& model_id() const { return indexer_.model_id(); }

  EmbedProgress progress() const;
  // Blocks until an `embed_stale` pass has finished here (or timeout); true when it has.
  bool wait_caught_up(std::chrono::milliseconds timeout) const;

  // The handlers (public for tests).
  core::Result<nlohmann::json> embed_books(jobs::JobContext& ctx);
  core::Result<nlohmann::json> embed_stale(jobs::JobContext& ctx);

 private:
  // Runs `fn` with the one embedder (jobs of this process take turns) and keeps the progress;
  // `pass`: a catalogue pass, whose counts /search/status shows.
  core::Result<IndexerStats> run(
      jobs::JobContext& ctx, bool pass,
      const std::function<core::Result<IndexerStats>(const std::atomic<bool>*,
                                                     const EmbeddingIndexer::Progress&)>& fn);

  // Jobs take turns with the one embedder, first come first served; a long catalogue pass
  // hands its turn to a waiting job after each batch, so a new book's job (and the worker slot
  // it holds) waits seconds behind it, not the whole pass.
  class Turns {
   public:
    void take();
    void give_back();
    bool others_waiting();

   private:
    std::mutex mu_;
    std::condition_variable cv_;
    uint64_t next_ = 0, serving_ = 0;
  };

  store::Store& store_;
  std::unique_ptr<ml::SentenceEmbedder> embedder_;
  EmbeddingIndexer indexer_;
  Turns turns_;
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  EmbedProgress progress_;
  int active_ = 0;  // jobs embedding now (taking turns)
  double seconds_embedding_ = 0;
};

}  // namespace libromind::search
