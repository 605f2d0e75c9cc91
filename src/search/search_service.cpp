#include "search/search_service.hpp"

#include <chrono>
#include <unordered_map>
#include <unordered_set>

#include "core/text.hpp"
#include "search/fusion.hpp"
#include "search/query_terms.hpp"

namespace libromind::search {
namespace {

core::Error still_building() {
  auto e = core::Error::make(core::ErrorCode::kUnavailable,
                             "the search index is still being built; try again shortly",
                             "index-building");
  e.retry_after_seconds = 5;
  return e;
}

}  // namespace

core::Result<std::vector<FoundBook>> SearchService::books_for(
    SearchResult& r, const std::vector<std::string>& terms) {
  using Clock = std::chrono::steady_clock;
  std::vector<int64_t> ids;
  ids.reserve(r.hits.size());
  for (const auto& h : r.hits) ids.push_back(h.id);
  auto t0 = Clock::now();
  LM_ASSIGN_OR_RETURN(auto books, catalog_.get_books_by_pk(ids));
  double ms = ms_since(t0);
  r.timings.push_back({"books", ms});
  r.total_ms += ms;
  std::map<int64_t, Highlight> highlights;
  if (!terms.empty() && index_.lexical_ready()) {
    t0 = Clock::now();
    auto hl = index_.lexical().highlight(LexicalQuery{terms, {}, 0}, ids);
    if (hl) highlights = std::move(*hl);  // highlights are a nicety: never fail the search
    ms = ms_since(t0);
    r.timings.push_back({"highlight", ms});
    r.total_ms += ms;
  }
  std::unordered_map<int64_t, const SearchHit*> hit_of;
  for (const auto& h : r.hits) hit_of.emplace(h.id, &h);
  std::vector<FoundBook> out;
  out.reserve(books.size());
  for (auto& b : books) {
    FoundBook f;
    f.hit = *hit_of[b.pk];
    if (auto it = highlights.find(b.pk); it != highlights.end()) f.highlight = it->second;
    f.book = std::move(b);
    out.push_back(std::move(f));
  }
  return out;
}

void SearchService::record(const SearchResponse& r, const std::string& kind) {
  if (!log_) return;
  RequestRecord rec{r.request_id, kind, r.query, r.config.label(), {}};
  for (const auto& b : r.books) rec.book_ids.push_back(b.book.id);
  log_->record(std::move(rec));
}

core::Result<SearchResponse> SearchService::search(const SearchRequest& request,
                                                   const std::string& request_id,
                                                   const std::string& kind) {
  if (!index_.lexical_ready()) return still_building();
  SearchResponse out;
  out.request_id = request_id;
  out.query = request.query;
  out.config = request.config;
  LM_ASSIGN_OR_RETURN(out.result, pipeline_.search(request));
  LM_ASSIGN_OR_RETURN(out.books, books_for(out.result, out.result.terms));
  record(out, kind);
  return out;
}

core::Result<SearchResponse> SearchService::similar(const std::string& book_id,
                                                    const SearchFilters& filters, int limit,
                                                    const std::string& request_id) {
  if (!index_.lexical_ready()) return still_building();
  LM_ASSIGN_OR_RETURN(int64_t pk, catalog_.pk_of(book_id));
  SearchResponse out;
  out.request_id = request_id;
  out.query = book_id;
  out.config.lexical = false;
  out.config.dense = true;
  LM_ASSIGN_OR_RETURN(out.result, pipeline_.similar(pk, filters, limit));
  LM_ASSIGN_OR_RETURN(out.books, books_for(out.result, {}));
  record(out, "similar");
  return out;
}

core::Result<SearchResponse> SearchService::picks(const std::string& query,
                                                  const std::vector<std::string>& seed_ids,
                                                  const SearchFilters& filters, int limit,
                                                  const PipelineConfig& config,
                                                  const std::string& request_id) {
  if (!index_.lexical_ready()) return still_building();
  SearchResponse out;
  out.request_id = request_id;
  out.query = query;
  out.config = config;
  std::vector<int64_t> seeds;
  for (const auto& id : seed_ids) {
    auto pk = catalog_.pk_of(id);
    if (!pk) {
      if (pk.error().code == core::ErrorCode::kNotFound) {
        core::Error e(core::ErrorCode::kNotFound, "no book with id '" + id + "'", "seed_books");
        return e;
      }
      return pk.error();
    }
    seeds.push_back(*pk);
  }
  const std::unordered_set<int64_t> excluded(seeds.begin(), seeds.end());
  // Each list asks for the seeds' count more, so that leaving them out still fills `limit`.
  const int depth = std::max(limit, 20) + static_cast<int>(seeds.size());
  std::vector<std::vector<int64_t>> lists;
  std::unordered_map<int64_t, SearchHit> hit_of;
  auto add_list = [&](const SearchResult& r) {
    std::vector<int64_t> ids;
    for (const auto& h : r.hits) {
      if (excluded.contains(h.id)) continue;
      ids.push_back(h.id);
      hit_of.try_emplace(h.id, h);
    }
    lists.push_back(std::move(ids));
    out.result.timings.insert(out.result.timings.end(), r.timings.begin(), r.timings.end());
    for (const auto& d : r.degraded) {
      bool seen = false;
      for (const auto& e : out.result.degraded)
        seen = seen || (e.stage == d.stage && e.reason == d.reason);
      if (!seen) out.result.degraded.push_back(d);
    }
  };
  const auto started = std::chrono::steady_clock::now();
  if (!core::trim(query).empty()) {
    SearchRequest req{query, filters, depth, config};
    LM_ASSIGN_OR_RETURN(auto r, pipeline_.search(req));
    out.result.expansions = r.expansions;
    out.result.hyde_text = r.hyde_text;
    out.result.terms = r.terms;
    add_list(r);
  }
  bool seed_failed = false;
  for (int64_t pk : seeds) {
    // Without a vector for the seed (still embedding, or no embedder), similar() falls back to
    // books sharing its title and genre words and says so in `degraded`.
    auto r = pipeline_.similar(pk, filters, depth);
    if (!r) {
      seed_failed = true;  // the others still count
      continue;
    }
    add_list(*r);
  }
  if (seed_failed) out.result.degraded.push_back({"seeds", "some seed books could not be used"});
  for (const auto& f : rrf(lists, config.rrf_k)) {
    if (static_cast<int>(out.result.hits.size()) >= limit) break;
    SearchHit h = hit_of[f.id];
    if (lists.size() > 1) h.score = f.score;
    out.result.hits.push_back(h);
  }
  out.result.total_ms = ms_since(started);
  LM_ASSIGN_OR_RETURN(out.books, books_for(out.result, out.result.terms));
  record(out, "recommendations");
  return out;
}

core::Result<std::vector<SuggestItem>> SearchService::suggest(const std::string& prefix,
                                                              int limit) {
  if (!index_.lexical_ready()) return still_building();
  std::vector<std::string> words = query_words(prefix);
  if (words.size() > 8) words.erase(words.begin(), words.end() - 8);
  LM_ASSIGN_OR_RETURN(auto found, index_.lexical().suggest(words, limit));
  std::vector<SuggestItem> out;
  for (auto& s : found)
    out.push_back({std::move(s.ext_id), std::move(s.title), std::move(s.authors)});
  return out;
}

}  // namespace libromind::search
