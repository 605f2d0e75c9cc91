// The search pipeline: query -> [expansion] -> lexical top-K and dense top-K [+ HyDE] -> RRF
// fusion (filters applied inside both retrievers) -> [cross-encoder re-rank of the top N].
// Every stage is switchable per request (PipelineConfig) and timed; a stage whose model or
// server is missing or failing is skipped and named in `degraded`, never failing the search.
//
//   search::Pipeline pipeline(index, {.embedder = &pool, .wordnet = &wn});
//   LM_ASSIGN_OR_RETURN(auto r, pipeline.search({.query = "whaling voyages", .limit = 10}));
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/result.hpp"
#include "search/encoders.hpp"
#include "search/search_index.hpp"
#include "search/wordnet.hpp"
#include "store/store.hpp"

namespace libromind::search {

// Text generation for the LLM stages (query expansion, HyDE); llm::Client adapts to it.
class Generator {
 public:
  virtual ~Generator() = default;
  // One complete answer; a failure is an Error (the stage then falls back).
  virtual core::Result<std::string> generate(const std::string& system, const std::string& user,
                                             int max_tokens) = 0;
  // False while the model server is known to be down (circuit open).
  virtual bool available() const = 0;
  virtual std::string model() const = 0;
};

enum class StageSource { kOff, kAuto, kLlm, kOffline };
const char* to_string(StageSource s);
core::Result<StageSource> parse_stage_source(std::string_view s);

struct PipelineConfig {
  bool lexical = true;
  bool dense = true;
  bool rerank = false;
  StageSource expansion = StageSource::kOff;  // auto: the LLM, else WordNet
  StageSource hyde = StageSource::kOff;       // auto: the LLM, else pseudo-relevance feedback
  int lexical_k = 100;
  // Candidate budget of the lexical retriever (LexicalQuery::candidate_budget): books holding
  // one of the query's rarer words, up to about this many, are scored; 0 scores every book
  // holding any of its words. Bounds the lexical stage's cost on long queries of common words.
  int lexical_budget = 5000;
  int dense_k = 100;
  double rrf_k = 60;
  // Weight of the dense lists (the query's, the variants' and HyDE's) in the fusion, against 1
  // for the lexical query's list.
  double dense_weight = 1.0;
  int rerank_n = 20;
  int expansion_variants = 3;

  // {"lexical":true,...}: stored with each request, returned in responses.
  std::string to_json() const;
  // "lexical+dense+rerank": the label feedback statistics group by.
  std::string label() const;
};

struct SearchRequest {
  std::string query;
  SearchFilters filters;
  int limit = 20;
  PipelineConfig config;
};

struct StageTiming {
  std::string stage;
  double ms = 0;
};

// Milliseconds since t0 on the steady clock (the unit of StageTiming and total_ms).
double ms_since(std::chrono::steady_clock::time_point t0);

struct Degraded {
  std::string stage;   // "dense", "rerank", "expansion", "hyde"
  std::string reason;  // why it was skipped or fell back
};

struct SearchHit {
  int64_t id = 0;    // books.id
  double score = 0;  // fused (or re-rank) score, higher is better
  std::optional<int> lexical_rank, dense_rank;
  std::optional<float> rerank_score;  // sigmoid of the cross-encoder logit
};

struct SearchResult {
  std::vector<SearchHit> hits;
  std::vector<StageTiming> timings;
  std::vector<Degraded> degraded;
  std::vector<std::string> expansions;  // the query variants used
  std::string hyde_text;                // the hypothetical description used ("" when none)
  std::vector<std::string> terms;       // the lexical terms (for highlighting)
  double total_ms = 0;
};

struct PipelineDeps {
  EmbedderPool* embedder = nullptr;  // null: no dense stage
  RerankerPool* reranker = nullptr;  // null: no re-rank stage
  const WordNet* wordnet = nullptr;  // null: no offline expansion
  Generator* generator = nullptr;    // null: no LLM stages
  store::Store* store = nullptr;     // for re-rank texts
  // Called once per skipped or degraded stage (metrics).
  std::function<void(const Degraded&)> on_degraded;
};

class Pipeline {
 public:
  Pipeline(const SearchIndex& index, PipelineDeps deps) : index_(index), deps_(std::move(deps)) {}

  // Empty queries are the caller's to refuse; here they give no hits.
  core::Result<SearchResult> search(const SearchRequest& request) const;
  // Dense neighbours of a book's own vector (excluding the book), with filters.
  core::Result<SearchResult> similar(int64_t book_id, const SearchFilters& filters,
                                     int limit) const;

  bool has_dense() const { return deps_.embedder && index_.vectors(); }
  bool has_reranker() const { return deps_.reranker != nullptr; }
  bool has_generator() const { return deps_.generator != nullptr; }

 private:
  const SearchIndex& index_;
  PipelineDeps deps_;
};

}  // namespace libromind::search
