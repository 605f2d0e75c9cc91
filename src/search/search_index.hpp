// The derived search indexes of one serving process: the lexical index (FTS5 file), the
// vector index (HNSW snapshots) and the books' filter attributes (genres, language, year,
// price, stock), built from the store at start and kept fresh from its change sequence by one
// background thread. The lexical file is reused at the next start when it belongs to the same
// store and is not ahead of it; otherwise it is rebuilt. Losing the index directory loses
// nothing.
//
//   search::SearchIndex index(store, {.dir = "var/index", .model_id = id, .dim = 384});
//   LM_TRY(index.start());
//   index.wait_ready(std::chrono::seconds(60));
//   auto allow = index.allow(filters);  // nullopt when no filter is set
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "core/result.hpp"
#include "search/embedding_store.hpp"
#include "search/lexical_index.hpp"
#include "search/vector_index.hpp"
#include "store/store.hpp"

namespace libromind::search {

struct SearchFilters {
  std::optional<std::string> genre;     // exact genre name
  std::optional<std::string> language;  // language code
  std::optional<int64_t> year_min, year_max;
  std::optional<int64_t> price_min, price_max;  // cents
  std::optional<bool> in_stock;
  bool any() const {
    return genre || language || year_min || year_max || price_min || price_max || in_stock;
  }
};

struct SearchIndexOptions {
  std::string dir;       // where the lexical file lives ("" = a private temporary file)
  std::string model_id;  // book vectors to load ("" = no dense index)
  int32_t dim = 0;
  HnswOptions hnsw;
  FieldWeights weights;
  std::chrono::milliseconds poll{250};  // how often the store's change sequence is read
};

struct SearchIndexStatus {
  bool lexical_ready = false;
  bool dense_ready = false;
  int64_t docs = 0;
  int64_t vectors = 0;
  int64_t watermark = -1;  // the change sequence the indexes reflect
  std::string error;       // the last refresh failure ("" when fine)
};

class SearchIndex {
 public:
  SearchIndex(store::Store& store, SearchIndexOptions options);
  ~SearchIndex();
  SearchIndex(const SearchIndex&) = delete;
  SearchIndex& operator=(const SearchIndex&) = delete;

  // Opens the lexical file and starts the background builder/follower.
  core::Result<void> start();
  void stop();
  // Wakes the follower now (after a write in this process).
  void poke();
  // Waits until both indexes are built (or `timeout`); true when ready.
  bool wait_ready(std::chrono::milliseconds timeout) const;
  // Waits until the indexes reflect change sequence `seq` (or `timeout`).
  bool wait_for(int64_t seq, std::chrono::milliseconds timeout) const;

  SearchIndexStatus status() const;
  bool lexical_ready() const { return lexical_ready_.load(); }
  bool dense_ready() const { return dense_ready_.load(); }
  const LexicalIndex& lexical() const { return *lexical_; }
  const VectorIndex* vectors() const { return vectors_.get(); }
  const std::string& model_id() const { return options_.model_id; }

  // The books the filters allow (nullopt when no filter is set). Unknown genres or languages
  // allow nothing.
  std::optional<AllowSet> allow(const SearchFilters& filters) const;
  // Books that are in the index (lexical side).
  int64_t doc_count() const;

 private:
  struct Attr {
    bool present = false;
    int64_t price_cents = 0;
    int64_t stock = 0;
    int64_t year = INT64_MIN;  // INT64_MIN: unknown
    int32_t language = -1;
    std::vector<int32_t> genres;
  };

  void run();
  core::Result<void> build();
  core::Result<void> follow_once();
  core::Result<void> load_vectors();
  void apply_attrs(const std::vector<SearchDoc>& docs);
  void remove_attrs(const std::vector<int64_t>& ids);
  int32_t intern(std::unordered_map<std::string, int32_t>& map, const std::string& s);

  store::Store& store_;
  SearchIndexOptions options_;
  std::unique_ptr<LexicalIndex> lexical_;
  std::unique_ptr<VectorIndex> vectors_;
  std::atomic<bool> lexical_ready_{false};
  std::atomic<bool> dense_ready_{false};
  std::atomic<int64_t> watermark_{-1};
  std::atomic<int64_t> vector_seq_{0};   // embeddings applied up to this change sequence
  std::atomic<int64_t> vector_book_{0};  // and, within it, up to this book

  mutable std::shared_mutex attrs_mutex_;  // held only while applying in-memory changes
  std::vector<Attr> attrs_;
  std::unordered_map<std::string, int32_t> genre_ids_;
  std::unordered_map<std::string, int32_t> language_ids_;
  int64_t doc_count_ = 0;

  mutable std::mutex mutex_;
  mutable std::condition_variable cv_;  // progress (readiness, watermark) and wake-ups
  bool stopping_ = false;
  bool poked_ = false;
  std::string last_error_;
  std::thread thread_;
};

}  // namespace libromind::search
