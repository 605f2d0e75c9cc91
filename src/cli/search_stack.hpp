// The search stack shared by `serve` and `eval`: the derived indexes, the models found
// installed (query embedder, re-ranker, WordNet), the embedding jobs' handlers and the pipeline.
// Models that are missing leave their stages degraded; a model whose files fail their hashes
// stops the start with the file named.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "core/result.hpp"
#include "search/embed_jobs.hpp"
#include "search/encoders.hpp"
#include "search/pipeline.hpp"
#include "search/search_index.hpp"
#include "search/wordnet.hpp"
#include "store/store.hpp"

namespace libromind::cli {

struct SearchStackOptions {
  std::string index_dir;  // "" = private temporary files
  std::string model_dir;
  int index_max_tokens = 128;
  bool embed_in_background = false;  // load the embedding jobs' handlers (embed_jobs)
  int embed_threads = 1;
  int query_encoders = 2;
  int query_threads = 1;
  std::string wordnet_dir = "/usr/share/wordnet";
  search::Generator* generator = nullptr;  // the LLM stages' model server (null: none)
};

struct SearchStack {
  std::unique_ptr<search::SearchIndex> index;
  std::unique_ptr<search::EmbedderPool> encoder;
  std::unique_ptr<search::RerankerPool> reranker;
  std::unique_ptr<search::EmbedJobs> embed_jobs;  // registered with a worker by the caller
  std::optional<search::WordNet> wordnet;
  std::unique_ptr<search::Pipeline> pipeline;
  std::string model_id;  // "" without an embedder

  // The defaults a deployment gets: dense when an embedder is installed, re-rank when a
  // re-ranker is.
  search::PipelineConfig installed_defaults() const;
};

// The embedding jobs' handlers with their own embedder (book texts truncated to max_tokens), or
// null when no embedder is installed in model_dir.
core::Result<std::unique_ptr<search::EmbedJobs>> load_embed_jobs(store::Store& store,
                                                                 const std::string& model_dir,
                                                                 int max_tokens, int threads);

// Builds the stack and starts the index builder. `on_degraded` feeds the metric.
core::Result<std::unique_ptr<SearchStack>> build_search_stack(
    store::Store& store, const SearchStackOptions& options,
    std::function<void(const search::Degraded&)> on_degraded = {});

}  // namespace libromind::cli
