// Reciprocal rank fusion: scores are sums of w / (k + rank) computed by hand, a list's repeats
// count once, ties are broken by best rank and then by id, and empty input fuses to nothing.
#include "search/fusion.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace libromind::search {
namespace {

std::vector<int64_t> ids_of(const std::vector<Ranked>& fused) {
  std::vector<int64_t> out;
  for (const auto& r : fused) out.push_back(r.id);
  return out;
}

const Ranked* find(const std::vector<Ranked>& fused, int64_t id) {
  for (const auto& r : fused) {
    if (r.id == id) return &r;
  }
  return nullptr;
}

TEST(Rrf, scores_are_sums_of_one_over_k_plus_rank) {
  const auto fused = rrf({{1, 2, 3}, {3, 1}}, 60);
  ASSERT_EQ(fused.size(), 3u);
  EXPECT_EQ(ids_of(fused), (std::vector<int64_t>{1, 3, 2}));
  EXPECT_DOUBLE_EQ(find(fused, 1)->score, 1.0 / 61 + 1.0 / 62);
  EXPECT_DOUBLE_EQ(find(fused, 3)->score, 1.0 / 63 + 1.0 / 61);
  EXPECT_DOUBLE_EQ(find(fused, 2)->score, 1.0 / 62);
  EXPECT_EQ(find(fused, 1)->best_rank, 1);
  EXPECT_EQ(find(fused, 3)->best_rank, 1);
  EXPECT_EQ(find(fused, 2)->best_rank, 2);
}

TEST(Rrf, k_damps_the_top_ranks) {
  // With a small k the top of one list beats two middling ranks; with a large k it does not.
  const std::vector<std::vector<int64_t>> lists{{7, 8, 9}, {8, 10, 11}, {12, 8}};
  // k = 1: 7 -> 1/2 = 0.5; 8 -> 1/3 + 1/2 + 1/3 = 1.1667; 12 -> 1/2.
  auto small = rrf(lists, 1);
  EXPECT_EQ(small.front().id, 8);
  EXPECT_DOUBLE_EQ(find(small, 8)->score, 1.0 / 3 + 1.0 / 2 + 1.0 / 3);
  EXPECT_DOUBLE_EQ(find(small, 7)->score, 1.0 / 2);
  auto large = rrf(lists, 1000);
  EXPECT_DOUBLE_EQ(find(large, 9)->score, 1.0 / 1003);
  EXPECT_EQ(large.front().id, 8);
}

TEST(Rrf, weights_scale_each_lists_contribution) {
  auto fused = rrf({{1, 2}, {2, 3}}, 60, {1.0, 3.0});
  ASSERT_EQ(fused.size(), 3u);
  EXPECT_DOUBLE_EQ(find(fused, 1)->score, 1.0 / 61);
  EXPECT_DOUBLE_EQ(find(fused, 2)->score, 1.0 / 62 + 3.0 / 61);
  EXPECT_DOUBLE_EQ(find(fused, 3)->score, 3.0 / 62);
  EXPECT_EQ(ids_of(fused), (std::vector<int64_t>{2, 3, 1}));
  // A weight of zero keeps the document but gives it nothing.
  auto muted = rrf({{4}, {5}}, 60, {0.0, 1.0});
  EXPECT_EQ(ids_of(muted), (std::vector<int64_t>{5, 4}));
  EXPECT_DOUBLE_EQ(find(muted, 4)->score, 0.0);
}

TEST(Rrf, lists_without_a_weight_weigh_one) {
  auto fused = rrf({{1}, {2}, {3}}, 60, {2.0});
  EXPECT_DOUBLE_EQ(find(fused, 1)->score, 2.0 / 61);
  EXPECT_DOUBLE_EQ(find(fused, 2)->score, 1.0 / 61);
  EXPECT_DOUBLE_EQ(find(fused, 3)->score, 1.0 / 61);
}

TEST(Rrf, a_repeat_within_a_list_counts_once_and_takes_no_rank) {
  auto fused = rrf({{5, 5, 6, 5}}, 60);
  ASSERT_EQ(fused.size(), 2u);
  EXPECT_DOUBLE_EQ(find(fused, 5)->score, 1.0 / 61);
  // 6 is the list's second distinct document: rank 2, not 3.
  EXPECT_DOUBLE_EQ(find(fused, 6)->score, 1.0 / 62);
  EXPECT_EQ(find(fused, 6)->best_rank, 2);
}

TEST(Rrf, the_same_document_in_two_lists_counts_in_both) {
  auto fused = rrf({{5}, {5}}, 60);
  ASSERT_EQ(fused.size(), 1u);
  EXPECT_DOUBLE_EQ(fused[0].score, 2.0 / 61);
}

TEST(Rrf, equal_scores_are_ordered_by_best_rank_then_by_id) {
  // k = 1 makes the scores exact binary fractions: 9 (rank 1) and 200 (rank 1) get 1/2, and so
  // does 1 (rank 3 twice: 1/4 + 1/4); 100 and 300 (rank 2) get 1/3.
  auto fused = rrf({{9, 100, 1}, {200, 300, 1}}, 1);
  ASSERT_EQ(fused.size(), 5u);
  EXPECT_EQ(fused[0].score, 0.5);
  EXPECT_EQ(fused[1].score, 0.5);
  EXPECT_EQ(fused[2].score, 0.5);
  EXPECT_EQ(ids_of(fused), (std::vector<int64_t>{9, 200, 1, 100, 300}));
  EXPECT_EQ(fused[2].best_rank, 3);
}

TEST(Rrf, the_fused_order_does_not_depend_on_the_order_of_the_lists) {
  const std::vector<int64_t> a{4, 3, 2, 1}, b{1, 2, 3, 4};
  auto ab = rrf({a, b}, 60);
  auto ba = rrf({b, a}, 60);
  EXPECT_EQ(ids_of(ab), ids_of(ba));
  // 1 and 4 tie (1/61 + 1/64), as do 2 and 3 (1/62 + 1/63, less): the ids break the ties.
  EXPECT_EQ(ids_of(ab), (std::vector<int64_t>{1, 4, 2, 3}));
  EXPECT_EQ(ids_of(rrf({a, b}, 60)), ids_of(ab));  // and the same input gives the same output
}

TEST(Rrf, empty_input_fuses_to_nothing) {
  EXPECT_TRUE(rrf({}, 60).empty());
  EXPECT_TRUE(rrf({{}, {}}, 60).empty());
  auto one = rrf({{}, {4}}, 60, {1.0, 1.0});
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(one[0].id, 4);
  EXPECT_DOUBLE_EQ(one[0].score, 1.0 / 61);
  EXPECT_EQ(one[0].best_rank, 1);
}

}  // namespace
}  // namespace libromind::search
