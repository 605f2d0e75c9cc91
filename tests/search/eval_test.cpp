// The evaluation metrics agree with ../shared/eval (README worked example, cut-offs, repeated
// ids), a query without a ranking scores 0, summaries come in the documented type order, the
// percentile interpolates, and a bad line of a labelled-query file is named in the error.
#include "search/eval.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

namespace libromind::search {
namespace {

using Ranking = std::vector<std::string>;
using Rel = std::map<std::string, int>;

TEST(EvalMetrics, the_readme_worked_example) {
  const Rel rel{{"A", 2}, {"B", 1}};
  const Ranking ranking{"C", "A", "D", "B"};
  const double dcg = 3 / std::log2(3.0) + 1 / std::log2(5.0);
  const double idcg = 3 / std::log2(2.0) + 1 / std::log2(3.0);
  EXPECT_NEAR(ndcg_at(ranking, rel, 10), dcg / idcg, 1e-12);
  EXPECT_NEAR(ndcg_at(ranking, rel, 10), 0.640, 5e-4);
  EXPECT_DOUBLE_EQ(recall_at(ranking, rel, 50), 1.0);
  EXPECT_DOUBLE_EQ(mrr_at(ranking, rel, 10), 0.5);
}

TEST(EvalMetrics, the_ideal_ranking_scores_one) {
  const Rel rel{{"A", 2}, {"B", 1}, {"C", 2}};
  const Ranking best{"A", "C", "B"};
  EXPECT_NEAR(ndcg_at(best, rel), 1.0, 1e-12);
  EXPECT_DOUBLE_EQ(recall_at(best, rel), 1.0);
  EXPECT_DOUBLE_EQ(mrr_at(best, rel), 1.0);
}

TEST(EvalMetrics, a_repeated_id_counts_at_its_first_position_only) {
  const Rel rel{{"A", 2}, {"B", 1}};
  // [A, A, B] is [A, B]: ideal, not A counted twice and B pushed to rank 3.
  EXPECT_NEAR(ndcg_at({"A", "A", "B"}, rel), 1.0, 1e-12);
  EXPECT_DOUBLE_EQ(recall_at({"A", "A"}, rel), 0.5);
  // [C, C, A]: A is at rank 2 once the repeat is dropped.
  EXPECT_DOUBLE_EQ(mrr_at({"C", "C", "A"}, rel), 0.5);
  EXPECT_NEAR(ndcg_at({"C", "C", "A", "D", "B"}, rel), ndcg_at({"C", "A", "D", "B"}, rel), 1e-12);
}

TEST(EvalMetrics, cut_offs_apply_after_removing_repeats) {
  const Rel rel{{"R", 1}};
  Ranking r;
  for (int i = 0; i < 10; ++i) r.push_back("x" + std::to_string(i));
  r.push_back("R");  // rank 11
  EXPECT_DOUBLE_EQ(mrr_at(r, rel, 10), 0.0);
  EXPECT_DOUBLE_EQ(ndcg_at(r, rel, 10), 0.0);
  EXPECT_DOUBLE_EQ(recall_at(r, rel, 50), 1.0);
  EXPECT_DOUBLE_EQ(recall_at(r, rel, 10), 0.0);
  // Ten copies of x0 before R put R at rank 2.
  Ranking repeats(10, "x0");
  repeats.push_back("R");
  EXPECT_DOUBLE_EQ(mrr_at(repeats, rel, 10), 0.5);
}

TEST(EvalMetrics, the_ideal_dcg_uses_all_judged_books_not_only_the_retrieved) {
  // Three grade-2 books judged, one found at rank 1: DCG = 3, IDCG = 3 + 3/log2 3 + 3/2.
  const Rel rel{{"A", 2}, {"B", 2}, {"C", 2}};
  const double idcg = 3 + 3 / std::log2(3.0) + 3 / std::log2(4.0);
  EXPECT_NEAR(ndcg_at({"A"}, rel), 3 / idcg, 1e-12);
  EXPECT_NEAR(recall_at({"A"}, rel), 1.0 / 3, 1e-12);
}

TEST(EvalMetrics, nothing_relevant_scores_zero) {
  EXPECT_DOUBLE_EQ(ndcg_at({"A"}, {}), 0.0);
  EXPECT_DOUBLE_EQ(recall_at({"A"}, {}), 0.0);
  EXPECT_DOUBLE_EQ(mrr_at({"A"}, {}), 0.0);
  EXPECT_DOUBLE_EQ(ndcg_at({}, {{"A", 2}}), 0.0);
  EXPECT_DOUBLE_EQ(recall_at({}, {{"A", 2}}), 0.0);
  EXPECT_DOUBLE_EQ(mrr_at({}, {{"A", 2}}), 0.0);
}

LabelledQuery q(std::string id, std::string type, Rel rel) {
  LabelledQuery out;
  out.id = std::move(id);
  out.type = std::move(type);
  out.query = "q " + out.id;
  out.relevant = std::move(rel);
  return out;
}

TEST(EvalScoring, a_query_missing_from_the_run_scores_zero) {
  const std::vector<LabelledQuery> qs{q("q1", "keyword", {{"A", 2}}),
                                      q("q2", "keyword", {{"B", 2}})};
  const auto scores = score_queries(qs, {{"q1", {"A"}}, {"other", {"B"}}});
  ASSERT_EQ(scores.size(), 2u);
  EXPECT_EQ(scores[0].id, "q1");
  EXPECT_DOUBLE_EQ(scores[0].ndcg10, 1.0);
  EXPECT_DOUBLE_EQ(scores[0].recall50, 1.0);
  EXPECT_DOUBLE_EQ(scores[0].mrr10, 1.0);
  EXPECT_EQ(scores[1].id, "q2");
  EXPECT_EQ(scores[1].type, "keyword");
  EXPECT_DOUBLE_EQ(scores[1].ndcg10, 0.0);
  EXPECT_DOUBLE_EQ(scores[1].recall50, 0.0);
  EXPECT_DOUBLE_EQ(scores[1].mrr10, 0.0);
}

TEST(EvalScoring, summaries_follow_the_type_order_then_others_alphabetically_then_overall) {
  const std::vector<LabelledQuery> qs{
      q("1", "zeta", {{"A", 2}}),  q("2", "hard", {{"A", 2}}),    q("3", "known-item", {{"A", 2}}),
      q("4", "alpha", {{"A", 2}}), q("5", "keyword", {{"A", 2}}), q("6", "known-item", {{"A", 2}}),
  };
  // Queries 3 and 5 find A at rank 1, the others find nothing.
  const auto scores = score_queries(qs, {{"3", {"A"}}, {"5", {"A"}}});
  const auto summary = summarise(scores);
  std::vector<std::string> types;
  for (const auto& [t, m] : summary) types.push_back(t);
  EXPECT_EQ(types, (std::vector<std::string>{"known-item", "keyword", "hard", "alpha", "zeta",
                                             "overall"}));
  EXPECT_EQ(summary[0].second.n, 2u);
  EXPECT_DOUBLE_EQ(summary[0].second.mrr10, 0.5);  // one of two known-item queries
  EXPECT_DOUBLE_EQ(summary[1].second.ndcg10, 1.0);
  EXPECT_DOUBLE_EQ(summary[2].second.recall50, 0.0);
  EXPECT_EQ(summary.back().second.n, 6u);
  EXPECT_DOUBLE_EQ(summary.back().second.mrr10, 2.0 / 6);  // every query weighs the same
}

TEST(EvalScoring, an_empty_score_list_has_only_an_empty_overall) {
  const auto summary = summarise({});
  ASSERT_EQ(summary.size(), 1u);
  EXPECT_EQ(summary[0].first, "overall");
  EXPECT_EQ(summary[0].second.n, 0u);
  EXPECT_DOUBLE_EQ(summary[0].second.ndcg10, 0.0);
}

TEST(EvalPercentile, interpolates_linearly_between_order_statistics) {
  const std::vector<double> v{4, 1, 3, 2};  // unsorted on purpose
  EXPECT_DOUBLE_EQ(percentile(v, 0), 1);
  EXPECT_DOUBLE_EQ(percentile(v, 100), 4);
  EXPECT_DOUBLE_EQ(percentile(v, 50), 2.5);
  EXPECT_DOUBLE_EQ(percentile(v, 25), 1.75);
  EXPECT_NEAR(percentile(v, 99), 3.97, 1e-12);
  EXPECT_DOUBLE_EQ(percentile({7}, 95), 7);
  EXPECT_DOUBLE_EQ(percentile({}, 50), 0);
}

TEST(EvalParse, reads_queries_and_skips_blank_lines) {
  auto r = parse_labelled_queries(
      "{\"id\": \"d1\", \"type\": \"thematic\", \"query\": \"whales\", \"relevant\": "
      "{\"pg-1\": 2, \"pg-2\": 1}}\n\n   \n"
      "{\"id\": \"d2\", \"query\": \"ghosts\", \"relevant\": {}}");
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[0].id, "d1");
  EXPECT_EQ((*r)[0].type, "thematic");
  EXPECT_EQ((*r)[0].query, "whales");
  EXPECT_EQ((*r)[0].relevant, (Rel{{"pg-1", 2}, {"pg-2", 1}}));
  EXPECT_EQ((*r)[1].type, "?");  // no type given
  EXPECT_TRUE((*r)[1].relevant.empty());
}

TEST(EvalParse, an_error_names_the_line) {
  const std::string good = "{\"id\": \"a\", \"query\": \"x\", \"relevant\": {}}\n";
  struct Case {
    std::string line, why;
  };
  for (const Case& c : std::vector<Case>{
           {"not json", "not a JSON object"},
           {"[1, 2]", "not a JSON object"},
           {"{\"query\": \"x\", \"relevant\": {}}", "\"id\""},
           {"{\"id\": 5, \"query\": \"x\", \"relevant\": {}}", "\"id\""},
           {"{\"id\": \"a\", \"relevant\": {}}", "\"query\""},
           {"{\"id\": \"a\", \"query\": \"x\"}", "\"relevant\""},
           {"{\"id\": \"a\", \"query\": \"x\", \"relevant\": [\"pg-1\"]}", "\"relevant\""},
           {"{\"id\": \"a\", \"query\": \"x\", \"relevant\": {\"pg-9\": \"2\"}}", "pg-9"},
           {"{\"id\": \"a\", \"query\": \"x\", \"relevant\": {\"pg-9\": 1.5}}", "pg-9"},
       }) {
    auto r = parse_labelled_queries(good + "\n" + c.line + "\n" + good);
    ASSERT_FALSE(r) << c.line;
    EXPECT_EQ(r.error().code, core::ErrorCode::kInvalidArgument);
    EXPECT_NE(r.error().message.find("line 3"), std::string::npos) << r.error().message;
    EXPECT_NE(r.error().message.find(c.why), std::string::npos) << r.error().message;
  }
}

TEST(EvalParse, a_file_error_names_the_file_and_line) {
  const auto path = std::filesystem::temp_directory_path() / "lm_eval_test_bad.jsonl";
  {
    std::ofstream out(path);
    out << "{\"id\": \"a\", \"query\": \"x\", \"relevant\": {}}\n{oops\n";
  }
  auto r = load_labelled_queries(path.string());
  std::filesystem::remove(path);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find(path.string()), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("line 2"), std::string::npos) << r.error().message;
  auto missing = load_labelled_queries(path.string());
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("cannot read"), std::string::npos);
}

TEST(EvalParse, the_shared_dev_set_loads) {
  const std::string dev = LIBROMIND_SOURCE_DIR "/../shared/eval/dev.jsonl";
  if (!std::filesystem::exists(dev)) GTEST_SKIP() << "no " << dev;
  auto r = load_labelled_queries(dev);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->size(), 50u);
  for (const auto& lq : *r) {
    bool has_two = false;
    for (const auto& [b, g] : lq.relevant) has_two = has_two || g == 2;
    EXPECT_TRUE(has_two) << lq.id;  // the README: every query has a grade-2 book
  }
}

}  // namespace
}  // namespace libromind::search
