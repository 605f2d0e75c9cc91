// The vector indexes on random unit vectors (fixed seed, 32 dimensions): HNSW recall against the
// exact index with and without filters, filtered hits always allowed, replacement and removal,
// merges of the exact delta into the graph and rebuilds after many deletions, and concurrent
// readers during writes seeing only allowed, live books with their current vectors.
#include "search/vector_index.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <random>
#include <set>
#include <thread>
#include <vector>

namespace libromind::search {
namespace {

constexpr int32_t kDim = 32;

VectorSearchOptions opts(int k, const AllowSet* allow = nullptr) {
  VectorSearchOptions o;
  o.k = k;
  o.allow = allow;
  return o;
}

std::vector<float> unit_vector(std::mt19937& rng) {
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

// `n` unit vectors, row-major.
std::vector<float> unit_vectors(std::mt19937& rng, size_t n) {
  std::vector<float> out;
  out.reserve(n * kDim);
  for (size_t i = 0; i < n; ++i) {
    auto v = unit_vector(rng);
    out.insert(out.end(), v.begin(), v.end());
  }
  return out;
}

std::vector<int64_t> iota_ids(int64_t from, int64_t to) {
  std::vector<int64_t> ids;
  for (int64_t i = from; i < to; ++i) ids.push_back(i);
  return ids;
}

float dot(const float* a, const float* b) {
  float s = 0;
  for (int32_t i = 0; i < kDim; ++i) s += a[i] * b[i];
  return s;
}

// Mean share of the exact top-k that the approximate index also returns.
double recall_at(const VectorIndex& approx, const VectorIndex& exact,
                 const std::vector<float>& queries, int k, const AllowSet* allow) {
  const size_t n = queries.size() / kDim;
  double sum = 0;
  for (size_t i = 0; i < n; ++i) {
    const float* q = queries.data() + i * kDim;
    const auto truth = exact.search(q, opts(k, allow));
    const auto got = approx.search(q, opts(k, allow));
    std::set<int64_t> truth_ids;
    for (const auto& h : truth) truth_ids.insert(h.id);
    size_t found = 0;
    for (const auto& h : got) found += truth_ids.count(h.id);
    sum += truth.empty() ? 1.0 : static_cast<double>(found) / static_cast<double>(truth.size());
  }
  return sum / static_cast<double>(n);
}

class VectorIndexRecall : public ::testing::Test {
 protected:
  static constexpr int64_t kBooks = 3000;
  static void SetUpTestSuite() {
    std::mt19937 rng(1234);
    vectors_ = new std::vector<float>(unit_vectors(rng, kBooks));
    queries_ = new std::vector<float>(unit_vectors(rng, 100));
    hnsw_ = make_hnsw_index(kDim, {}).release();
    exact_ = make_exact_index(kDim).release();
    const auto ids = iota_ids(1, kBooks + 1);  // ids from 1, as books.id
    ASSERT_TRUE(hnsw_->upsert(ids, *vectors_));
    ASSERT_TRUE(exact_->upsert(ids, *vectors_));
  }
  static void TearDownTestSuite() {
    delete hnsw_;
    delete exact_;
    delete vectors_;
    delete queries_;
  }
  // Allows about `share` of the books, chosen at random (fixed seed).
  static AllowSet allow_share(double share, uint32_t seed) {
    std::mt19937 rng(seed);
    std::bernoulli_distribution pick(share);
    AllowSet set(kBooks);
    for (int64_t id = 1; id <= kBooks; ++id) {
      if (pick(rng)) set.allow(id);
    }
    return set;
  }

  static VectorIndex* hnsw_;
  static VectorIndex* exact_;
  static std::vector<float>* vectors_;
  static std::vector<float>* queries_;
};
VectorIndex* VectorIndexRecall::hnsw_ = nullptr;
VectorIndex* VectorIndexRecall::exact_ = nullptr;
std::vector<float>* VectorIndexRecall::vectors_ = nullptr;
std::vector<float>* VectorIndexRecall::queries_ = nullptr;

TEST_F(VectorIndexRecall, a_large_first_batch_goes_into_the_graph) {
  const auto st = hnsw_->stats();
  EXPECT_EQ(st.vectors, kBooks);
  EXPECT_EQ(st.graph, kBooks);  // more than delta_limit (2048): merged at once
  EXPECT_EQ(st.delta, 0);
  EXPECT_EQ(st.deleted, 0);
  EXPECT_EQ(exact_->stats().vectors, kBooks);
}

TEST_F(VectorIndexRecall, the_exact_index_returns_the_true_nearest_neighbours) {
  const float* q = queries_->data();
  std::vector<std::pair<float, int64_t>> all;
  for (int64_t i = 0; i < kBooks; ++i) all.push_back({dot(q, vectors_->data() + i * kDim), i + 1});
  std::sort(all.rbegin(), all.rend());
  const auto hits = exact_->search(q, opts(10));
  ASSERT_EQ(hits.size(), 10u);
  for (size_t i = 0; i < 10; ++i) {
    EXPECT_EQ(hits[i].id, all[i].second);
    EXPECT_NEAR(hits[i].score, all[i].first, 1e-5);
  }
}

TEST_F(VectorIndexRecall, hnsw_recall_at_10_without_filters) {
  const double r = recall_at(*hnsw_, *exact_, *queries_, 10, nullptr);
  EXPECT_GE(r, 0.95);
  // Scores are inner products, best first.
  const auto hits = hnsw_->search(queries_->data(), opts(10));
  ASSERT_EQ(hits.size(), 10u);
  for (size_t i = 0; i < hits.size(); ++i) {
    EXPECT_NEAR(hits[i].score, dot(queries_->data(), vectors_->data() + (hits[i].id - 1) * kDim),
                1e-4);
    if (i) {
      EXPECT_GE(hits[i - 1].score, hits[i].score);
    }
  }
}

TEST_F(VectorIndexRecall, hnsw_recall_at_10_with_filters_of_every_selectivity) {
  for (double share : {0.5, 0.1, 0.03, 0.01}) {
    const AllowSet allow = allow_share(share, static_cast<uint32_t>(share * 1000) + 7);
    ASSERT_GT(allow.count(), 10) << share;
    const double r = recall_at(*hnsw_, *exact_, *queries_, 10, &allow);
    EXPECT_GE(r, 0.95) << "filter allowing " << share * 100 << "% of the books";
    for (size_t i = 0; i < queries_->size() / kDim; ++i) {
      const auto hits = hnsw_->search(queries_->data() + i * kDim, opts(10, &allow));
      EXPECT_EQ(hits.size(), 10u) << share;
      for (const auto& h : hits) {
        ASSERT_TRUE(allow.allowed(h.id)) << "book " << h.id << " is not allowed (" << share << ")";
      }
    }
  }
}

TEST_F(VectorIndexRecall, a_filter_allowing_fewer_books_than_k_returns_just_those) {
  AllowSet allow(kBooks);
  allow.allow(17);
  allow.allow(2999);
  allow.allow(kBooks + 50);  // beyond the set: ignored
  EXPECT_EQ(allow.count(), 2);
  const auto hits = hnsw_->search(queries_->data(), opts(10, &allow));
  std::set<int64_t> ids;
  for (const auto& h : hits) ids.insert(h.id);
  EXPECT_EQ(ids, (std::set<int64_t>{17, 2999}));
  AllowSet none(kBooks);
  EXPECT_TRUE(hnsw_->search(queries_->data(), opts(10, &none)).empty());
  EXPECT_TRUE(hnsw_->search(queries_->data(), opts(0)).empty());
}

// A small index whose delta merges often, checked against an exact index given the same writes.
class VectorIndexUpdates : public ::testing::Test {
 protected:
  void SetUp() override {
    HnswOptions o;
    o.delta_limit = 32;
    hnsw_ = make_hnsw_index(kDim, o);
    exact_ = make_exact_index(kDim);
  }
  void upsert(const std::vector<int64_t>& ids, const std::vector<float>& v) {
    auto h = hnsw_->upsert(ids, v);
    ASSERT_TRUE(h) << h.error().message;
    auto e = exact_->upsert(ids, v);
    ASSERT_TRUE(e) << e.error().message;
  }
  void remove(const std::vector<int64_t>& ids) {
    hnsw_->remove(ids);
    exact_->remove(ids);
  }
  // The vector `id` has in the index: searching for it finds `id` first, with score ~1.
  void expect_found_first(int64_t id, const float* v) {
    const auto hits = hnsw_->search(v, opts(3));
    ASSERT_FALSE(hits.empty());
    EXPECT_EQ(hits[0].id, id);
    EXPECT_NEAR(hits[0].score, 1.0f, 1e-4);
  }
  void expect_not_found(int64_t id, const float* v) {
    for (const auto& h : hnsw_->search(v, opts(20))) EXPECT_NE(h.id, id);
    for (const auto& h : exact_->search(v, opts(20))) EXPECT_NE(h.id, id);
  }

  std::mt19937 rng_{99};
  std::unique_ptr<VectorIndex> hnsw_, exact_;
};

TEST_F(VectorIndexUpdates, upsert_replaces_a_vector_in_the_delta_and_in_the_graph) {
  const auto first = unit_vectors(rng_, 10);
  upsert(iota_ids(0, 10), first);
  ASSERT_EQ(hnsw_->stats().delta, 10);  // below delta_limit: exact delta
  const auto in_delta = unit_vector(rng_);
  upsert({3}, in_delta);
  EXPECT_EQ(hnsw_->stats().vectors, 10);
  expect_found_first(3, in_delta.data());
  for (const auto& h : hnsw_->search(first.data() + 3 * kDim, opts(10))) {
    if (h.id == 3) {
      EXPECT_LT(h.score, 0.99f);  // the old vector is gone
    }
  }

  upsert(iota_ids(10, 50), unit_vectors(rng_, 40));  // crosses delta_limit: merged
  ASSERT_EQ(hnsw_->stats().delta, 0);
  ASSERT_EQ(hnsw_->stats().graph, 50);
  const auto in_graph = unit_vector(rng_);
  upsert({3}, in_graph);
  const auto st = hnsw_->stats();
  EXPECT_EQ(st.vectors, 50);
  EXPECT_EQ(st.deleted, 1);  // the graph copy is tombstoned
  EXPECT_EQ(st.delta, 1);
  expect_found_first(3, in_graph.data());
  for (const auto& h : hnsw_->search(in_delta.data(), opts(50))) {
    if (h.id == 3) {
      EXPECT_NEAR(h.score, dot(in_delta.data(), in_graph.data()), 1e-4);
    }
  }
  std::vector<float> got;
  ASSERT_TRUE(hnsw_->get(3, got));
  EXPECT_EQ(got, in_graph);
}

TEST_F(VectorIndexUpdates, the_last_copy_of_an_id_repeated_in_a_batch_wins) {
  auto two = unit_vectors(rng_, 2);
  upsert({5, 5}, two);
  EXPECT_EQ(hnsw_->stats().vectors, 1);
  std::vector<float> got;
  ASSERT_TRUE(hnsw_->get(5, got));
  EXPECT_EQ(got, std::vector<float>(two.begin() + kDim, two.end()));
  // The same through a merge.
  std::vector<int64_t> ids = iota_ids(100, 140);
  ids.push_back(5);
  ids.push_back(5);
  auto many = unit_vectors(rng_, ids.size());
  upsert(ids, many);
  ASSERT_EQ(hnsw_->stats().delta, 0);
  EXPECT_EQ(hnsw_->stats().vectors, 41);
  ASSERT_TRUE(hnsw_->get(5, got));
  EXPECT_EQ(got, std::vector<float>(many.end() - kDim, many.end()));
  expect_found_first(5, got.data());
}

TEST_F(VectorIndexUpdates, remove_makes_a_book_unfindable_wherever_it_was) {
  const auto v = unit_vectors(rng_, 60);
  upsert(iota_ids(0, 60), v);  // 60 > 32: graph
  const auto d = unit_vector(rng_);
  upsert({60}, d);  // delta
  ASSERT_EQ(hnsw_->stats().graph, 60);
  ASSERT_EQ(hnsw_->stats().delta, 1);
  expect_found_first(7, v.data() + 7 * kDim);
  remove({7, 60, 12345, -1});  // unknown ids are ignored
  expect_not_found(7, v.data() + 7 * kDim);
  expect_not_found(60, d.data());
  std::vector<float> got;
  EXPECT_FALSE(hnsw_->get(7, got));
  EXPECT_FALSE(hnsw_->get(60, got));
  EXPECT_EQ(hnsw_->stats().vectors, 59);
  EXPECT_EQ(hnsw_->stats().deleted, 1);
  remove({7});  // twice: nothing more
  EXPECT_EQ(hnsw_->stats().vectors, 59);
  // Filtered searches skip it too, on the graph and on the exact path.
  AllowSet allow(100);
  for (int64_t id = 0; id <= 60; ++id) allow.allow(id);
  for (const auto& h : hnsw_->search(v.data() + 7 * kDim, opts(60, &allow))) {
    EXPECT_NE(h.id, 7);
  }
  AllowSet just(100);
  just.allow(7);
  just.allow(60);
  EXPECT_TRUE(hnsw_->search(v.data() + 7 * kDim, opts(5, &just)).empty());
  // And it can come back.
  upsert({7}, std::vector<float>(v.begin() + 7 * kDim, v.begin() + 8 * kDim));
  expect_found_first(7, v.data() + 7 * kDim);
  EXPECT_EQ(hnsw_->stats().vectors, 60);
}

TEST_F(VectorIndexUpdates, updates_crossing_the_delta_limit_merge_and_stay_right) {
  upsert(iota_ids(0, 300), unit_vectors(rng_, 300));
  std::uniform_int_distribution<int64_t> any(0, 399);
  int merges = 0;
  int64_t last_graph = hnsw_->stats().graph;
  for (int round = 0; round < 30; ++round) {
    std::vector<int64_t> ids;
    for (int i = 0; i < 7; ++i) ids.push_back(any(rng_));
    auto v = unit_vectors(rng_, ids.size());
    upsert(ids, v);
    if (round % 5 == 4) remove({any(rng_)});
    const auto st = hnsw_->stats();
    if (st.graph != last_graph) ++merges;
    last_graph = st.graph;
    EXPECT_LE(st.delta, 32);
    EXPECT_EQ(st.vectors, exact_->stats().vectors);
  }
  EXPECT_GE(merges, 4);  // 210 upserts through a delta of 32
  std::mt19937 qrng(5);
  const auto queries = unit_vectors(qrng, 50);
  EXPECT_GE(recall_at(*hnsw_, *exact_, queries, 10, nullptr), 0.95);
  // Every live book is found by its current vector and returns it from get().
  for (int64_t id = 0; id < 400; ++id) {
    std::vector<float> want, got;
    const bool live = exact_->get(id, want);
    ASSERT_EQ(hnsw_->get(id, got), live) << id;
    if (!live) continue;
    EXPECT_EQ(got, want) << id;
    expect_found_first(id, want.data());
  }
}

TEST_F(VectorIndexUpdates, a_merge_rebuilds_the_graph_after_a_quarter_is_deleted) {
  const auto v = unit_vectors(rng_, 400);
  upsert(iota_ids(0, 400), v);
  ASSERT_EQ(hnsw_->stats().graph, 400);
  // 80 deletions (20%): the next merge extends the graph and keeps the tombstones.
  remove(iota_ids(0, 80));
  EXPECT_EQ(hnsw_->stats().deleted, 80);
  upsert(iota_ids(1000, 1040), unit_vectors(rng_, 40));
  auto st = hnsw_->stats();
  EXPECT_EQ(st.graph, 440);
  EXPECT_EQ(st.deleted, 80);
  EXPECT_EQ(st.vectors, 360);
  // 40 more (120 of 440, 27%): the next merge rebuilds from the live vectors only.
  remove(iota_ids(80, 120));
  EXPECT_EQ(hnsw_->stats().deleted, 120);
  upsert(iota_ids(2000, 2040), unit_vectors(rng_, 40));
  st = hnsw_->stats();
  EXPECT_EQ(st.deleted, 0);
  EXPECT_EQ(st.graph, 360);
  EXPECT_EQ(st.vectors, 360);
  EXPECT_EQ(st.delta, 0);
  for (int64_t id : {0, 79, 119}) expect_not_found(id, v.data() + id * kDim);
  for (int64_t id : {120, 250, 399}) expect_found_first(id, v.data() + id * kDim);
  std::mt19937 qrng(6);
  EXPECT_GE(recall_at(*hnsw_, *exact_, unit_vectors(qrng, 50), 10, nullptr), 0.95);
}

std::vector<std::unique_ptr<VectorIndex>> both_kinds() {
  std::vector<std::unique_ptr<VectorIndex>> out;
  out.push_back(make_exact_index(kDim));
  out.push_back(make_hnsw_index(kDim, {}));
  return out;
}

TEST(VectorIndex, get_returns_the_stored_vector) {
  std::mt19937 rng(3);
  for (auto& index : both_kinds()) {
    const auto v = unit_vectors(rng, 3);
    ASSERT_TRUE(index->upsert({4, 9, 2}, v));
    std::vector<float> got;
    ASSERT_TRUE(index->get(9, got));
    EXPECT_EQ(got, std::vector<float>(v.begin() + kDim, v.begin() + 2 * kDim));
    EXPECT_FALSE(index->get(5, got));
    EXPECT_FALSE(index->get(-3, got));
    EXPECT_FALSE(index->get(1000000, got));
    EXPECT_EQ(index->dim(), kDim);
  }
}

TEST(VectorIndex, mismatched_sizes_and_negative_ids_are_refused_and_change_nothing) {
  std::mt19937 rng(4);
  for (auto& index : both_kinds()) {
    auto r = index->upsert({1, 2}, unit_vectors(rng, 3));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, core::ErrorCode::kInvalidArgument);
    auto short_one = index->upsert({1}, std::vector<float>(kDim - 1, 0.1f));
    ASSERT_FALSE(short_one);
    EXPECT_EQ(short_one.error().code, core::ErrorCode::kInvalidArgument);
    auto negative = index->upsert({3, -1}, unit_vectors(rng, 2));
    ASSERT_FALSE(negative);
    EXPECT_EQ(negative.error().code, core::ErrorCode::kInvalidArgument);
    EXPECT_EQ(index->stats().vectors, 0);
    std::vector<float> got;
    EXPECT_FALSE(index->get(3, got));
    EXPECT_TRUE(index->upsert({}, {}));  // nothing to do is fine
    EXPECT_TRUE(index->search(unit_vector(rng).data(), opts(10)).empty());
  }
}

TEST(VectorIndex, readers_during_writes_see_only_allowed_live_books_with_current_vectors) {
  // Books 0..999 are written once and never change; 1000..1999 are upserted and removed all
  // the time; 2000..2499 were removed before the readers start and never come back.
  HnswOptions o;
  o.delta_limit = 64;  // merges (and a rebuild or two) while the readers search
  auto index = make_hnsw_index(kDim, o);
  std::mt19937 rng(77);
  const auto stable = unit_vectors(rng, 1000);
  ASSERT_TRUE(index->upsert(iota_ids(0, 1000), stable));
  ASSERT_TRUE(index->upsert(iota_ids(1000, 2500), unit_vectors(rng, 1500)));
  index->remove(iota_ids(2000, 2500));

  AllowSet odd(2500);
  for (int64_t id = 1; id < 2500; id += 2) odd.allow(id);

  std::atomic<bool> done{false};
  std::atomic<int64_t> searches{0}, failures{0};
  auto reader = [&](uint32_t seed, bool filtered) {
    std::mt19937 qr(seed);
    while (!done.load()) {
      const auto q = unit_vector(qr);
      const auto hits = index->search(q.data(), opts(10, filtered ? &odd : nullptr));
      ++searches;
      bool ok = hits.size() == 10;  // at least 1000 live books always qualify (500 when odd)
      for (size_t i = 0; i < hits.size(); ++i) {
        const int64_t id = hits[i].id;
        ok = ok && id >= 0 && id < 2000;            // never a removed-for-good or unknown book
        ok = ok && (!filtered || odd.allowed(id));  // never a book the filter excludes
        if (i) ok = ok && hits[i - 1].score >= hits[i].score;
        if (id < 1000) {  // a stable book: its score is the inner product with its vector
          ok = ok && std::fabs(hits[i].score - dot(q.data(), stable.data() + id * kDim)) < 1e-4f;
        }
      }
      if (!ok) ++failures;
    }
  };
  std::vector<std::thread> readers;
  for (uint32_t i = 0; i < 3; ++i) readers.emplace_back(reader, 100 + i, i % 2 == 1);

  std::uniform_int_distribution<int64_t> churn(1000, 1999);
  for (int step = 0; step < 400; ++step) {
    std::vector<int64_t> ids;
    for (int i = 0; i < 5; ++i) ids.push_back(churn(rng));
    if (step % 3 == 2) {
      index->remove(ids);
    } else {
      ASSERT_TRUE(index->upsert(ids, unit_vectors(rng, ids.size())));
    }
  }
  done = true;
  for (auto& t : readers) t.join();
  EXPECT_GT(searches.load(), 0);
  EXPECT_EQ(failures.load(), 0) << "of " << searches.load() << " searches";
  // The stable books are all still there.
  for (int64_t id = 0; id < 1000; id += 37) {
    std::vector<float> got;
    ASSERT_TRUE(index->get(id, got));
    EXPECT_EQ(got,
              std::vector<float>(stable.begin() + id * kDim, stable.begin() + (id + 1) * kDim));
  }
}

}  // namespace
}  // namespace libromind::search
