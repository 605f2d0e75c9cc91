#include "ml/bert.hpp"

#include <cblas.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

// Declared by OpenBLAS's own cblas.h but not by the generic one the alternatives system may
// install as <cblas.h>; the symbol is OpenBLAS's either way.
extern "C" void openblas_set_num_threads(int num_threads);

namespace libromind::ml {

namespace {

constexpr float kSqrtHalf = 0.70710678118654752440f;

// y[rows, out] = x[rows, in] * w^T + b (HF Linear: w is [out, in]). With `accumulate`, the
// product and bias are added to what y holds (the residual connection), saving a pass.
void linear(const float* x, int64_t rows, int32_t in, const float* w, const float* b, int32_t out,
            float* y, bool accumulate) {
  for (int64_t r = 0; r < rows; ++r) {
    float* yr = y + r * out;
    if (accumulate) {
      for (int32_t j = 0; j < out; ++j) {
        yr[j] += b[j];
      }
    } else {
      std::memcpy(yr, b, sizeof(float) * static_cast<size_t>(out));
    }
  }
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(rows), out, in, 1.0f, x,
              in, w, in, 1.0f, y, out);
}

core::Result<std::string> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return core::Error::not_found("cannot open '" + path + "'");
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

EncoderOptions default_encoder_options() { return EncoderOptions{}; }

// ---- Config ----

core::Result<BertConfig> BertConfig::from_json(std::string_view json_text,
                                               const std::string& source) {
  nlohmann::json j = nlohmann::json::parse(json_text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return core::Error::invalid("model config '" + source + "' is not a JSON object");
  }
  BertConfig c;
  struct IntField {
    const char* name;
    int32_t* dst;
  };
  const IntField fields[] = {
      {"vocab_size", &c.vocab_size},
      {"hidden_size", &c.hidden_size},
      {"num_hidden_layers", &c.num_hidden_layers},
      {"num_attention_heads", &c.num_attention_heads},
      {"intermediate_size", &c.intermediate_size},
      {"max_position_embeddings", &c.max_position_embeddings},
      {"type_vocab_size", &c.type_vocab_size},
  };
  for (const IntField& f : fields) {
    if (!j.contains(f.name) || !j[f.name].is_number_integer() || j[f.name].get<int64_t>() <= 0 ||
        j[f.name].get<int64_t>() > (int64_t{1} << 30)) {
      return core::Error::invalid("model config '" + source + "': '" + f.name +
                                  "' must be a positive integer");
    }
    *f.dst = j[f.name].get<int32_t>();
  }
  if (c.hidden_size % c.num_attention_heads != 0) {
    return core::Error::invalid("model config '" + source + "': hidden_size " +
                                std::to_string(c.hidden_size) + " is not a multiple of " +
                                "num_attention_heads " + std::to_string(c.num_attention_heads));
  }
  if (j.contains("layer_norm_eps")) {
    if (!j["layer_norm_eps"].is_number() || j["layer_norm_eps"].get<double>() <= 0) {
      return core::Error::invalid("model config '" + source +
                                  "': 'layer_norm_eps' must be a positive number");
    }
    c.layer_norm_eps = j["layer_norm_eps"].get<float>();
  }
  const std::string act = j.value("hidden_act", std::string("gelu"));
  if (act != "gelu") {
    return core::Error::invalid("model config '" + source + "': hidden_act '" + act +
                                "' is not supported (only \"gelu\", the exact erf GELU)");
  }
  const std::string pos = j.value("position_embedding_type", std::string("absolute"));
  if (pos != "absolute") {
    return core::Error::invalid("model config '" + source + "': position_embedding_type '" + pos +
                                "' is not supported (only \"absolute\")");
  }
  if (j.contains("id2label") && j["id2label"].is_object() && !j["id2label"].empty()) {
    c.num_labels = static_cast<int32_t>(j["id2label"].size());
  } else if (j.contains("num_labels") && j["num_labels"].is_number_integer()) {
    c.num_labels = j["num_labels"].get<int32_t>();
  }
  if (c.num_labels <= 0) {
    return core::Error::invalid("model config '" + source + "': num_labels must be positive");
  }
  return c;
}

core::Result<BertConfig> BertConfig::load(const std::string& config_json_path) {
  LM_ASSIGN_OR_RETURN(std::string text, read_file(config_json_path));
  return from_json(text, config_json_path);
}

// ---- Model ----

core::Result<BertModel> BertModel::load(const std::string& safetensors_path,
                                        const BertConfig& config, const EncoderOptions& options) {
  LM_ASSIGN_OR_RETURN(SafeTensors weights, SafeTensors::open(safetensors_path));
  BertModel m(std::move(weights));
  m.config_ = config;
  m.threads_ = std::max<int32_t>(1, options.threads);

  const SafeTensors& st = m.weights_;
  const std::string prefix = st.contains("bert.embeddings.word_embeddings.weight") ? "bert." : "";
  const int64_t h = config.hidden_size;
  const int64_t inter = config.intermediate_size;

  auto get = [&](const std::string& name, std::vector<int64_t> shape) -> core::Result<const float*> {
    LM_ASSIGN_OR_RETURN(TensorView v, st.get(prefix + name, shape));
    return v.data;
  };
  // Checkpoints converted from old TensorFlow ones name LayerNorm parameters gamma/beta.
  auto get_ln = [&](const std::string& base, bool weight) -> core::Result<const float*> {
    const std::string modern = base + (weight ? ".weight" : ".bias");
    const std::string legacy = base + (weight ? ".gamma" : ".beta");
    return get(st.contains(prefix + modern) || !st.contains(prefix + legacy) ? modern : legacy,
               {h});
  };

  LM_ASSIGN_OR_RETURN(m.word_emb_, get("embeddings.word_embeddings.weight", {config.vocab_size, h}));
  LM_ASSIGN_OR_RETURN(m.pos_emb_, get("embeddings.position_embeddings.weight",
                                      {config.max_position_embeddings, h}));
  LM_ASSIGN_OR_RETURN(m.type_emb_,
                      get("embeddings.token_type_embeddings.weight", {config.type_vocab_size, h}));
  LM_ASSIGN_OR_RETURN(m.emb_ln_g_, get_ln("embeddings.LayerNorm", true));
  LM_ASSIGN_OR_RETURN(m.emb_ln_b_, get_ln("embeddings.LayerNorm", false));

  for (int32_t i = 0; i < config.num_hidden_layers; ++i) {
    const std::string p = "encoder.layer." + std::to_string(i) + ".";
    Layer l{};
    LM_ASSIGN_OR_RETURN(l.q_w, get(p + "attention.self.query.weight", {h, h}));
    LM_ASSIGN_OR_RETURN(l.q_b, get(p + "attention.self.query.bias", {h}));
    LM_ASSIGN_OR_RETURN(l.k_w, get(p + "attention.self.key.weight", {h, h}));
    LM_ASSIGN_OR_RETURN(l.k_b, get(p + "attention.self.key.bias", {h}));
    LM_ASSIGN_OR_RETURN(l.v_w, get(p + "attention.self.value.weight", {h, h}));
    LM_ASSIGN_OR_RETURN(l.v_b, get(p + "attention.self.value.bias", {h}));
    LM_ASSIGN_OR_RETURN(l.ao_w, get(p + "attention.output.dense.weight", {h, h}));
    LM_ASSIGN_OR_RETURN(l.ao_b, get(p + "attention.output.dense.bias", {h}));
    LM_ASSIGN_OR_RETURN(l.ln1_g, get_ln(p + "attention.output.LayerNorm", true));
    LM_ASSIGN_OR_RETURN(l.ln1_b, get_ln(p + "attention.output.LayerNorm", false));
    LM_ASSIGN_OR_RETURN(l.ff1_w, get(p + "intermediate.dense.weight", {inter, h}));
    LM_ASSIGN_OR_RETURN(l.ff1_b, get(p + "intermediate.dense.bias", {inter}));
    LM_ASSIGN_OR_RETURN(l.ff2_w, get(p + "output.dense.weight", {h, inter}));
    LM_ASSIGN_OR_RETURN(l.ff2_b, get(p + "output.dense.bias", {h}));
    LM_ASSIGN_OR_RETURN(l.ln2_g, get_ln(p + "output.LayerNorm", true));
    LM_ASSIGN_OR_RETURN(l.ln2_b, get_ln(p + "output.LayerNorm", false));
    m.layers_.push_back(l);
  }

  if (st.contains(prefix + "pooler.dense.weight") && st.contains("classifier.weight")) {
    LM_ASSIGN_OR_RETURN(m.pooler_w_, get("pooler.dense.weight", {h, h}));
    LM_ASSIGN_OR_RETURN(m.pooler_b_, get("pooler.dense.bias", {h}));
    LM_ASSIGN_OR_RETURN(TensorView cw, st.get("classifier.weight", {config.num_labels, h}));
    LM_ASSIGN_OR_RETURN(TensorView cb, st.get("classifier.bias", {config.num_labels}));
    m.cls_w_ = cw.data;
    m.cls_b_ = cb.data;
    m.has_classifier_ = true;
  }
  return m;
}

core::Result<void> BertModel::forward(const Batch& batch, BertWorkspace* ws) const {
  const int32_t nb = batch.batch_size;
  const int32_t seq = batch.seq_len;
  const int64_t tokens = static_cast<int64_t>(nb) * seq;
  if (nb <= 0 || seq <= 0 || batch.ids.size() != static_cast<size_t>(tokens) ||
      batch.type_ids.size() != static_cast<size_t>(tokens) ||
      batch.attention_mask.size() != static_cast<size_t>(tokens)) {
    return core::Error::invalid("encoder batch: ids, type_ids and attention_mask must each hold "
                                "batch_size * seq_len > 0 values");
  }
  if (seq > config_.max_position_embeddings) {
    return core::Error::invalid("encoder batch: sequence length " + std::to_string(seq) +
                                " exceeds max_position_embeddings " +
                                std::to_string(config_.max_position_embeddings));
  }
  for (int64_t t = 0; t < tokens; ++t) {
    if (batch.ids[t] < 0 || batch.ids[t] >= config_.vocab_size) {
      return core::Error::invalid("encoder batch: token id " + std::to_string(batch.ids[t]) +
                                  " outside the vocabulary of " +
                                  std::to_string(config_.vocab_size));
    }
    if (batch.type_ids[t] < 0 || batch.type_ids[t] >= config_.type_vocab_size) {
      return core::Error::invalid("encoder batch: token type id " +
                                  std::to_string(batch.type_ids[t]) + " outside [0, " +
                                  std::to_string(config_.type_vocab_size) + ")");
    }
  }

  openblas_set_num_threads(threads_);

  const int32_t h = config_.hidden_size;
  const int32_t inter = config_.intermediate_size;
  const int32_t heads = config_.num_attention_heads;
  const int32_t dh = h / heads;
  const float scale = 1.0f / std::sqrt(static_cast<float>(dh));
  const int64_t wide = std::max<int64_t>(4 * static_cast<int64_t>(h), inter);
  ws->hidden.resize(static_cast<size_t>(tokens * h));
  ws->scratch.resize(static_cast<size_t>(tokens * h));
  ws->qkvc.resize(static_cast<size_t>(tokens * wide));
  ws->scores.resize(static_cast<size_t>(seq) * seq);
  ws->batch_size = nb;
  ws->seq_len = seq;
  float* x = ws->hidden.data();
  float* tmp = ws->scratch.data();
  float* q = ws->qkvc.data();
  float* k = q + tokens * h;
  float* v = k + tokens * h;
  float* ctx = v + tokens * h;
  float* ff = ws->qkvc.data();  // the intermediate reuses q..ctx, dead by then
  float* scores = ws->scores.data();

  // Embeddings: word + token type + position (HF's order of additions), then LayerNorm.
  for (int32_t b = 0; b < nb; ++b) {
    for (int32_t s = 0; s < seq; ++s) {
      const int64_t t = static_cast<int64_t>(b) * seq + s;
      const float* we = word_emb_ + static_cast<int64_t>(batch.ids[t]) * h;
      const float* te = type_emb_ + static_cast<int64_t>(batch.type_ids[t]) * h;
      const float* pe = pos_emb_ + static_cast<int64_t>(s) * h;
      float* xr = x + t * h;
      for (int32_t j = 0; j < h; ++j) {
        xr[j] = (we[j] + te[j]) + pe[j];
      }
    }
  }
  layer_norm(x, tokens, h, emb_ln_g_, emb_ln_b_, config_.layer_norm_eps);

  // Per sequence, attention only needs rows up to the last real token: later rows are padding
  // whose outputs nobody reads (keys there are masked out). Their context is set to zero.
  std::vector<int32_t> used(static_cast<size_t>(nb), 0);
  for (int32_t b = 0; b < nb; ++b) {
    const int32_t* mask = batch.attention_mask.data() + static_cast<int64_t>(b) * seq;
    int32_t last = 0;
    for (int32_t s = 0; s < seq; ++s) {
      if (mask[s] != 0) {
        last = s + 1;
      }
    }
    used[b] = last == 0 ? seq : last;  // all padding: keep HF's uniform attention over all
  }

  for (const Layer& l : layers_) {
    linear(x, tokens, h, l.q_w, l.q_b, h, q, false);
    linear(x, tokens, h, l.k_w, l.k_b, h, k, false);
    linear(x, tokens, h, l.v_w, l.v_b, h, v, false);

    for (int32_t b = 0; b < nb; ++b) {
      const int32_t n = used[b];
      const int64_t row0 = static_cast<int64_t>(b) * seq;
      const int32_t* mask = batch.attention_mask.data() + row0;
      for (int32_t hd = 0; hd < heads; ++hd) {
        const int64_t off = row0 * h + static_cast<int64_t>(hd) * dh;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, n, dh, scale, q + off, h, k + off,
                    h, 0.0f, scores, n);
        masked_softmax(scores, n, n, mask);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, dh, n, 1.0f, scores, n, v + off,
                    h, 0.0f, ctx + off, h);
      }
      if (n < seq) {
        std::memset(ctx + (row0 + n) * h, 0, sizeof(float) * static_cast<size_t>(seq - n) * h);
      }
    }

    // tmp = x + ctx * Wo^T + bo; x = LayerNorm(tmp)
    std::memcpy(tmp, x, sizeof(float) * static_cast<size_t>(tokens * h));
    linear(ctx, tokens, h, l.ao_w, l.ao_b, h, tmp, true);
    layer_norm(tmp, tokens, h, l.ln1_g, l.ln1_b, config_.layer_norm_eps);
    std::swap(x, tmp);

    // ff = gelu(x * W1^T + b1); tmp = x + ff * W2^T + b2; x = LayerNorm(tmp)
    linear(x, tokens, h, l.ff1_w, l.ff1_b, inter, ff, false);
    gelu(ff, tokens * inter);
    std::memcpy(tmp, x, sizeof(float) * static_cast<size_t>(tokens * h));
    linear(ff, tokens, inter, l.ff2_w, l.ff2_b, h, tmp, true);
    layer_norm(tmp, tokens, h, l.ln2_g, l.ln2_b, config_.layer_norm_eps);
    std::swap(x, tmp);
  }
  if (x != ws->hidden.data()) {
    std::memcpy(ws->hidden.data(), x, sizeof(float) * static_cast<size_t>(tokens * h));
  }
  return core::ok();
}

core::Result<void> BertModel::classify(BertWorkspace* ws, std::vector<float>* logits) const {
  if (!has_classifier_) {
    return core::Error::invalid("model '" + weights_.path() +
                                "' has no pooler/classifier tensors (not a cross-encoder)");
  }
  const int32_t nb = ws->batch_size;
  const int32_t h = config_.hidden_size;
  if (nb <= 0 || ws->hidden.size() < static_cast<size_t>(nb) * ws->seq_len * h) {
    return core::Error::internal("classify() called without a forward() on this workspace");
  }
  ws->pooled.resize(static_cast<size_t>(nb) * h);
  cls_pool(ws->hidden.data(), nb, ws->seq_len, h, ws->scratch.data());
  linear(ws->scratch.data(), nb, h, pooler_w_, pooler_b_, h, ws->pooled.data(), false);
  for (float& p : ws->pooled) {
    p = std::tanh(p);
  }
  logits->resize(static_cast<size_t>(nb) * config_.num_labels);
  linear(ws->pooled.data(), nb, h, cls_w_, cls_b_, config_.num_labels, logits->data(), false);
  return core::ok();
}

// ---- Kernels ----

void layer_norm(float* x, int64_t rows, int32_t cols, const float* gamma, const float* beta,
                float eps) {
  for (int64_t r = 0; r < rows; ++r) {
    float* xr = x + r * cols;
    double sum = 0.0;
    for (int32_t j = 0; j < cols; ++j) {
      sum += xr[j];
    }
    const float mean = static_cast<float>(sum / cols);
    double sq = 0.0;
    for (int32_t j = 0; j < cols; ++j) {
      const float d = xr[j] - mean;
      sq += static_cast<double>(d) * d;
    }
    const float inv = static_cast<float>(1.0 / std::sqrt(sq / cols + eps));
    for (int32_t j = 0; j < cols; ++j) {
      xr[j] = (xr[j] - mean) * inv * gamma[j] + beta[j];
    }
  }
}

void gelu(float* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    x[i] = 0.5f * x[i] * (1.0f + std::erf(x[i] * kSqrtHalf));
  }
}

void masked_softmax(float* scores, int32_t rows, int32_t cols, const int32_t* key_mask) {
  for (int32_t r = 0; r < rows; ++r) {
    float* sr = scores + static_cast<int64_t>(r) * cols;
    float mx = -INFINITY;
    for (int32_t c = 0; c < cols; ++c) {
      if (key_mask[c] != 0 && sr[c] > mx) {
        mx = sr[c];
      }
    }
    if (mx == -INFINITY) {
      for (int32_t c = 0; c < cols; ++c) {
        sr[c] = 1.0f / static_cast<float>(cols);
      }
      continue;
    }
    float sum = 0.0f;
    for (int32_t c = 0; c < cols; ++c) {
      const float e = key_mask[c] != 0 ? std::exp(sr[c] - mx) : 0.0f;
      sr[c] = e;
      sum += e;
    }
    const float inv = 1.0f / sum;
    for (int32_t c = 0; c < cols; ++c) {
      sr[c] *= inv;
    }
  }
}

void mean_pool(const float* hidden, const int32_t* mask, int32_t batch, int32_t seq, int32_t dim,
               float* out) {
  for (int32_t b = 0; b < batch; ++b) {
    float* o = out + static_cast<int64_t>(b) * dim;
    std::fill(o, o + dim, 0.0f);
    int32_t count = 0;
    for (int32_t s = 0; s < seq; ++s) {
      const int64_t t = static_cast<int64_t>(b) * seq + s;
      if (mask[t] == 0) {
        continue;
      }
      ++count;
      const float* hr = hidden + t * dim;
      for (int32_t j = 0; j < dim; ++j) {
        o[j] += hr[j];
      }
    }
    // sentence-transformers divides by clamp(count, min=1e-9).
    const float denom = std::max(static_cast<float>(count), 1e-9f);
    for (int32_t j = 0; j < dim; ++j) {
      o[j] /= denom;
    }
  }
}

void cls_pool(const float* hidden, int32_t batch, int32_t seq, int32_t dim, float* out) {
  for (int32_t b = 0; b < batch; ++b) {
    std::memcpy(out + static_cast<int64_t>(b) * dim, hidden + static_cast<int64_t>(b) * seq * dim,
                sizeof(float) * static_cast<size_t>(dim));
  }
}

void l2_normalize(float* v, int32_t dim) {
  double sq = 0.0;
  for (int32_t j = 0; j < dim; ++j) {
    sq += static_cast<double>(v[j]) * v[j];
  }
  const float inv = 1.0f / std::max(static_cast<float>(std::sqrt(sq)), 1e-12f);
  for (int32_t j = 0; j < dim; ++j) {
    v[j] *= inv;
  }
}

}  // namespace libromind::ml
