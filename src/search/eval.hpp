// Search quality: the metrics of ../shared/eval (nDCG@10 with gain 2^grade - 1, Recall@50 over
// grade >= 1, MRR@10), computed per query and averaged with equal weight, overall and per query
// type — the same definitions as its score.py, which `libromind eval --run-file` output feeds.
//
//   LM_ASSIGN_OR_RETURN(auto queries, search::load_labelled_queries("dev.jsonl"));
//   double n = search::ndcg_at(ranking, queries[0].relevant, 10);
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"

namespace libromind::search {

struct LabelledQuery {
  std::string id;
  std::string type;
  std::string query;
  std::map<std::string, int> relevant;  // book id -> grade (1 or 2; unlisted = 0)
};

// Parses a JSON Lines file of labelled queries; a bad line is an error naming the line.
core::Result<std::vector<LabelledQuery>> parse_labelled_queries(std::string_view text);
core::Result<std::vector<LabelledQuery>> load_labelled_queries(const std::string& path);

// Rankings are book ids best first; a repeated id counts at its first position only.
double ndcg_at(const std::vector<std::string>& ranking, const std::map<std::string, int>& rel,
               size_t k = 10);
double recall_at(const std::vector<std::string>& ranking, const std::map<std::string, int>& rel,
                 size_t k = 50);
double mrr_at(const std::vector<std::string>& ranking, const std::map<std::string, int>& rel,
              size_t k = 10);

struct MetricMeans {
  size_t n = 0;
  double ndcg10 = 0, recall50 = 0, mrr10 = 0;
};

struct QueryScore {
  std::string id, type;
  double ndcg10 = 0, recall50 = 0, mrr10 = 0;
};

// Scores every labelled query (a missing ranking scores 0) and averages by type and overall
// (the last entry, "overall"); types in the order known-item, thematic, keyword, constraint,
// hard, then others alphabetically.
std::vector<QueryScore> score_queries(const std::vector<LabelledQuery>& queries,
                                      const std::map<std::string, std::vector<std::string>>& runs);
std::vector<std::pair<std::string, MetricMeans>> summarise(const std::vector<QueryScore>& scores);

// The p-th percentile (0..100) of a sample, by linear interpolation; 0 for an empty sample.
double percentile(std::vector<double> sample, double p);

}  // namespace libromind::search
