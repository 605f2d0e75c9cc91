// The store-backed search indexes on both stores: built from the catalogue and the stored
// embeddings (fake vectors: this is about indexing, not the model), filters, admin writes and
// deletes followed from the change sequence, embeddings written later, and the lexical file
// reused at a restart or rebuilt when it is not this store's.
#include "search/search_index.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <random>

#include "catalog/catalog_admin.hpp"
#include "search/embedding_store.hpp"
#include "search_fixture.hpp"

namespace libromind::search {
namespace {

using namespace std::chrono_literals;
using testing::Backend;
using testing::find_file;
using testing::kBookCount;
using Exts = std::set<std::string>;

constexpr int32_t kDim = 16;
constexpr const char* kModel = "fake-model-t128";

VectorSearchOptions opts(int k, const AllowSet* allow = nullptr) {
  VectorSearchOptions o;
  o.k = k;
  o.allow = allow;
  return o;
}

// A fixed unit vector per (book, version): far from the other books' (random in 16 dims).
std::vector<float> fake_vector(int64_t book_id, int version = 0) {
  std::mt19937 rng(static_cast<uint32_t>(book_id * 7919 + version * 104729 + 1));
  std::normal_distribution<float> n(0.0f, 1.0f);
  std::vector<float> v(kDim);
  double norm = 0;
  for (float& x : v) {
    x = n(rng);
    norm += static_cast<double>(x) * x;
  }
  for (float& x : v) x = static_cast<float>(x / std::sqrt(norm));
  return v;
}

class SearchIndexTest : public testing::SearchStoreTest {
 protected:
  void reset_services() override { index_.reset(); }

  // Writes fake vectors for the given books (all when empty); returns the change sequence.
  int64_t write_vectors(const std::vector<std::string>& books = {}, int version = 0) {
    std::vector<StoredEmbedding> batch;
    for (const auto& [e, id] : pks()) {
      if (!books.empty() && std::find(books.begin(), books.end(), e) == books.end()) continue;
      batch.push_back({id, "hash-" + std::to_string(version), fake_vector(id, version), 0});
    }
    EmbeddingStore es(*store_, kModel);
    auto seq = es.write(batch);
    EXPECT_TRUE(seq) << seq.error().message;
    return seq ? *seq : -1;
  }

  SearchIndexOptions options(bool dense = true) {
    SearchIndexOptions o;
    o.dir = tmp_.str() + "/index";
    if (dense) {
      o.model_id = kModel;
      o.dim = kDim;
    }
    o.poll = 20ms;
    return o;
  }

  void start(SearchIndexOptions o) {
    index_ = std::make_unique<SearchIndex>(*store_, std::move(o));
    auto r = index_->start();
    ASSERT_TRUE(r) << r.error().message;
    ASSERT_TRUE(index_->wait_ready(20s)) << index_->status().error;
  }
  void start() { start(options()); }

  // Waits (at most 2 s, the freshness the service promises) until the index reflects `seq`.
  void expect_caught_up(int64_t seq) {
    const auto t0 = std::chrono::steady_clock::now();
    index_->poke();
    ASSERT_TRUE(index_->wait_for(seq, 2s))
        << "watermark " << index_->status().watermark << " < " << seq;
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 2s);
  }

  Exts lexical(const std::vector<std::string>& terms) {
    auto r = index_->lexical().search({terms, {}, 100});
    EXPECT_TRUE(r) << r.error().message;
    std::vector<int64_t> ids;
    if (r) {
      for (const auto& h : *r) ids.push_back(h.id);
    }
    return exts(ids);
  }

  // The best dense hit for a vector.
  std::string nearest(const std::vector<float>& q, const AllowSet* allow = nullptr) {
    auto hits = index_->vectors()->search(q.data(), opts(1, allow));
    return hits.empty() ? "" : ext(hits[0].id);
  }
  Exts dense_all(const std::vector<float>& q) {
    std::vector<int64_t> ids;
    for (const auto& h : index_->vectors()->search(q.data(), opts(100))) ids.push_back(h.id);
    return exts(ids);
  }

  Exts allowed(const SearchFilters& f) {
    auto set = index_->allow(f);
    EXPECT_TRUE(set.has_value());
    Exts out;
    if (!set) return out;
    for (const auto& [e, id] : pks()) {
      if (set->allowed(id)) out.insert(e);
    }
    EXPECT_EQ(static_cast<size_t>(set->count()), out.size());
    return out;
  }

  std::unique_ptr<SearchIndex> index_;
};

TEST_P(SearchIndexTest, it_is_built_from_the_catalogue_and_the_stored_vectors) {
  write_vectors();
  start();
  const auto st = index_->status();
  EXPECT_TRUE(st.lexical_ready);
  EXPECT_TRUE(st.dense_ready);
  EXPECT_EQ(st.docs, kBookCount);
  EXPECT_EQ(st.vectors, kBookCount);
  EXPECT_EQ(st.watermark, change_seq());
  EXPECT_EQ(st.error, "");
  EXPECT_EQ(index_->doc_count(), kBookCount);
  EXPECT_EQ(lexical({"whale"}), Exts{"s-1"});
  EXPECT_EQ(lexical({"austen"}), (Exts{"s-6", "s-7"}));
  EXPECT_EQ(lexical({"gothic"}), (Exts{"s-3", "s-10", "s-14"}));  // genres are indexed
  for (const auto& [e, id] : pks()) EXPECT_EQ(nearest(fake_vector(id)), e);
  std::vector<float> got;
  ASSERT_TRUE(index_->vectors()->get(pk("s-4"), got));
  EXPECT_EQ(got, fake_vector(pk("s-4")));
}

TEST_P(SearchIndexTest, without_a_model_there_is_only_the_lexical_index) {
  write_vectors();
  start(options(/*dense=*/false));
  EXPECT_EQ(index_->vectors(), nullptr);
  EXPECT_FALSE(index_->dense_ready());
  EXPECT_TRUE(index_->lexical_ready());
  EXPECT_EQ(lexical({"vampire"}), Exts{"s-10"});
  EXPECT_EQ(index_->status().vectors, 0);
}

TEST_P(SearchIndexTest, a_model_without_a_dimension_is_refused) {
  auto o = options();
  o.dim = 0;
  index_ = std::make_unique<SearchIndex>(*store_, o);
  auto r = index_->start();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, core::ErrorCode::kInvalidArgument);
}

TEST_P(SearchIndexTest, vectors_of_another_model_or_dimension_are_not_loaded) {
  EmbeddingStore other(*store_, "other-model");
  ASSERT_TRUE(other.write({{pk("s-1"), "h", fake_vector(pk("s-1")), 0}}));
  EmbeddingStore same(*store_, kModel);
  ASSERT_TRUE(same.write({{pk("s-2"), "h", std::vector<float>(kDim / 2, 0.25f), 0},
                          {pk("s-3"), "h", fake_vector(pk("s-3")), 0}}));
  start();
  EXPECT_EQ(index_->status().vectors, 1);
  EXPECT_EQ(nearest(fake_vector(pk("s-1"))), "s-3");  // the only vector there is
  std::vector<float> got;
  EXPECT_FALSE(index_->vectors()->get(pk("s-1"), got));
  EXPECT_FALSE(index_->vectors()->get(pk("s-2"), got));
}

TEST_P(SearchIndexTest, filters_select_books_by_their_attributes) {
  start();
  EXPECT_FALSE(index_->allow({}).has_value());  // no filter: every book
  SearchFilters f;
  f.genre = "Horror";
  EXPECT_EQ(allowed(f), (Exts{"s-3", "s-10", "s-14"}));
  f = {};
  f.genre = "horror";  // exact genre names
  EXPECT_TRUE(allowed(f).empty());
  f = {};
  f.genre = "No Such Genre";
  EXPECT_TRUE(allowed(f).empty());
  f = {};
  f.in_stock = false;
  EXPECT_EQ(allowed(f), (Exts{"s-2", "s-7", "s-15", "s-20"}));
  f.in_stock = true;
  EXPECT_EQ(allowed(f).size(), 16u);
  EXPECT_FALSE(allowed(f).count("s-2"));
  f = {};
  f.price_min = 1000;
  EXPECT_EQ(allowed(f), (Exts{"s-1", "s-4", "s-5", "s-16"}));
  f.price_max = 1200;  // bounds are inclusive
  EXPECT_EQ(allowed(f), (Exts{"s-1", "s-16"}));
  f = {};
  f.price_max = 400;
  EXPECT_EQ(allowed(f), (Exts{"s-11", "s-12", "s-13"}));
  f = {};
  f.year_min = 1895;
  f.year_max = 1905;
  EXPECT_EQ(allowed(f), (Exts{"s-3", "s-9", "s-10", "s-15", "s-18", "s-20"}));
  f = {};
  f.year_max = 1830;  // a book without a year never passes a year filter
  EXPECT_EQ(allowed(f), (Exts{"s-6", "s-7", "s-12", "s-14"}));
  f = {};
  f.language = "fr";
  EXPECT_EQ(allowed(f), (Exts{"s-4", "s-8", "s-16"}));
  f.language = "xx";
  EXPECT_TRUE(allowed(f).empty());
  f = {};
  f.genre = "Sea Stories";
  f.language = "en";
  f.in_stock = true;
  EXPECT_EQ(allowed(f), (Exts{"s-1", "s-17"}));
}

TEST_P(SearchIndexTest, filtered_vector_search_returns_only_allowed_books) {
  write_vectors();
  start();
  SearchFilters f;
  f.genre = "Horror";
  auto allow = index_->allow(f);
  ASSERT_TRUE(allow);
  const auto hits = index_->vectors()->search(fake_vector(pk("s-1")).data(), opts(10, &*allow));
  std::vector<int64_t> ids;
  for (const auto& h : hits) ids.push_back(h.id);
  EXPECT_EQ(exts(ids), (Exts{"s-3", "s-10", "s-14"}));
  EXPECT_EQ(nearest(fake_vector(pk("s-10")), &*allow), "s-10");
}

TEST_P(SearchIndexTest, an_admin_patch_is_seen_by_the_filters_within_two_seconds) {
  start();
  catalog::CatalogAdmin admin(*store_);
  ASSERT_TRUE(admin.patch("s-6", {.price_cents = 5000, .stock = 0}));
  expect_caught_up(change_seq());
  SearchFilters f;
  f.in_stock = false;
  EXPECT_TRUE(allowed(f).count("s-6"));
  f = {};
  f.price_min = 4000;
  EXPECT_EQ(allowed(f), Exts{"s-6"});
  EXPECT_EQ(index_->doc_count(), kBookCount);
}

TEST_P(SearchIndexTest, an_admin_replace_is_searchable_within_two_seconds) {
  start();
  catalog::CatalogAdmin admin(*store_);
  auto r = admin.replace("s-5", nlohmann::json::parse(R"({"title": "Comets and Meteors",
      "authors": ["Hale, Simon"], "description": "Shooting stars explained.",
      "genres": ["Astronomy"], "year": 1921, "language": "en", "price_cents": 1500,
      "stock": 2})"),
                         nullptr);
  ASSERT_TRUE(r) << r.error().message;
  expect_caught_up(change_seq());
  EXPECT_EQ(lexical({"comets"}), Exts{"s-5"});
  EXPECT_TRUE(lexical({"telescopes"}).empty());  // the old description is gone
  SearchFilters f;
  f.genre = "Astronomy";
  EXPECT_EQ(allowed(f), Exts{"s-5"});
  f.genre = "Science";
  EXPECT_EQ(allowed(f), Exts{"s-11"});
  auto sug = index_->lexical().suggest({"comet"}, 5);
  ASSERT_TRUE(sug);
  ASSERT_EQ(sug->size(), 1u);
  EXPECT_EQ((*sug)[0].ext_id, "s-5");
}

TEST_P(SearchIndexTest, a_created_book_is_searchable_within_two_seconds) {
  start();
  catalog::CatalogAdmin admin(*store_);
  auto id = admin.create(nlohmann::json::parse(R"({"id": "s-new", "title": "Lighthouse Keeper",
      "authors": ["Rowe, Ann"], "description": "A lonely winter on a rock.",
      "genres": ["Sea Stories"], "language": "en", "price_cents": 100, "stock": 1})"),
                         nullptr);
  ASSERT_TRUE(id) << id.error().message;
  expect_caught_up(change_seq());
  ASSERT_EQ(lexical({"lighthouse"}).size(), 1u);
  EXPECT_EQ(index_->doc_count(), kBookCount + 1);
  SearchFilters f;
  f.price_max = 100;
  auto allow = index_->allow(f);
  ASSERT_TRUE(allow);
  EXPECT_EQ(allow->count(), 1);
}

TEST_P(SearchIndexTest, a_deleted_book_disappears_from_lexical_and_vector_search) {
  write_vectors();
  start();
  const int64_t moby = pk("s-1");
  ASSERT_EQ(nearest(fake_vector(moby)), "s-1");
  catalog::CatalogAdmin admin(*store_);
  ASSERT_TRUE(admin.remove("s-1"));
  expect_caught_up(change_seq());
  EXPECT_TRUE(lexical({"whale"}).empty());
  EXPECT_FALSE(dense_all(fake_vector(moby)).count("s-1"));
  std::vector<float> got;
  EXPECT_FALSE(index_->vectors()->get(moby, got));
  EXPECT_EQ(index_->status().vectors, kBookCount - 1);
  EXPECT_EQ(index_->doc_count(), kBookCount - 1);
  SearchFilters f;
  f.genre = "Sea Stories";
  EXPECT_FALSE(allowed(f).count("s-1"));
  auto sug = index_->lexical().suggest({"moby"}, 5);
  ASSERT_TRUE(sug);
  EXPECT_TRUE(sug->empty());
}

TEST_P(SearchIndexTest, a_book_deleted_and_created_again_is_found_once_under_its_new_key) {
  write_vectors();
  start();
  const int64_t old_id = pk("s-1");
  catalog::CatalogAdmin admin(*store_);
  ASSERT_TRUE(admin.remove("s-1"));
  auto id = admin.create(nlohmann::json::parse(R"({"id": "s-1", "title": "Moby Dick",
      "authors": ["Melville, Herman"], "description": "The white whale again.",
      "genres": ["Sea Stories"], "language": "en", "price_cents": 1200, "stock": 5})"),
                         nullptr);
  ASSERT_TRUE(id) << id.error().message;
  expect_caught_up(change_seq());
  auto r = index_->lexical().search({{"whale"}, {}, 10});
  ASSERT_TRUE(r);
  ASSERT_EQ(r->size(), 1u);
  EXPECT_NE((*r)[0].id, old_id);
  std::vector<float> got;
  EXPECT_FALSE(index_->vectors()->get(old_id, got));
  EXPECT_EQ(index_->doc_count(), kBookCount);
}

TEST_P(SearchIndexTest, embeddings_written_after_the_start_reach_vector_search) {
  write_vectors({"s-1", "s-2", "s-3"});
  start();
  EXPECT_EQ(index_->status().vectors, 3);
  const int64_t seq = write_vectors({"s-4", "s-5"});
  expect_caught_up(seq);
  EXPECT_EQ(index_->status().vectors, 5);
  EXPECT_EQ(nearest(fake_vector(pk("s-4"))), "s-4");
  EXPECT_EQ(nearest(fake_vector(pk("s-5"))), "s-5");
  // A recomputed vector replaces the old one.
  const int64_t seq2 = write_vectors({"s-1"}, /*version=*/1);
  expect_caught_up(seq2);
  EXPECT_EQ(index_->status().vectors, 5);
  std::vector<float> got;
  ASSERT_TRUE(index_->vectors()->get(pk("s-1"), got));
  EXPECT_EQ(got, fake_vector(pk("s-1"), 1));
  EXPECT_EQ(nearest(fake_vector(pk("s-1"), 1)), "s-1");
}

TEST_P(SearchIndexTest, vectors_already_applied_are_not_applied_again_at_later_changes) {
  write_vectors();
  auto o = options();
  o.hnsw.delta_limit = 2;  // every vector write merges into the graph: changes are visible
  start(o);
  const int64_t seq = write_vectors({"s-1", "s-2", "s-3"}, /*version=*/1);
  expect_caught_up(seq);
  const auto before = index_->vectors()->stats();
  EXPECT_EQ(before.vectors, kBookCount);
  EXPECT_EQ(before.deleted, 3);  // the three old copies
  // Changes that touch no vector (stock updates, as every checkout makes).
  catalog::CatalogAdmin admin(*store_);
  for (int64_t stock : {1, 2, 3}) {
    ASSERT_TRUE(admin.patch("s-7", {.price_cents = std::nullopt, .stock = stock}));
    expect_caught_up(change_seq());
  }
  const auto after = index_->vectors()->stats();
  EXPECT_EQ(after.graph, before.graph);
  EXPECT_EQ(after.deleted, before.deleted);
  EXPECT_EQ(after.delta, before.delta);
  EXPECT_EQ(after.vectors, kBookCount);
}

TEST_P(SearchIndexTest, a_restart_reuses_the_snapshot_and_catches_up) {
  write_vectors();
  start();
  index_.reset();
  const std::string file = find_file(tmp_.path() / "index", "lexical.db");
  ASSERT_NE(file, "") << "one lexical file under the index directory";
  // Mark the snapshot: a book's text only the file has (same books, same count).
  {
    auto lx = LexicalIndex::open(file);
    ASSERT_TRUE(lx) << lx.error().message;
    SearchDoc d;
    for (auto& doc : docs()) {
      if (doc.ext_id == "s-19") d = doc;
    }
    d.title = "Zyzzyva Marker";
    ASSERT_TRUE((*lx)->upsert({d}));
  }
  // Changes while no index was running.
  catalog::CatalogAdmin admin(*store_);
  ASSERT_TRUE(admin.remove("s-10"));
  ASSERT_TRUE(admin.patch("s-6", {.price_cents = std::nullopt, .stock = 0}));
  start();
  EXPECT_EQ(lexical({"zyzzyva"}), Exts{"s-19"}) << "the snapshot was rebuilt, not reused";
  EXPECT_TRUE(lexical({"vampire"}).empty());
  EXPECT_EQ(index_->doc_count(), kBookCount - 1);
  EXPECT_EQ(index_->status().watermark, change_seq());
  SearchFilters f;
  f.in_stock = false;
  EXPECT_TRUE(allowed(f).count("s-6"));
  EXPECT_EQ(index_->status().vectors, kBookCount - 1);  // vectors are always loaded afresh
  EXPECT_EQ(nearest(fake_vector(pk("s-6"))), "s-6");
}

TEST_P(SearchIndexTest, a_snapshot_of_another_store_is_rebuilt) {
  start();
  index_.reset();
  const std::string file = find_file(tmp_.path() / "index", "lexical.db");
  ASSERT_NE(file, "");
  {
    auto lx = LexicalIndex::open(file);
    ASSERT_TRUE(lx);
    SearchDoc d;
    d.id = 999;
    d.ext_id = "elsewhere-1";
    d.title = "Zyzzyva From Another Store";
    ASSERT_TRUE((*lx)->upsert({d}));
    ASSERT_TRUE((*lx)->set_meta("store", "sqlite:/somewhere/else.db"));
    ASSERT_TRUE((*lx)->set_meta("watermark", "1"));
  }
  start();
  EXPECT_TRUE(lexical({"zyzzyva"}).empty());
  EXPECT_EQ(lexical({"whale"}), Exts{"s-1"});
  EXPECT_EQ(index_->doc_count(), kBookCount);
  EXPECT_EQ(index_->status().watermark, change_seq());
}

TEST_P(SearchIndexTest, a_snapshot_ahead_of_the_store_is_rebuilt) {
  start();
  index_.reset();
  const std::string file = find_file(tmp_.path() / "index", "lexical.db");
  ASSERT_NE(file, "");
  {
    auto lx = LexicalIndex::open(file);
    ASSERT_TRUE(lx);
    SearchDoc d;
    for (auto& doc : docs()) {
      if (doc.ext_id == "s-19") d = doc;
    }
    d.title = "Zyzzyva Marker";
    ASSERT_TRUE((*lx)->upsert({d}));
    ASSERT_TRUE((*lx)->set_meta("watermark", std::to_string(change_seq() + 1000)));
  }
  start();
  EXPECT_TRUE(lexical({"zyzzyva"}).empty());
  EXPECT_EQ(lexical({"holmes"}), Exts{"s-19"});
  EXPECT_EQ(index_->status().watermark, change_seq());
}

TEST_P(SearchIndexTest, a_snapshot_whose_books_do_not_match_the_store_is_rebuilt) {
  start();
  index_.reset();
  const std::string file = find_file(tmp_.path() / "index", "lexical.db");
  ASSERT_NE(file, "");
  {
    // Same store, watermark not ahead, but a book the store does not have.
    auto lx = LexicalIndex::open(file);
    ASSERT_TRUE(lx);
    SearchDoc d;
    d.id = 999;
    d.ext_id = "ghost-1";
    d.title = "Zyzzyva Ghost";
    ASSERT_TRUE((*lx)->upsert({d}));
  }
  start();  // the first build notices, the retry (a second later) rebuilds
  EXPECT_TRUE(lexical({"zyzzyva"}).empty());
  EXPECT_EQ(index_->doc_count(), kBookCount);
  EXPECT_EQ(lexical({"whale"}), Exts{"s-1"});
}

TEST_P(SearchIndexTest, stop_ends_waits_and_is_idempotent) {
  start();
  index_->stop();
  EXPECT_FALSE(index_->wait_for(change_seq() + 1, 5s));  // returns at once: stopping
  index_->stop();
}

INSTANTIATE_TEST_SUITE_P(Stores, SearchIndexTest, store::testing::all_backends(),
                         store::testing::backend_test_name);

}  // namespace
}  // namespace libromind::search
