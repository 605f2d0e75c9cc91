#include "search/indexer.hpp"

#include <chrono>
#include <unordered_map>

#include "ml/model_files.hpp"
#include "search/documents.hpp"

namespace libromind::search {
namespace {

bool stopped(const std::atomic<bool>* stop) {
  return stop && stop->load(std::memory_order_relaxed);
}

// Counts each book as up to date (its stored vector has the hash of its current text) or
// adds it to `stale`.
void sort_out(const std::vector<SearchDoc>& docs,
              const std::unordered_map<int64_t, std::string>& hashes, IndexerStats& stats,
              std::vector<int64_t>& stale) {
  for (const auto& d : docs) {
    ++stats.books;
    auto it = hashes.find(d.id);
    if (it != hashes.end() && it->second == embedding_text_hash(d)) {
      ++stats.up_to_date;
    } else {
      stale.push_back(d.id);
    }
  }
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

core::Result<std::string> book_vector_model_id(const std::string& model_dir, int max_tokens) {
  LM_ASSIGN_OR_RETURN(std::string id, ml::model_id(model_dir));
  return id + "-t" + std::to_string(max_tokens);
}

core::Result<IndexerStats> EmbeddingIndexer::run_full(const std::atomic<bool>* stop,
                                                      const Progress& progress) {
  const auto t0 = std::chrono::steady_clock::now();
  IndexerStats stats;
  LM_ASSIGN_OR_RETURN(auto hashes, vectors_.load_hashes());
  std::vector<int64_t> stale;
  int64_t after = 0;
  for (;;) {
    if (stopped(stop)) return stats;
    LM_ASSIGN_OR_RETURN(auto conn, store_.acquire(store::Access::kRead));
    LM_ASSIGN_OR_RETURN(auto docs, load_docs_by_id(*conn, after, options_.scan_page));
    if (docs.empty()) break;
    sort_out(docs, hashes, stats, stale);
    after = docs.back().id;
  }
  stats.stale = static_cast<int64_t>(stale.size());
  if (progress) progress(stats);
  LM_TRY(embed_ids(stale, stats, stop, progress));
  stats.seconds = seconds_since(t0);
  return stats;
}

core::Result<IndexerStats> EmbeddingIndexer::run_changed(int64_t after_seq, int64_t& seen_seq,
                                                         const std::atomic<bool>* stop,
                                                         const Progress& progress) {
  const auto t0 = std::chrono::steady_clock::now();
  IndexerStats stats;
  seen_seq = after_seq;
  std::vector<int64_t> changed;
  std::vector<SearchDoc> docs_changed;
  int64_t after_id = 0;
  for (;;) {
    LM_ASSIGN_OR_RETURN(auto conn, store_.acquire(store::Access::kRead));
    LM_ASSIGN_OR_RETURN(auto docs,
                        load_docs_changed(*conn, seen_seq, after_id, options_.scan_page));
    if (docs.empty()) break;
    for (auto& d : docs) changed.push_back(d.id);
    seen_seq = docs.back().change_seq;
    after_id = docs.back().id;
    for (auto& d : docs) docs_changed.push_back(std::move(d));
  }
  if (docs_changed.empty()) return stats;
  std::vector<int64_t> stale;
  {
    LM_ASSIGN_OR_RETURN(auto conn, store_.acquire(store::Access::kRead));
    LM_ASSIGN_OR_RETURN(auto stored, vectors_.load(*conn, changed));
    std::unordered_map<int64_t, std::string> hashes;
    for (auto& e : stored) hashes.emplace(e.book_id, std::move(e.text_hash));
    sort_out(docs_changed, hashes, stats, stale);
  }
  stats.stale = static_cast<int64_t>(stale.size());
  LM_TRY(embed_ids(stale, stats, stop, progress));
  stats.seconds = seconds_since(t0);
  return stats;
}

core::Result<IndexerStats> EmbeddingIndexer::run_ids(const std::vector<int64_t>& ids,
                                                     const std::atomic<bool>* stop,
                                                     const Progress& progress,
                                                     const TxStep& finish) {
  const auto t0 = std::chrono::steady_clock::now();
  IndexerStats stats;
  std::vector<int64_t> stale;
  {
    LM_ASSIGN_OR_RETURN(auto conn, store_.acquire(store::Access::kRead));
    LM_ASSIGN_OR_RETURN(auto docs, load_docs(*conn, ids));
    LM_ASSIGN_OR_RETURN(auto stored, vectors_.load(*conn, ids));
    std::unordered_map<int64_t, std::string> hashes;
    for (auto& e : stored) hashes.emplace(e.book_id, std::move(e.text_hash));
    sort_out(docs, hashes, stats, stale);
  }
  stats.stale = static_cast<int64_t>(stale.size());
  LM_TRY(embed_ids(stale, stats, stop, progress, finish));
  if (stopped(stop)) return core::Error::unavailable("stopped before every vector was written");
  stats.seconds = seconds_since(t0);
  return stats;
}

core::Result<void> EmbeddingIndexer::embed_ids(const std::vector<int64_t>& ids, IndexerStats& stats,
                                               const std::atomic<bool>* stop,
                                               const Progress& progress, const TxStep& finish) {
  const size_t batch = static_cast<size_t>(std::max(1, options_.batch));
  bool finished = false;
  for (size_t start = 0; start < ids.size(); start += batch) {
    if (stopped(stop)) return core::ok();
    std::vector<int64_t> slice(ids.begin() + start,
                               ids.begin() + std::min(ids.size(), start + batch));
    std::vector<SearchDoc> docs;
    {
      LM_ASSIGN_OR_RETURN(auto conn, store_.acquire(store::Access::kRead));
      LM_ASSIGN_OR_RETURN(docs, load_docs(*conn, slice));
    }
    const bool last = start + batch >= ids.size();
    if (docs.empty()) continue;  // deleted meanwhile
    std::vector<std::string> texts;
    texts.reserve(docs.size());
    for (const auto& d : docs) texts.push_back(embedding_text(d));
    LM_ASSIGN_OR_RETURN(auto vectors, embedder_.embed(texts));
    std::vector<StoredEmbedding> rows;
    rows.reserve(docs.size());
    for (size_t i = 0; i < docs.size(); ++i) {
      rows.push_back({docs[i].id, embedding_text_hash(docs[i]), std::move(vectors[i]), 0});
    }
    LM_TRY(vectors_.write(rows, last ? finish : TxStep{}));
    finished = finished || (last && finish);
    stats.embedded += static_cast<int64_t>(rows.size());
    if (progress) progress(stats);
  }
  if (finish && !finished && !stopped(stop)) LM_TRY(store::with_transaction(store_, finish));
  return core::ok();
}

}  // namespace libromind::search
