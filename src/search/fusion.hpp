// Reciprocal rank fusion (Cormack, Clarke and Büttcher, SIGIR 2009): each ranked list gives a
// document 1 / (k + rank) (rank from 1), summed over the lists; k damps the weight of the top
// ranks (60 in the paper). Ties are broken by the best rank the document reached in any list,
// then by id, so the fused order is deterministic.
//
//   std::vector<search::Ranked> fused = search::rrf({lexical_ids, dense_ids}, 60);
#pragma once

#include <cstdint>
#include <vector>

namespace libromind::search {

struct Ranked {
  int64_t id = 0;     // book primary key
  double score = 0;   // fused score
  int best_rank = 0;  // best 1-based rank in any input list
};

// Lists hold book ids best first; duplicates within a list count once (the first). `weights`
// (one per list, default 1) scales each list's contribution. k must be > 0.
std::vector<Ranked> rrf(const std::vector<std::vector<int64_t>>& lists, double k,
                        const std::vector<double>& weights = {});

}  // namespace libromind::search
