#include "cli/search_stack.hpp"

#include <filesystem>

#include "ml/model_files.hpp"
#include "search/indexer.hpp"
#include "telemetry/log.hpp"

namespace libromind::cli {

search::PipelineConfig SearchStack::installed_defaults() const {
  search::PipelineConfig c;
  c.dense = encoder != nullptr;
  c.rerank = reranker != nullptr;
  return c;
}

core::Result<std::unique_ptr<search::EmbedJobs>> load_embed_jobs(store::Store& store,
                                                                 const std::string& model_dir,
                                                                 int max_tokens, int threads) {
  const std::string dir = model_dir + "/embedder";
  if (!std::filesystem::exists(dir + "/model.safetensors")) {
    return std::unique_ptr<search::EmbedJobs>();
  }
  LM_TRY(ml::verify_model_files(dir));
  LM_ASSIGN_OR_RETURN(std::string model_id, search::book_vector_model_id(dir, max_tokens));
  ml::EncoderOptions bo = ml::default_encoder_options();
  bo.threads = threads;
  bo.max_seq_length = max_tokens;
  LM_ASSIGN_OR_RETURN(ml::SentenceEmbedder e, ml::SentenceEmbedder::load(dir, bo));
  return std::make_unique<search::EmbedJobs>(
      store, std::make_unique<ml::SentenceEmbedder>(std::move(e)), model_id);
}

core::Result<std::unique_ptr<SearchStack>> build_search_stack(
    store::Store& store, const SearchStackOptions& o,
    std::function<void(const search::Degraded&)> on_degraded) {
  auto st = std::make_unique<SearchStack>();
  const std::string embedder_dir = o.model_dir + "/embedder";
  const std::string reranker_dir = o.model_dir + "/reranker";
  int32_t dim = 0;
  if (std::filesystem::exists(embedder_dir + "/model.safetensors")) {
    LM_TRY(ml::verify_model_files(embedder_dir));
    LM_ASSIGN_OR_RETURN(st->model_id,
                        search::book_vector_model_id(embedder_dir, o.index_max_tokens));
    ml::EncoderOptions qo = ml::default_encoder_options();
    qo.threads = o.query_threads;
    LM_ASSIGN_OR_RETURN(st->encoder,
                        search::EmbedderPool::load(embedder_dir, qo, o.query_encoders));
    dim = st->encoder->dim();
    if (o.embed_in_background) {
      LM_ASSIGN_OR_RETURN(st->embed_jobs,
                          load_embed_jobs(store, o.model_dir, o.index_max_tokens, o.embed_threads));
    }
  } else {
    telemetry::log_warn("search_no_embedder",
                        {{"model_dir", o.model_dir},
                         {"effect", "dense search is off; run scripts/fetch-models.sh"}});
  }
  if (std::filesystem::exists(reranker_dir + "/model.safetensors")) {
    LM_TRY(ml::verify_model_files(reranker_dir, /*allow_unlisted=*/true));
    ml::EncoderOptions ro = ml::default_encoder_options();
    ro.threads = o.query_threads;
    LM_ASSIGN_OR_RETURN(st->reranker, search::RerankerPool::load(reranker_dir, ro, 1));
  }
  if (auto wn = search::WordNet::load(o.wordnet_dir); wn) {
    st->wordnet.emplace(std::move(*wn));
  } else {
    telemetry::log_warn("search_no_wordnet", {{"error", wn.error().message}});
  }

  search::SearchIndexOptions io;
  io.dir = o.index_dir;
  io.model_id = st->model_id;
  io.dim = dim;
  st->index = std::make_unique<search::SearchIndex>(store, io);
  LM_TRY(st->index->start());

  search::PipelineDeps deps;
  deps.embedder = st->encoder.get();
  deps.reranker = st->reranker.get();
  deps.wordnet = st->wordnet ? &*st->wordnet : nullptr;
  deps.store = &store;
  deps.generator = o.generator;
  deps.on_degraded = std::move(on_degraded);
  st->pipeline = std::make_unique<search::Pipeline>(*st->index, deps);
  return st;
}

}  // namespace libromind::cli
