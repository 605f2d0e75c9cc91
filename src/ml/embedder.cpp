#include "ml/embedder.hpp"

#include <sys/stat.h>
#include <algorithm>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <numeric>
#include <sstream>

namespace libromind::ml {

namespace {

bool file_exists(const std::string& path) {
  struct stat sb {};
  return stat(path.c_str(), &sb) == 0 && S_ISREG(sb.st_mode);
}

core::Result<nlohmann::json> read_json(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return core::Error::not_found("cannot open '" + path + "'");
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  nlohmann::json j = nlohmann::json::parse(ss.str(), nullptr, false);
  if (j.is_discarded()) {
    return core::Error::invalid("'" + path + "' is not valid JSON");
  }
  return j;
}

// Where each forward pass's chunk of `order` ends: at most batch_size encodings, and at most
// max_batch_tokens once padded (lengths grow along `order`; a chunk holds at least one).
std::vector<size_t> chunk_ends(const std::vector<Encoding>& encodings,
                               const std::vector<size_t>& order, const EncoderOptions& options) {
  std::vector<size_t> ends;
  size_t start = 0;
  while (start < order.size()) {
    size_t end = start + 1;
    while (end < order.size() && end - start < static_cast<size_t>(options.batch_size) &&
           (end - start + 1) * encodings[order[end]].ids.size() <=
               static_cast<size_t>(options.max_batch_tokens)) {
      ++end;
    }
    ends.push_back(end);
    start = end;
  }
  return ends;
}

// Indices of `encodings` ordered by length (stable), so that neighbours pad to similar lengths.
std::vector<size_t> order_by_length(const std::vector<Encoding>& encodings) {
  std::vector<size_t> order(encodings.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return encodings[a].ids.size() < encodings[b].ids.size();
  });
  return order;
}

struct PoolingSetup {
  Pooling pooling = Pooling::kMean;
  bool normalize = false;
};

// sentence-transformers' modules.json names the modules after the transformer; only Pooling and
// Normalize change what we compute. Dense or other modules would be silently wrong: rejected.
core::Result<PoolingSetup> read_pooling_setup(const std::string& dir) {
  PoolingSetup setup;
  const std::string modules_path = dir + "/modules.json";
  if (!file_exists(modules_path)) {
    return setup;
  }
  LM_ASSIGN_OR_RETURN(nlohmann::json modules, read_json(modules_path));
  if (!modules.is_array()) {
    return core::Error::invalid("'" + modules_path + "' is not a JSON array of modules");
  }
  std::string pooling_dir;
  for (const nlohmann::json& m : modules) {
    const std::string type = m.is_object() ? m.value("type", std::string()) : std::string();
    if (type.ends_with(".Transformer")) {
      continue;
    }
    if (type.ends_with(".Pooling")) {
      pooling_dir = dir + "/" + m.value("path", std::string("1_Pooling"));
    } else if (type.ends_with(".Normalize")) {
      setup.normalize = true;
    } else {
      return core::Error::invalid("'" + modules_path + "': module type '" + type +
                                  "' is not supported (Transformer, Pooling, Normalize)");
    }
  }
  if (pooling_dir.empty()) {
    return setup;
  }
  const std::string cfg_path = pooling_dir + "/config.json";
  LM_ASSIGN_OR_RETURN(nlohmann::json cfg, read_json(cfg_path));
  if (!cfg.is_object()) {
    return core::Error::invalid("'" + cfg_path + "' is not a JSON object");
  }
  auto on = [&](const char* key) { return cfg.contains(key) && cfg[key] == true; };
  const char* unsupported[] = {"pooling_mode_max_tokens", "pooling_mode_mean_sqrt_len_tokens",
                               "pooling_mode_weightedmean_tokens", "pooling_mode_lasttoken"};
  for (const char* key : unsupported) {
    if (on(key)) {
      return core::Error::invalid("'" + cfg_path + "': " + key +
                                  " is not supported (mean or cls pooling)");
    }
  }
  const bool mean = on("pooling_mode_mean_tokens");
  const bool cls = on("pooling_mode_cls_token");
  if (mean == cls) {
    return core::Error::invalid("'" + cfg_path +
                                "': exactly one of pooling_mode_mean_tokens and "
                                "pooling_mode_cls_token must be true");
  }
  setup.pooling = mean ? Pooling::kMean : Pooling::kCls;
  return setup;
}

}  // namespace

// ---- SentenceEmbedder ----

core::Result<SentenceEmbedder> SentenceEmbedder::load(const std::string& model_dir,
                                                      const EncoderOptions& options) {
  LM_ASSIGN_OR_RETURN(BertConfig config, BertConfig::load(model_dir + "/config.json"));
  LM_ASSIGN_OR_RETURN(PoolingSetup setup, read_pooling_setup(model_dir));
  LM_ASSIGN_OR_RETURN(TokenizerOptions tokenizer_options,
                      WordPieceTokenizer::read_model_options(model_dir));
  if (options.max_seq_length >= 3 && options.max_seq_length < tokenizer_options.max_length) {
    tokenizer_options.max_length = options.max_seq_length;
  }
  LM_ASSIGN_OR_RETURN(WordPieceTokenizer tokenizer,
                      WordPieceTokenizer::load(model_dir + "/vocab.txt", tokenizer_options));
  LM_ASSIGN_OR_RETURN(BertModel model,
                      BertModel::load(model_dir + "/model.safetensors", config, options));
  SentenceEmbedder e(std::move(tokenizer), std::move(model));
  e.options_ = options;
  e.options_.batch_size = std::max<int32_t>(1, options.batch_size);
  e.options_.max_batch_tokens = std::max<int32_t>(1, options.max_batch_tokens);
  e.pooling_ = setup.pooling;
  e.normalize_ = setup.normalize;
  return e;
}

core::Result<std::vector<std::vector<float>>> SentenceEmbedder::embed(
    const std::vector<std::string>& texts) {
  std::vector<Encoding> encodings;
  encodings.reserve(texts.size());
  for (const std::string& t : texts) {
    encodings.push_back(tokenizer_.encode(t));
  }
  return embed_encodings(encodings);
}

core::Result<std::vector<std::vector<float>>> SentenceEmbedder::embed_encodings(
    const std::vector<Encoding>& encodings) {
  const int32_t dim = this->dim();
  std::vector<std::vector<float>> out(encodings.size());
  const std::vector<size_t> order = order_by_length(encodings);
  std::vector<Encoding> chunk;
  std::vector<float> pooled;
  size_t start = 0;
  for (size_t end : chunk_ends(encodings, order, options_)) {
    chunk.clear();
    for (size_t i = start; i < end; ++i) {
      chunk.push_back(encodings[order[i]]);
    }
    const Batch batch = tokenizer_.pad(chunk);
    LM_TRY(model_.forward(batch, &ws_));
    pooled.resize(static_cast<size_t>(batch.batch_size) * dim);
    if (pooling_ == Pooling::kMean) {
      mean_pool(ws_.hidden.data(), batch.attention_mask.data(), batch.batch_size, batch.seq_len,
                dim, pooled.data());
    } else {
      cls_pool(ws_.hidden.data(), batch.batch_size, batch.seq_len, dim, pooled.data());
    }
    for (int32_t b = 0; b < batch.batch_size; ++b) {
      float* v = pooled.data() + static_cast<size_t>(b) * dim;
      if (normalize_) {
        l2_normalize(v, dim);
      }
      out[order[start + b]].assign(v, v + dim);
    }
    start = end;
  }
  return out;
}

// ---- CrossEncoder ----

core::Result<CrossEncoder> CrossEncoder::load(const std::string& model_dir,
                                              const EncoderOptions& options) {
  const std::string config_path = model_dir + "/config.json";
  LM_ASSIGN_OR_RETURN(BertConfig config, BertConfig::load(config_path));
  if (config.num_labels != 1) {
    return core::Error::invalid("cross-encoder config '" + config_path + "' has " +
                                std::to_string(config.num_labels) +
                                " labels; a re-ranker needs exactly 1");
  }
  LM_ASSIGN_OR_RETURN(WordPieceTokenizer tokenizer,
                      WordPieceTokenizer::load_from_model_dir(model_dir));
  const std::string weights_path = model_dir + "/model.safetensors";
  LM_ASSIGN_OR_RETURN(BertModel model, BertModel::load(weights_path, config, options));
  if (!model.has_classifier()) {
    return core::Error::invalid("cross-encoder weights '" + weights_path +
                                "' lack the pooler (pooler.dense.*) or classifier "
                                "(classifier.*) tensors");
  }
  CrossEncoder c(std::move(tokenizer), std::move(model));
  c.options_ = options;
  c.options_.batch_size = std::max<int32_t>(1, options.batch_size);
  c.options_.max_batch_tokens = std::max<int32_t>(1, options.max_batch_tokens);
  return c;
}

core::Result<CrossEncoderScores> CrossEncoder::score(std::string_view query,
                                                     const std::vector<std::string>& docs) {
  std::vector<Encoding> pairs;
  pairs.reserve(docs.size());
  for (const std::string& d : docs) {
    pairs.push_back(tokenizer_.encode_pair(query, d));
  }
  return score_encodings(pairs);
}

core::Result<CrossEncoderScores> CrossEncoder::score_encodings(const std::vector<Encoding>& pairs) {
  CrossEncoderScores out;
  out.logits.resize(pairs.size());
  out.scores.resize(pairs.size());
  const std::vector<size_t> order = order_by_length(pairs);
  std::vector<Encoding> chunk;
  size_t start = 0;
  for (size_t end : chunk_ends(pairs, order, options_)) {
    chunk.clear();
    for (size_t i = start; i < end; ++i) {
      chunk.push_back(pairs[order[i]]);
    }
    const Batch batch = tokenizer_.pad(chunk);
    LM_TRY(model_.forward(batch, &ws_));
    LM_TRY(model_.classify(&ws_, &logits_));
    for (int32_t b = 0; b < batch.batch_size; ++b) {
      const float logit = logits_[static_cast<size_t>(b)];
      out.logits[order[start + b]] = logit;
      out.scores[order[start + b]] = 1.0f / (1.0f + std::exp(-logit));
    }
    start = end;
  }
  return out;
}

}  // namespace libromind::ml
