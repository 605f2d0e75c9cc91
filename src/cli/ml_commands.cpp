#include "cli/ml_commands.hpp"

#include "cli/flags.hpp"

#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "ml/embedder.hpp"
#include "ml/model_files.hpp"

namespace libromind::cli {
namespace {

// Prints floats with enough digits to round-trip.
nlohmann::json vector_json(const std::vector<float>& v) {
  nlohmann::json arr = nlohmann::json::array();
  for (float x : v) arr.push_back(x);
  return arr;
}

int run_embed(const MlFlags& f, std::vector<std::string> texts) {
  if (texts.empty()) {
    for (std::string line; std::getline(std::cin, line);) texts.push_back(line);
  }
  if (auto v = ml::verify_model_files(f.model_dir + "/embedder"); !v) {
    return fail(v.error().message);
  }
  auto embedder = ml::SentenceEmbedder::load(f.model_dir + "/embedder", encoder_options(f));
  if (!embedder) return fail(embedder.error().message);
  auto vectors = embedder->embed(texts);
  if (!vectors) return fail(vectors.error().message);
  for (size_t i = 0; i < texts.size(); ++i) {
    nlohmann::ordered_json line = {{"text", texts[i]}, {"embedding", vector_json((*vectors)[i])}};
    std::cout << line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  }
  return 0;
}

int run_rerank(const MlFlags& f, const std::string& query, const std::vector<std::string>& docs) {
  // A re-ranker may be supplied by hand (no registry carries one): its sums are checked when
  // fetch-models.sh installed it.
  if (auto v = ml::verify_model_files(f.model_dir + "/reranker", /*allow_unlisted=*/true); !v) {
    return fail(v.error().message);
  }
  auto encoder = ml::CrossEncoder::load(f.model_dir + "/reranker", encoder_options(f));
  if (!encoder) return fail(encoder.error().message);
  auto scores = encoder->score(query, docs);
  if (!scores) return fail(scores.error().message);
  for (size_t i = 0; i < docs.size(); ++i) {
    nlohmann::ordered_json line = {
        {"doc", docs[i]}, {"logit", scores->logits[i]}, {"score", scores->scores[i]}};
    std::cout << line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  }
  return 0;
}

}  // namespace

void add_ml_commands(CLI::App& app, int& exit_code) {
  auto* embed = app.add_subcommand(
      "embed", "Sentence embeddings: texts from arguments (or one per stdin line) -> JSON lines");
  auto ef = std::make_shared<MlFlags>();
  auto texts = std::make_shared<std::vector<std::string>>();
  add_ml_flags(*embed, *ef);
  embed->add_option("texts", *texts, "Texts to embed; without any, stdin lines are read");
  embed->callback([ef, texts, &exit_code] { exit_code = run_embed(*ef, *texts); });

  auto* rerank = app.add_subcommand(
      "rerank", "Cross-encoder relevance of documents to a query -> JSON lines (logit, score)");
  auto rf = std::make_shared<MlFlags>();
  auto query = std::make_shared<std::string>();
  auto docs = std::make_shared<std::vector<std::string>>();
  add_ml_flags(*rerank, *rf);
  rerank->add_option("--query", *query, "The query")->required();
  rerank->add_option("--doc", *docs, "A document (repeat for several)")->required();
  rerank->callback([rf, query, docs, &exit_code] { exit_code = run_rerank(*rf, *query, *docs); });
}

}  // namespace libromind::cli
