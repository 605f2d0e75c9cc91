#include "search/search_index.hpp"

#include <algorithm>

#include "core/crypto.hpp"
#include "core/text.hpp"
#include "search/documents.hpp"
#include "telemetry/log.hpp"

namespace libromind::search {
namespace {

constexpr int kPage = 1000;

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

SearchIndex::SearchIndex(store::Store& store, SearchIndexOptions options)
    : store_(store), options_(std::move(options)) {}

SearchIndex::~SearchIndex() { stop(); }

core::Result<void> SearchIndex::start() {
  // One file per store under the directory, so servers of different stores never share one.
  const std::string path =
      options_.dir.empty()
          ? ""
          : options_.dir + "/" + core::sha256_hex(store_.describe()).substr(0, 16) + "/lexical.db";
  LM_ASSIGN_OR_RETURN(lexical_, LexicalIndex::open(path, options_.weights));
  if (!options_.model_id.empty()) {
    if (options_.dim <= 0) return core::Error::invalid("search index: vector dimension not set");
    vectors_ = make_hnsw_index(options_.dim, options_.hnsw);
  }
  thread_ = std::thread([this] { run(); });
  return core::ok();
}

void SearchIndex::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void SearchIndex::poke() {
  {
    std::lock_guard lock(mutex_);
    poked_ = true;
  }
  cv_.notify_all();
}

bool SearchIndex::wait_ready(std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mutex_);
  return cv_.wait_for(lock, timeout, [&] {
    return stopping_ || (lexical_ready_ && (!vectors_ || dense_ready_));
  }) && !stopping_;
}

bool SearchIndex::wait_for(int64_t seq, std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mutex_);
  return cv_.wait_for(lock, timeout, [&] { return stopping_ || watermark_.load() >= seq; }) &&
         !stopping_;
}

SearchIndexStatus SearchIndex::status() const {
  SearchIndexStatus s;
  s.lexical_ready = lexical_ready_;
  s.dense_ready = dense_ready_;
  s.docs = doc_count();
  s.vectors = vectors_ ? vectors_->stats().vectors : 0;
  s.watermark = watermark_;
  std::lock_guard lock(mutex_);
  s.error = last_error_;
  return s;
}

int64_t SearchIndex::doc_count() const {
  std::shared_lock lock(attrs_mutex_);
  return doc_count_;
}

void SearchIndex::run() {
  auto record = [this](const core::Error& e, const char* what) {
    telemetry::log_error(what, {{"error", e.message}});
    std::lock_guard lock(mutex_);
    last_error_ = e.message;
  };
  // Build, retrying while the store is unreachable.
  for (;;) {
    {
      std::lock_guard lock(mutex_);
      if (stopping_) return;
    }
    auto r = build();
    if (r) break;
    record(r.error(), "search_index_build_failed");
    std::unique_lock lock(mutex_);
    cv_.wait_for(lock, std::chrono::seconds(1), [&] { return stopping_; });
  }
  for (;;) {
    {
      std::unique_lock lock(mutex_);
      cv_.wait_for(lock, options_.poll, [&] { return stopping_ || poked_; });
      if (stopping_) return;
      poked_ = false;
    }
    if (auto r = follow_once(); !r) {
      record(r.error(), "search_index_refresh_failed");
    } else {
      std::lock_guard lock(mutex_);
      last_error_.clear();
    }
  }
}

core::Result<void> SearchIndex::build() {
  const auto t0 = std::chrono::steady_clock::now();
  int64_t store_seq = 0;
  {
    LM_ASSIGN_OR_RETURN(auto conn, store_.acquire(store::Access::kRead));
    LM_ASSIGN_OR_RETURN(store_seq, current_change_seq(*conn));
  }
  // A lexical file of this store that is not ahead of it is caught up, not rebuilt.
  LM_ASSIGN_OR_RETURN(std::string owner, lexical_->meta("store"));
  LM_ASSIGN_OR_RETURN(std::string wm_text, lexical_->meta("watermark"));
  auto wm = core::parse_int(wm_text);
  bool reuse = owner == store_.describe() && wm && *wm <= store_seq;
  if (!reuse) LM_TRY(lexical_->clear());

  int64_t after = 0, docs = 0;
  for (;;) {
    std::vector<SearchDoc> page;
    {
      LM_ASSIGN_OR_RETURN(auto conn, store_.acquire(store::Access::kRead));
      LM_ASSIGN_OR_RETURN(page, load_docs_by_id(*conn, after, kPage));
    }
    if (page.empty()) break;
    apply_attrs(page);
    if (!reuse) LM_TRY(lexical_->upsert(page, LexicalIndex::TermCounts::deferred));
    after = page.back().id;
    docs += static_cast<int64_t>(page.size());
  }
  watermark_ = reuse ? *wm : store_seq;
  if (!reuse) LM_TRY(lexical_->recount_terms());
  if (reuse) {
    LM_TRY(follow_once());
    LM_ASSIGN_OR_RETURN(int64_t indexed, lexical_->count());
    if (indexed != docs) {  // not this store's file after all (recreated under the same name)
      telemetry::log_warn("search_index_snapshot_stale", {{"indexed", indexed}, {"books", docs}});
      LM_TRY(lexical_->set_meta("store", ""));
      return core::Error::unavailable("lexical snapshot did not match the store; rebuilding");
    }
  }
  LM_TRY(lexical_->set_meta("store", store_.describe()));
  LM_TRY(lexical_->set_meta("watermark", std::to_string(watermark_.load())));
  lexical_ready_ = true;
  cv_.notify_all();
  telemetry::log_info("search_lexical_ready", {{"books", docs},
                                               {"reused_snapshot", reuse},
                                               {"seconds", seconds_since(t0)},
                                               {"watermark", watermark_.load()}});
  if (!reuse) {
    // Searchable already; merging the bulk build's segments makes every later query cheaper.
    const auto t1 = std::chrono::steady_clock::now();
    LM_TRY(lexical_->optimize());
    telemetry::log_info("search_lexical_optimized", {{"seconds", seconds_since(t1)}});
  }
  if (vectors_) LM_TRY(load_vectors());
  return core::ok();
}

core::Result<void> SearchIndex::load_vectors() {
  const auto t0 = std::chrono::steady_clock::now();
  EmbeddingStore es(store_, options_.model_id);
  std::vector<int64_t> ids;
  std::vector<float> flat;
  int64_t seq = 0, book = 0;
  for (;;) {
    std::vector<StoredEmbedding> page;
    {
      LM_ASSIGN_OR_RETURN(auto conn, store_.acquire(store::Access::kRead));
      LM_ASSIGN_OR_RETURN(page, es.load_changed(*conn, seq, book, 5000));
    }
    if (page.empty()) break;
    for (auto& e : page) {
      if (static_cast<int32_t>(e.vector.size()) != options_.dim) continue;
      ids.push_back(e.book_id);
      flat.insert(flat.end(), e.vector.begin(), e.vector.end());
    }
    seq = page.back().change_seq;
    book = page.back().book_id;
  }
  const double read_seconds = seconds_since(t0);
  LM_TRY(vectors_->upsert(ids, flat));
  // Where the feed resumes: after the last row read (rows of one change sequence commit
  // together, so none can appear behind it later).
  vector_seq_ = seq;
  vector_book_ = book;
  dense_ready_ = true;
  cv_.notify_all();
  telemetry::log_info("search_dense_ready", {{"vectors", static_cast<int64_t>(ids.size())},
                                             {"model", options_.model_id},
                                             {"read_seconds", read_seconds},
                                             {"seconds", seconds_since(t0)}});
  return core::ok();
}

core::Result<void> SearchIndex::follow_once() {
  const int64_t from = watermark_;
  int64_t seq = 0;
  {
    LM_ASSIGN_OR_RETURN(auto conn, store_.acquire(store::Access::kRead));
    LM_ASSIGN_OR_RETURN(seq, current_change_seq(*conn));
    if (seq == from) return core::ok();
    // Deletes first: a book deleted and created again comes back with the upserts.
    LM_ASSIGN_OR_RETURN(auto tombs, load_tombstones(*conn, from));
    if (!tombs.empty()) {
      std::vector<std::string> ext;
      for (auto& t : tombs) ext.push_back(t.ext_id);
      LM_ASSIGN_OR_RETURN(auto removed, lexical_->remove(ext));
      if (vectors_) vectors_->remove(removed);
      remove_attrs(removed);
    }
  }
  int64_t after_seq = from, after_id = 0;
  for (;;) {
    std::vector<SearchDoc> page;
    {
      LM_ASSIGN_OR_RETURN(auto conn, store_.acquire(store::Access::kRead));
      LM_ASSIGN_OR_RETURN(page, load_docs_changed(*conn, after_seq, after_id, kPage));
    }
    if (page.empty()) break;
    LM_TRY(lexical_->upsert(page));
    apply_attrs(page);
    after_seq = page.back().change_seq;
    after_id = page.back().id;
  }
  if (vectors_ && dense_ready_) {
    EmbeddingStore es(store_, options_.model_id);
    int64_t vseq = vector_seq_, vbook = vector_book_;
    for (;;) {
      std::vector<StoredEmbedding> page;
      {
        LM_ASSIGN_OR_RETURN(auto conn, store_.acquire(store::Access::kRead));
        LM_ASSIGN_OR_RETURN(page, es.load_changed(*conn, vseq, vbook, 2000));
      }
      if (page.empty()) break;
      std::vector<int64_t> ids;
      std::vector<float> flat;
      bool behind = false;  // a vector of a book this round has not seen yet
      {
        std::shared_lock lock(attrs_mutex_);
        for (auto& e : page) {
          const bool present = e.book_id >= 0 && static_cast<size_t>(e.book_id) < attrs_.size() &&
                               attrs_[e.book_id].present;
          if (!present) {
            // The book was created after this round read the books (a vector row exists only
            // while its book does): stop here and resume from this row next round.
            behind = true;
            break;
          }
          if (static_cast<int32_t>(e.vector.size()) == options_.dim) {
            ids.push_back(e.book_id);
            flat.insert(flat.end(), e.vector.begin(), e.vector.end());
          }
          vseq = e.change_seq;
          vbook = e.book_id;
        }
      }
      LM_TRY(vectors_->upsert(ids, flat));
      vector_seq_ = vseq;
      vector_book_ = vbook;
      if (behind) break;
    }
  }
  watermark_ = seq;
  LM_TRY(lexical_->set_meta("watermark", std::to_string(seq)));
  cv_.notify_all();
  return core::ok();
}

int32_t SearchIndex::intern(std::unordered_map<std::string, int32_t>& map, const std::string& s) {
  auto [it, inserted] = map.emplace(s, static_cast<int32_t>(map.size()));
  return it->second;
}

void SearchIndex::apply_attrs(const std::vector<SearchDoc>& docs) {
  std::unique_lock lock(attrs_mutex_);
  for (const auto& d : docs) {
    if (d.id < 0) continue;
    if (static_cast<size_t>(d.id) >= attrs_.size()) attrs_.resize(d.id + 1);
    Attr& a = attrs_[d.id];
    if (!a.present) ++doc_count_;
    a.present = true;
    a.price_cents = d.price_cents;
    a.stock = d.stock;
    a.year = d.year ? *d.year : INT64_MIN;
    a.language = d.language ? intern(language_ids_, *d.language) : -1;
    a.genres.clear();
    for (const auto& g : d.genres) a.genres.push_back(intern(genre_ids_, g));
  }
}

void SearchIndex::remove_attrs(const std::vector<int64_t>& ids) {
  std::unique_lock lock(attrs_mutex_);
  for (int64_t id : ids) {
    if (id < 0 || static_cast<size_t>(id) >= attrs_.size() || !attrs_[id].present) continue;
    attrs_[id] = Attr{};
    --doc_count_;
  }
}

std::optional<AllowSet> SearchIndex::allow(const SearchFilters& f) const {
  if (!f.any()) return std::nullopt;
  std::shared_lock lock(attrs_mutex_);
  AllowSet set(static_cast<int64_t>(attrs_.size()));
  int32_t genre = -1, language = -1;
  if (f.genre) {
    auto it = genre_ids_.find(*f.genre);
    if (it == genre_ids_.end()) return set;
    genre = it->second;
  }
  if (f.language) {
    auto it = language_ids_.find(*f.language);
    if (it == language_ids_.end()) return set;
    language = it->second;
  }
  for (size_t id = 0; id < attrs_.size(); ++id) {
    const Attr& a = attrs_[id];
    if (!a.present) continue;
    if (f.in_stock && (*f.in_stock != (a.stock > 0))) continue;
    if (f.price_min && a.price_cents < *f.price_min) continue;
    if (f.price_max && a.price_cents > *f.price_max) continue;
    if ((f.year_min || f.year_max) && a.year == INT64_MIN) continue;
    if (f.year_min && a.year < *f.year_min) continue;
    if (f.year_max && a.year > *f.year_max) continue;
    if (language >= 0 && a.language != language) continue;
    if (genre >= 0 && std::find(a.genres.begin(), a.genres.end(), genre) == a.genres.end()) {
      continue;
    }
    set.allow(static_cast<int64_t>(id));
  }
  return set;
}

}  // namespace libromind::search
