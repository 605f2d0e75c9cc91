// The BERT encoder (HF transformers' BertModel, inference only), its optional
// sequence-classification head, and the kernels it is made of (exposed so tests can check them).
// Its weight products run on weights packed at load (ml/packed_linear.hpp) where the CPU has
// AVX2/FMA, and on OpenBLAS and the few-row kernel elsewhere.
//
//   LM_ASSIGN_OR_RETURN(ml::BertConfig cfg, ml::BertConfig::load(dir + "/config.json"));
//   LM_ASSIGN_OR_RETURN(ml::BertModel model,
//                       ml::BertModel::load(dir + "/model.safetensors", cfg,
//                       ml::default_encoder_options()));
//   ml::BertWorkspace ws;
//   LM_TRY(model.forward(batch, &ws));  // ws.hidden: [batch, seq, hidden]
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"
#include "ml/encoding.hpp"
#include "ml/packed_linear.hpp"
#include "ml/safetensors.hpp"

namespace libromind::ml {

// The fields of an HF config.json that the encoder needs.
struct BertConfig {
  int32_t vocab_size = 0;               // rows of the word embedding table
  int32_t hidden_size = 0;              // width of every token vector
  int32_t num_hidden_layers = 0;        // transformer layers
  int32_t num_attention_heads = 0;      // heads per layer; divides hidden_size
  int32_t intermediate_size = 0;        // feed-forward width
  int32_t max_position_embeddings = 0;  // longest sequence the position table covers
  int32_t type_vocab_size = 0;          // token type (segment) ids, 2 for BERT
  float layer_norm_eps = 1e-12f;        // LayerNorm epsilon
  int32_t num_labels = 2;               // classifier outputs (id2label / num_labels; HF default 2)

  // Rejects missing or non-positive sizes and any hidden_act but "gelu" (exact erf GELU).
  static core::Result<BertConfig> from_json(std::string_view json_text, const std::string& source);
  static core::Result<BertConfig> load(const std::string& config_json_path);
};

// Options shared by the encoder and the wrappers built on it.
struct EncoderOptions {
  int32_t threads = 1;      // a batch's sequences are split across this many threads (OpenBLAS
                            // single-threaded in each); one sequence uses OpenBLAS's threads
  int32_t batch_size = 32;  // texts per forward pass in SentenceEmbedder / CrossEncoder
  int32_t max_batch_tokens = 8192;  // cap on texts * padded length per forward pass: bounds the
                                    // activation memory (~9 KB per token for MiniLM, 74 MB at
                                    // this cap). 8192 holds a batch of 32 at 256 word pieces in
                                    // one pass; a cap of 2048 split it into four, and the
                                    // smaller products made a catalogue pass 8% slower.
  int32_t max_seq_length = 0;       // 0: the model's limit; else the shorter of the two (the
                                    // search index embeds books at 128 to halve the cost)
  bool packed_products = true;      // on CPUs with AVX2/FMA, each layer's weights are packed
                                    // at load for linear_packed() (42 MB for MiniLM) and the
                                    // products run there; false, or another CPU: OpenBLAS and
                                    // the few-row kernel on the weights as mapped
};

EncoderOptions default_encoder_options();

// Activation buffers, grown on demand and reused across forward calls: one per thread.
struct BertWorkspace {
  std::vector<float> hidden;   // [batch, seq, hidden]: the output of forward()
  std::vector<float> scratch;  // [batch*seq, hidden]: attention/FFN outputs before LayerNorm
  std::vector<float> qkvc;     // [batch*seq, max(4*hidden, intermediate)]: q|k|v|context per
                               // row, reused for the feed-forward intermediate
  std::vector<float> scores;   // per thread: attention_work_floats(seq, head width) + seq,
                               // attention()'s work and the float key mask
  std::vector<float> pooled;   // [batch, hidden]: pooler output (classification head)
  int32_t batch_size = 0;      // shape of the last forward()
  int32_t seq_len = 0;
};

class BertModel {
 public:
  // Opens the weights (memory-mapped; they stay views, but for each layer's query, key and value
  // weights, copied into one stacked matrix: 10.6 MB for MiniLM) and checks every tensor the
  // config implies. Tensor names may carry a "bert." prefix (BertFor* checkpoints) or not
  // (sentence-transformers); the pooler and classifier are loaded when both are present.
  static core::Result<BertModel> load(const std::string& safetensors_path, const BertConfig& config,
                                      const EncoderOptions& options);

  const BertConfig& config() const { return config_; }
  bool has_classifier() const { return has_classifier_; }

  // Runs the encoder on a padded batch; the last hidden state lands in ws->hidden. Rejects ids
  // outside the vocabulary, type ids outside type_vocab_size and sequences longer than the
  // position table. Const and re-entrant given distinct workspaces (but the OpenBLAS thread
  // count it sets is process-wide). Rows after a sequence's last real token are not HF's
  // values (attention skips them); rows of padding inside a sequence are.
  core::Result<void> forward(const Batch& batch, BertWorkspace* ws) const;

  // Sequence-classification head on the [CLS] rows of the last forward():
  // logits = classifier(tanh(pooler(h_cls))), [batch, num_labels] into *logits.
  core::Result<void> classify(BertWorkspace* ws, std::vector<float>* logits) const;

 private:
  struct Layer {
    const float* qkv_w;  // [3 * hidden, hidden]: query, key and value weights stacked (HF
                         // Linear layout [out, in]), one product instead of three
    const float* qkv_b;  // [3 * hidden]
    const float* ao_w;   // attention output projection [hidden, hidden]
    const float* ao_b;
    const float* ln1_g;  // LayerNorm after attention
    const float* ln1_b;
    const float* ff1_w;  // [intermediate, hidden]
    const float* ff1_b;
    const float* ff2_w;  // [hidden, intermediate]
    const float* ff2_b;
    const float* ln2_g;  // LayerNorm after the feed-forward
    const float* ln2_b;
  };

  // A layer's products with their weights packed (packed_products).
  struct PackedLayer {
    PackedLinear qkv;  // query, key and value stacked: [3 * hidden] outputs
    PackedLinear ao;
    PackedLinear ff1;
    PackedLinear ff2;
  };

  explicit BertModel(SafeTensors weights) : weights_(std::move(weights)) {}

  // The layers from the embeddings' output in x (rows of `hidden`) to the last hidden state in
  // x, on the packed weights: row blocks after the attention go through the output projection,
  // LayerNorm, the feed-forward and LayerNorm while they are in L2.
  void run_layers_packed(const int32_t* masks, int32_t sequences, int32_t seq, float* x, float* q,
                         float* scores) const;

  // Embeddings and every layer for sequences [b_begin, b_end) of a validated batch, on their
  // own rows of the workspace; `scores` holds seq_len^2 + seq_len floats for this caller alone.
  void run_sequences(const Batch& batch, int32_t b_begin, int32_t b_end, float* scores,
                     BertWorkspace* ws) const;

  SafeTensors weights_;     // owns the mapping every pointer below refers to
  std::vector<float> qkv_;  // the stacked query/key/value weights and biases of every layer
                            // (empty when the products are packed)
  std::vector<PackedLayer> packed_;  // one per layer with packed_products; else empty
  BertConfig config_;
  int32_t threads_ = 1;
  const float* word_emb_ = nullptr;  // [vocab, hidden]
  const float* pos_emb_ = nullptr;   // [max_position, hidden]
  const float* type_emb_ = nullptr;  // [type_vocab, hidden]
  const float* emb_ln_g_ = nullptr;
  const float* emb_ln_b_ = nullptr;
  std::vector<Layer> layers_;
  bool has_classifier_ = false;
  const float* pooler_w_ = nullptr;  // [hidden, hidden]
  const float* pooler_b_ = nullptr;
  const float* cls_w_ = nullptr;  // [num_labels, hidden]
  const float* cls_b_ = nullptr;
};

// ---- Kernels (plain loops; public for the numeric tests) ----

// How linear() computes: by row count (automatic), or forced, for the tests.
enum class LinearPath {
  automatic,          // few_rows up to 32 rows, blas above
  few_rows,           // straight from the weights: AVX2/FMA register blocks where the CPU has them
  few_rows_portable,  // straight from the weights, one dot product per output (any CPU)
  blas,               // OpenBLAS sgemm
};

// y[rows, out] = x[rows, in] * w^T + b (w is [out, in], as in a PyTorch Linear); ldx and ldy are
// the row strides; b may be null (no bias). With `accumulate`, the product and bias are added to
// what y holds (the residual connection, saving a pass).
void linear(const float* x, int64_t ldx, int64_t rows, int32_t in, const float* w, const float* b,
            int32_t out, float* y, int64_t ldy, bool accumulate,
            LinearPath path = LinearPath::automatic);

// How attention() computes: fused AVX2/FMA kernel where the CPU and shapes allow, or forced
// to OpenBLAS products with masked_softmax between them (any CPU; the tests' reference).
enum class AttentionPath {
  automatic,
  blas,
};

// Floats of `work` that attention() needs for a sequence of n rows and heads of width dh.
size_t attention_work_floats(int32_t n, int32_t dh);

// Multi-head self-attention over the first n rows of one sequence: for every head,
// ctx = softmax(scale * q k^T, keys whose key_keep is 0 masked) v. q, k and v hold `heads`
// heads of dh columns each at row stride ld; ctx gets the same columns at stride ldc.
void attention(const float* q, const float* k, const float* v, int64_t ld, float* ctx, int64_t ldc,
               int32_t n, int32_t heads, int32_t dh, float scale, const float* key_keep,
               float* work, AttentionPath path = AttentionPath::automatic);

// y[r, j] = x[r, j] + b[j] over `rows` rows of `cols` (the residual and a bias in one pass).
void add_bias(const float* x, int64_t rows, int32_t cols, const float* b, float* y);

// In place over `rows` rows of `cols`: (x - mean) / sqrt(var + eps) * gamma + beta.
void layer_norm(float* x, int64_t rows, int32_t cols, const float* gamma, const float* beta,
                float eps);

// Exact GELU, 0.5 * x * (1 + erf(x / sqrt(2))), in place (erf as a rational approximation
// within 2e-7, as PyTorch's vectorised CPU kernel also approximates it).
void gelu(float* x, int64_t n);

// Row-wise softmax of a [rows, cols] score matrix in place; columns whose key_keep is 0 (1 for
// a real token) get probability 0, as adding a large negative number does. A row with no kept
// key becomes uniform, which is what HF's finfo.min mask yields. exp is a polynomial within a
// few ulp of libm's.
void masked_softmax(float* scores, int32_t rows, int32_t cols, const float* key_keep);

// Mean of the token vectors whose mask is 1 (sentence-transformers' mean pooling):
// hidden [batch, seq, dim] -> out [batch, dim].
void mean_pool(const float* hidden, const int32_t* mask, int32_t batch, int32_t seq, int32_t dim,
               float* out);

// The first ([CLS]) token vector of each sequence: hidden [batch, seq, dim] -> out [batch, dim].
void cls_pool(const float* hidden, int32_t batch, int32_t seq, int32_t dim, float* out);

// v / max(||v||, 1e-12), as torch.nn.functional.normalize.
void l2_normalize(float* v, int32_t dim);

}  // namespace libromind::ml
