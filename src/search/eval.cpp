#include "search/eval.hpp"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

namespace libromind::search {
namespace {

std::vector<std::string> dedup(const std::vector<std::string>& ranking) {
  std::set<std::string> seen;
  std::vector<std::string> out;
  for (const auto& b : ranking) {
    if (seen.insert(b).second) out.push_back(b);
  }
  return out;
}

int grade(const std::map<std::string, int>& rel, const std::string& b) {
  auto it = rel.find(b);
  return it == rel.end() ? 0 : it->second;
}

}  // namespace

core::Result<std::vector<LabelledQuery>> parse_labelled_queries(std::string_view text) {
  std::vector<LabelledQuery> out;
  size_t line_no = 0, start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(start, end - start);
    start = end + 1;
    ++line_no;
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    auto fail = [&](const std::string& why) {
      return core::Error::invalid("line " + std::to_string(line_no) + ": " + why);
    };
    nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return fail("not a JSON object");
    LabelledQuery q;
    if (!j.contains("id") || !j["id"].is_string()) return fail("\"id\" must be a string");
    if (!j.contains("query") || !j["query"].is_string()) return fail("\"query\" must be a string");
    q.id = j["id"].get<std::string>();
    q.query = j["query"].get<std::string>();
    q.type = j.contains("type") && j["type"].is_string() ? j["type"].get<std::string>() : "?";
    if (!j.contains("relevant") || !j["relevant"].is_object()) {
      return fail("\"relevant\" must be an object of book id -> grade");
    }
    for (const auto& [book, g] : j["relevant"].items()) {
      if (!g.is_number_integer()) return fail("grade of " + book + " must be an integer");
      q.relevant[book] = g.get<int>();
    }
    out.push_back(std::move(q));
  }
  return out;
}

core::Result<std::vector<LabelledQuery>> load_labelled_queries(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return core::Error::invalid("cannot read " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  auto r = parse_labelled_queries(ss.str());
  if (!r) return core::Error::invalid(path + ": " + r.error().message);
  return r;
}

double ndcg_at(const std::vector<std::string>& ranking, const std::map<std::string, int>& rel,
               size_t k) {
  const auto r = dedup(ranking);
  double dcg = 0;
  for (size_t i = 0; i < r.size() && i < k; ++i) {
    const int g = grade(rel, r[i]);
    if (g > 0) dcg += (std::pow(2.0, g) - 1) / std::log2(static_cast<double>(i) + 2);
  }
  std::vector<int> ideal;
  for (const auto& [b, g] : rel) ideal.push_back(g);
  std::sort(ideal.rbegin(), ideal.rend());
  double idcg = 0;
  for (size_t i = 0; i < ideal.size() && i < k; ++i) {
    if (ideal[i] > 0) idcg += (std::pow(2.0, ideal[i]) - 1) / std::log2(static_cast<double>(i) + 2);
  }
  return idcg > 0 ? dcg / idcg : 0.0;
}

double recall_at(const std::vector<std::string>& ranking, const std::map<std::string, int>& rel,
                 size_t k) {
  const auto r = dedup(ranking);
  size_t relevant = 0, found = 0;
  for (const auto& [b, g] : rel) relevant += g >= 1 ? 1 : 0;
  if (relevant == 0) return 0.0;
  for (size_t i = 0; i < r.size() && i < k; ++i) found += grade(rel, r[i]) >= 1 ? 1 : 0;
  return static_cast<double>(found) / static_cast<double>(relevant);
}

double mrr_at(const std::vector<std::string>& ranking, const std::map<std::string, int>& rel,
              size_t k) {
  const auto r = dedup(ranking);
  for (size_t i = 0; i < r.size() && i < k; ++i) {
    if (grade(rel, r[i]) >= 1) return 1.0 / static_cast<double>(i + 1);
  }
  return 0.0;
}

std::vector<QueryScore> score_queries(const std::vector<LabelledQuery>& queries,
                                      const std::map<std::string, std::vector<std::string>>& runs) {
  std::vector<QueryScore> out;
  static const std::vector<std::string> kNone;
  for (const auto& q : queries) {
    auto it = runs.find(q.id);
    const auto& ranking = it == runs.end() ? kNone : it->second;
    out.push_back({q.id, q.type, ndcg_at(ranking, q.relevant), recall_at(ranking, q.relevant),
                   mrr_at(ranking, q.relevant)});
  }
  return out;
}

std::vector<std::pair<std::string, MetricMeans>> summarise(const std::vector<QueryScore>& scores) {
  static const std::vector<std::string> kOrder{"known-item", "thematic", "keyword", "constraint",
                                               "hard"};
  std::map<std::string, std::vector<const QueryScore*>> groups;
  for (const auto& s : scores) groups[s.type].push_back(&s);
  std::vector<std::string> types;
  for (const auto& t : kOrder) {
    if (groups.count(t)) types.push_back(t);
  }
  for (const auto& [t, v] : groups) {
    if (std::find(kOrder.begin(), kOrder.end(), t) == kOrder.end()) types.push_back(t);
  }
  auto mean = [](const std::vector<const QueryScore*>& rows) {
    MetricMeans m;
    m.n = rows.size();
    for (const auto* r : rows) {
      m.ndcg10 += r->ndcg10;
      m.recall50 += r->recall50;
      m.mrr10 += r->mrr10;
    }
    if (m.n) {
      m.ndcg10 /= m.n;
      m.recall50 /= m.n;
      m.mrr10 /= m.n;
    }
    return m;
  };
  std::vector<std::pair<std::string, MetricMeans>> out;
  for (const auto& t : types) out.emplace_back(t, mean(groups[t]));
  std::vector<const QueryScore*> all;
  for (const auto& s : scores) all.push_back(&s);
  out.emplace_back("overall", mean(all));
  return out;
}

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  p = std::clamp(p, 0.0, 100.0);
  std::sort(v.begin(), v.end());
  const double pos = p / 100.0 * static_cast<double>(v.size() - 1);
  const size_t lo = static_cast<size_t>(std::floor(pos));
  const size_t hi = std::min(v.size() - 1, lo + 1);
  return v[lo] + (v[hi] - v[lo]) * (pos - static_cast<double>(lo));
}

}  // namespace libromind::search
