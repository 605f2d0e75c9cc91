// Computes the embeddings the store is missing: every book whose vector for this model is
// absent or was computed from a different text (title, authors, genres, description). Used by
// `libromind index` and by the serving process's background embedder, which first catches up
// with the whole catalogue and then embeds new or changed books as the change feed shows them.
//
//   search::EmbeddingIndexer indexer(store, embedder, model_id);
//   LM_ASSIGN_OR_RETURN(auto stats, indexer.run_full(&stop, [](const IndexerStats& s) {...}));
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>

#include "core/result.hpp"
#include "ml/embedder.hpp"
#include "search/embedding_store.hpp"
#include "store/store.hpp"

namespace libromind::search {

struct IndexerStats {
  int64_t books = 0;       // books looked at
  int64_t up_to_date = 0;  // whose stored vector was current
  int64_t stale = 0;       // needing a vector (missing or computed from another text)
  int64_t embedded = 0;    // vectors written so far
  double seconds = 0;
};

struct IndexerOptions {
  int batch = 64;        // texts per embedding call and per write transaction
  int scan_page = 1000;  // books read per store query while looking for stale vectors
};

// The model id stored with book vectors: the weights' identity (ml::model_id) and the
// truncation the book texts were embedded with ("embedder-53aa51172d142c89-t128"), so vectors
// of another model or another truncation are never mixed with them.
core::Result<std::string> book_vector_model_id(const std::string& model_dir, int max_tokens);

class EmbeddingIndexer {
 public:
  using Progress = std::function<void(const IndexerStats&)>;

  EmbeddingIndexer(store::Store& store, ml::SentenceEmbedder& embedder, std::string model_id,
                   IndexerOptions options = {})
      : store_(store),
        embedder_(embedder),
        vectors_(store, std::move(model_id)),
        options_(options) {}

  // Scans the whole catalogue and embeds what is stale. Stops early (ok, partial stats) when
  // *stop becomes true; `progress` is called after every written batch.
  core::Result<IndexerStats> run_full(const std::atomic<bool>* stop = nullptr,
                                      const Progress& progress = {});
  // The same for books changed after `after_seq` (the change feed's catch-up); returns the
  // highest book change_seq it looked at in `seen_seq`.
  core::Result<IndexerStats> run_changed(int64_t after_seq, int64_t& seen_seq,
                                         const std::atomic<bool>* stop = nullptr,
                                         const Progress& progress = {});

  // The same for the given books (a job's batch): embeds those whose vector is missing or
  // stale. `finish` runs inside the transaction of the last write, or in one of its own when
  // nothing needed a vector, so a job's bookkeeping commits with its effect. Interrupted by
  // *stop, it fails with kUnavailable (the job is run again; what was written stays current).
  using TxStep = std::function<core::Result<void>(store::Connection&)>;
  core::Result<IndexerStats> run_ids(const std::vector<int64_t>& ids,
                                     const std::atomic<bool>* stop = nullptr,
                                     const Progress& progress = {}, const TxStep& finish = {});

  const std::string& model_id() const { return vectors_.model_id(); }

 private:
  core::Result<void> embed_ids(const std::vector<int64_t>& ids, IndexerStats& stats,
                               const std::atomic<bool>* stop, const Progress& progress,
                               const TxStep& finish = {});

  store::Store& store_;
  ml::SentenceEmbedder& embedder_;
  EmbeddingStore vectors_;
  IndexerOptions options_;
};

}  // namespace libromind::search
