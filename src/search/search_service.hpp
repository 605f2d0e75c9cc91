// What the search endpoints call: the pipeline's ranked ids turned into books with current
// prices and stock, highlights and a recorded request id; similar books; autocomplete; and
// the state of the indexes and of the background embedding.
//
//   search::SearchService svc(catalog, index, pipeline, &log, defaults);
//   LM_ASSIGN_OR_RETURN(auto r, svc.search(request, request_id));
#pragma once

#include <map>
#include <string>
#include <vector>

#include "catalog/catalog_service.hpp"
#include "core/result.hpp"
#include "search/embed_jobs.hpp"
#include "search/lexical_index.hpp"
#include "search/pipeline.hpp"
#include "search/request_log.hpp"
#include "search/search_index.hpp"

namespace libromind::search {

struct FoundBook {
  catalog::Book book;
  SearchHit hit;
  std::optional<Highlight> highlight;
};

struct SearchResponse {
  std::string request_id;
  std::string query;
  PipelineConfig config;
  std::vector<FoundBook> books;
  SearchResult result;  // timings, degraded stages, expansions
};

struct SuggestItem {
  std::string book_id;  // public id
  std::string title;
  std::string authors;
};

class SearchService {
 public:
  SearchService(catalog::CatalogService& catalog, const SearchIndex& index,
                const Pipeline& pipeline, RequestLog* log, PipelineConfig defaults)
      : catalog_(catalog), index_(index), pipeline_(pipeline), log_(log), defaults_(defaults) {}

  const PipelineConfig& defaults() const { return defaults_; }
  const Pipeline& pipeline() const { return pipeline_; }
  const SearchIndex& index() const { return index_; }
  catalog::CatalogService& catalog() const { return catalog_; }
  // The in-process embedder whose progress /search/status shows (none: not shown).
  void set_embedder(const EmbedJobs* e) { embedder_ = e; }
  const EmbedJobs* embedder() const { return embedder_; }

  // 503 (unavailable) while the lexical index is first built.
  core::Result<SearchResponse> search(const SearchRequest& request, const std::string& request_id,
                                      const std::string& kind = "search");
  core::Result<SearchResponse> similar(const std::string& book_id, const SearchFilters& filters,
                                       int limit, const std::string& request_id);
  // Recommendation picks: the query's hits (when a query is given) and each seed book's dense
  // neighbours, fused by reciprocal rank fusion, the seeds themselves left out. Recorded as a
  // "recommendations" request. Unknown seed ids are a kNotFound error naming the id.
  core::Result<SearchResponse> picks(const std::string& query,
                                     const std::vector<std::string>& seed_ids,
                                     const SearchFilters& filters, int limit,
                                     const PipelineConfig& config, const std::string& request_id);
  core::Result<std::vector<SuggestItem>> suggest(const std::string& prefix, int limit);

 private:
  core::Result<std::vector<FoundBook>> books_for(SearchResult& r,
                                                 const std::vector<std::string>& terms);
  void record(const SearchResponse& r, const std::string& kind);

  catalog::CatalogService& catalog_;
  const SearchIndex& index_;
  const Pipeline& pipeline_;
  RequestLog* log_;
  PipelineConfig defaults_;
  const EmbedJobs* embedder_ = nullptr;
};

}  // namespace libromind::search
