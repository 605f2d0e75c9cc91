#include "search/fusion.hpp"

#include <algorithm>
#include <unordered_map>

namespace libromind::search {

std::vector<Ranked> rrf(const std::vector<std::vector<int64_t>>& lists, double k,
                        const std::vector<double>& weights) {
  std::unordered_map<int64_t, size_t> slot;
  std::vector<Ranked> out;
  for (size_t l = 0; l < lists.size(); ++l) {
    const double w = l < weights.size() ? weights[l] : 1.0;
    std::unordered_map<int64_t, bool> seen;
    int rank = 0;
    for (int64_t id : lists[l]) {
      if (!seen.emplace(id, true).second) continue;
      ++rank;
      auto [it, inserted] = slot.emplace(id, out.size());
      if (inserted) out.push_back({id, 0.0, rank});
      Ranked& r = out[it->second];
      r.score += w / (k + rank);
      r.best_rank = std::min(r.best_rank, rank);
    }
  }
  std::sort(out.begin(), out.end(), [](const Ranked& a, const Ranked& b) {
    if (a.score != b.score) return a.score > b.score;
    if (a.best_rank != b.best_rank) return a.best_rank < b.best_rank;
    return a.id < b.id;
  });
  return out;
}

}  // namespace libromind::search
