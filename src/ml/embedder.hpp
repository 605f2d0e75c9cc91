// The two models the search service runs: a sentence embedder (BERT + pooling + L2 normalise,
// as sentence-transformers configures it) and a cross-encoder re-ranker (BERT + pooler +
// classifier, one logit per query/document pair), each with its WordPiece tokenizer.
//
//   LM_ASSIGN_OR_RETURN(ml::SentenceEmbedder emb, ml::SentenceEmbedder::load(dir + "/embedder"));
//   LM_ASSIGN_OR_RETURN(auto vectors, emb.embed({"a novel about whales", "Emma"}));
//   LM_ASSIGN_OR_RETURN(ml::CrossEncoder ce, ml::CrossEncoder::load(dir + "/reranker"));
//   LM_ASSIGN_OR_RETURN(ml::CrossEncoderScores s, ce.score("whales", descriptions));
//
// Neither class is safe for concurrent calls on one instance (each reuses its activation
// buffers); use one instance per thread or a lock.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"
#include "ml/bert.hpp"
#include "ml/encoding.hpp"
#include "ml/tokenizer.hpp"

namespace libromind::ml {

enum class Pooling {
  kMean,  // mean of the token vectors under the attention mask
  kCls,   // the [CLS] token vector
};

class SentenceEmbedder {
 public:
  // Reads config.json, vocab.txt (+ tokenizer options), model.safetensors, modules.json (a
  // Normalize module turns on L2 normalisation) and the Pooling module's config.json
  // (1_Pooling/config.json: mean or cls). A model directory without modules.json gets mean
  // pooling without normalisation, as sentence-transformers does for a plain BERT.
  static core::Result<SentenceEmbedder> load(
      const std::string& model_dir, const EncoderOptions& options = default_encoder_options());

  // One vector of dim() floats per text, in input order. Texts are sorted by length (so that a
  // batch carries little padding) and run in batches of up to options.batch_size texts and
  // options.max_batch_tokens padded tokens.
  core::Result<std::vector<std::vector<float>>> embed(const std::vector<std::string>& texts);

  // The same for already tokenized texts (parity tests feed the reference's ids).
  core::Result<std::vector<std::vector<float>>> embed_encodings(
      const std::vector<Encoding>& encodings);

  int32_t dim() const { return model_.config().hidden_size; }
  Pooling pooling() const { return pooling_; }
  bool normalizes() const { return normalize_; }
  const WordPieceTokenizer& tokenizer() const { return tokenizer_; }

 private:
  SentenceEmbedder(WordPieceTokenizer tokenizer, BertModel model)
      : tokenizer_(std::move(tokenizer)), model_(std::move(model)) {}

  WordPieceTokenizer tokenizer_;
  BertModel model_;
  BertWorkspace ws_;
  EncoderOptions options_;
  Pooling pooling_ = Pooling::kMean;
  bool normalize_ = false;
};

struct CrossEncoderScores {
  std::vector<float> logits;  // the classifier's single logit per document, in input order
  std::vector<float> scores;  // sigmoid(logit), in 0..1
};

class CrossEncoder {
 public:
  // Reads config.json (num_labels must be 1), vocab.txt (+ tokenizer options) and a
  // model.safetensors of a BertForSequenceClassification (pooler and classifier required).
  static core::Result<CrossEncoder> load(const std::string& model_dir,
                                         const EncoderOptions& options = default_encoder_options());

  // Scores each (query, doc) pair: [CLS] query [SEP] doc [SEP], truncated as the reference.
  core::Result<CrossEncoderScores> score(std::string_view query,
                                         const std::vector<std::string>& docs);

  // The same for already encoded pairs (ids, type ids, mask).
  core::Result<CrossEncoderScores> score_encodings(const std::vector<Encoding>& pairs);

  const WordPieceTokenizer& tokenizer() const { return tokenizer_; }

 private:
  CrossEncoder(WordPieceTokenizer tokenizer, BertModel model)
      : tokenizer_(std::move(tokenizer)), model_(std::move(model)) {}

  WordPieceTokenizer tokenizer_;
  BertModel model_;
  BertWorkspace ws_;
  EncoderOptions options_;
  std::vector<float> logits_;  // one batch's logits
};

}  // namespace libromind::ml
