#include "ml/bert.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <tuple>
#include <vector>

namespace libromind::ml {
namespace {

// ---- Kernels against hand-computed values ----

TEST(BertKernels, layer_norm_matches_hand_computed_values) {
  // mean 2.5, variance 1.25: (x - 2.5) / sqrt(1.25) = +-1.3416408, +-0.4472136.
  std::vector<float> x = {1, 2, 3, 4, 10, 10, 10, 10};
  const std::vector<float> gamma = {1, 1, 2, 2};
  const std::vector<float> beta = {0, 0, 1, -1};
  layer_norm(x.data(), 2, 4, gamma.data(), beta.data(), 0.0f);
  EXPECT_NEAR(x[0], -1.3416408f, 1e-6);
  EXPECT_NEAR(x[1], -0.4472136f, 1e-6);
  EXPECT_NEAR(x[2], 2 * 0.4472136f + 1, 1e-6);
  EXPECT_NEAR(x[3], 2 * 1.3416408f - 1, 1e-6);
  // A constant row has zero variance: eps 0 would divide by zero, so use eps 1e-5 separately.
  std::vector<float> c = {10, 10, 10, 10};
  layer_norm(c.data(), 1, 4, gamma.data(), beta.data(), 1e-5f);
  EXPECT_NEAR(c[0], 0.0f, 1e-6);
  EXPECT_NEAR(c[2], 1.0f, 1e-6);
  EXPECT_NEAR(c[3], -1.0f, 1e-6);
}

TEST(BertKernels, gelu_is_the_exact_erf_form) {
  // 0.5 x (1 + erf(x / sqrt 2)), not the tanh approximation (gelu_new gives 0.841192 at 1).
  std::vector<float> x = {0.0f, 1.0f, -1.0f, 2.0f, -3.0f, 0.5f};
  gelu(x.data(), static_cast<int64_t>(x.size()));
  EXPECT_EQ(x[0], 0.0f);
  EXPECT_NEAR(x[1], 0.8413447f, 1e-6);
  EXPECT_NEAR(x[2], -0.1586553f, 1e-6);
  EXPECT_NEAR(x[3], 1.9544997f, 1e-6);
  EXPECT_NEAR(x[4], -0.0040497f, 1e-6);
  EXPECT_NEAR(x[5], 0.3457312f, 1e-6);
}

// Every path of linear() against a double-precision product, over shapes that exercise the
// kernels' edges: row counts that are not multiples of the 3-row block, column counts not
// multiples of 4, inner sizes with and without a tail after the 8-wide steps, strided rows, and
// the accumulating (residual) form.
TEST(BertKernels, linear_paths_agree_with_a_double_precision_product) {
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  struct Shape {
    int64_t rows;
    int32_t in;
    int32_t out;
  };
  const Shape shapes[] = {{1, 384, 384}, {2, 8, 5},  {3, 13, 1},  {4, 37, 7},  {5, 1536, 12},
                          {7, 384, 3},   {9, 64, 9}, {16, 40, 6}, {17, 24, 4}, {40, 33, 10}};
  const LinearPath paths[] = {LinearPath::automatic, LinearPath::few_rows,
                              LinearPath::few_rows_portable, LinearPath::blas};
  for (const Shape& sh : shapes) {
    const int64_t ldx = sh.in + 3;
    const int64_t ldy = sh.out + 2;
    std::vector<float> x(static_cast<size_t>(sh.rows * ldx));
    std::vector<float> w(static_cast<size_t>(sh.out) * sh.in);
    std::vector<float> b(static_cast<size_t>(sh.out));
    std::vector<float> y0(static_cast<size_t>(sh.rows * ldy));
    for (auto* v : {&x, &w, &b, &y0}) {
      for (float& f : *v) {
        f = u(rng);
      }
    }
    for (int variant = 0; variant < 4; ++variant) {
      const bool accumulate = (variant & 1) != 0;
      const bool with_bias = (variant & 2) == 0;  // a null bias is no bias
      for (LinearPath path : paths) {
        std::vector<float> y = y0;
        linear(x.data(), ldx, sh.rows, sh.in, w.data(), with_bias ? b.data() : nullptr, sh.out,
               y.data(), ldy, accumulate, path);
        for (int64_t r = 0; r < sh.rows; ++r) {
          for (int32_t o = 0; o < sh.out; ++o) {
            double want = (with_bias ? b[o] : 0.0) + (accumulate ? y0[r * ldy + o] : 0.0);
            for (int32_t k = 0; k < sh.in; ++k) {
              want += static_cast<double>(x[r * ldx + k]) * w[static_cast<size_t>(o) * sh.in + k];
            }
            ASSERT_NEAR(y[r * ldy + o], want, 1e-4)
                << "rows " << sh.rows << " in " << sh.in << " out " << sh.out << " row " << r
                << " col " << o << " path " << static_cast<int>(path) << " accumulate "
                << accumulate << " bias " << with_bias;
          }
          // The padding between rows is left alone.
          for (int64_t o = sh.out; o < ldy; ++o) {
            ASSERT_EQ(y[r * ldy + o], y0[r * ldy + o]);
          }
        }
      }
    }
  }
}

TEST(BertKernels, attention_paths_agree_with_a_double_precision_softmax) {
  std::mt19937 rng(11);
  std::uniform_real_distribution<float> u(-2.0f, 2.0f);
  struct Shape {
    int32_t n;
    int32_t heads;
    int32_t dh;
  };
  // Row counts around the fused kernel's 6-row and 16-key blocks; widths it takes (16, 32) and
  // one it leaves to OpenBLAS (8).
  const Shape shapes[] = {{1, 2, 32},  {2, 1, 16},  {5, 3, 32},  {6, 2, 16},   {7, 2, 32},
                          {16, 1, 32}, {17, 3, 16}, {37, 2, 32}, {100, 2, 32}, {9, 2, 8}};
  for (const Shape& sh : shapes) {
    const int32_t width = sh.heads * sh.dh;
    const int64_t ld = 3 * width + 5;  // q | k | v in one row, as in the encoder, plus a gap
    const int64_t ldc = width + 3;
    std::vector<float> qkv(static_cast<size_t>(sh.n * ld));
    for (float& f : qkv) {
      f = u(rng);
    }
    // Masked keys inside the sequence and at its end (padding); the first is always kept.
    std::vector<float> keep(static_cast<size_t>(sh.n), 1.0f);
    for (int32_t j = 1; j < sh.n; ++j) {
      keep[j] = (j % 5 == 3 || j + 2 >= sh.n + (sh.n > 4 ? 0 : 2)) ? 0.0f : 1.0f;
    }
    const float scale = 1.0f / std::sqrt(static_cast<float>(sh.dh));
    for (AttentionPath path : {AttentionPath::automatic, AttentionPath::blas}) {
      std::vector<float> work(attention_work_floats(sh.n, sh.dh), -1.0f);
      std::vector<float> ctx(static_cast<size_t>(sh.n * ldc), 42.0f);
      attention(qkv.data(), qkv.data() + width, qkv.data() + 2 * width, ld, ctx.data(), ldc, sh.n,
                sh.heads, sh.dh, scale, keep.data(), work.data(), path);
      for (int32_t hd = 0; hd < sh.heads; ++hd) {
        for (int32_t i = 0; i < sh.n; ++i) {
          std::vector<double> p(static_cast<size_t>(sh.n));
          double mx = -1e300;
          for (int32_t j = 0; j < sh.n; ++j) {
            double dotp = 0;
            for (int32_t d = 0; d < sh.dh; ++d) {
              dotp += static_cast<double>(qkv[i * ld + hd * sh.dh + d]) *
                      qkv[j * ld + width + hd * sh.dh + d];
            }
            p[j] = dotp * scale;
            if (keep[j] != 0.0f) {
              mx = std::max(mx, p[j]);
            }
          }
          double sum = 0;
          for (int32_t j = 0; j < sh.n; ++j) {
            p[j] = keep[j] != 0.0f ? std::exp(p[j] - mx) : 0.0;
            sum += p[j];
          }
          for (int32_t d = 0; d < sh.dh; ++d) {
            double want = 0;
            for (int32_t j = 0; j < sh.n; ++j) {
              want += p[j] / sum * qkv[j * ld + 2 * width + hd * sh.dh + d];
            }
            ASSERT_NEAR(ctx[i * ldc + hd * sh.dh + d], want, 2e-5)
                << "n " << sh.n << " heads " << sh.heads << " dh " << sh.dh << " head " << hd
                << " row " << i << " dim " << d << " path " << static_cast<int>(path);
          }
        }
        // The gap after the heads' columns is left alone.
        for (int32_t i = 0; i < sh.n; ++i) {
          for (int64_t c = width; c < ldc; ++c) {
            ASSERT_EQ(ctx[i * ldc + c], 42.0f);
          }
        }
      }
    }
  }
}

TEST(BertKernels, add_bias_adds_the_bias_to_every_row) {
  const std::vector<float> x = {1, 2, 3, 4, 5, 6};
  const std::vector<float> b = {10, 20, 30};
  std::vector<float> y(6);
  add_bias(x.data(), 2, 3, b.data(), y.data());
  EXPECT_EQ(y, (std::vector<float>{11, 22, 33, 14, 25, 36}));
}

TEST(BertKernels, softmax_gives_masked_keys_zero_probability) {
  // Row 0: softmax(1, 2) over the two unmasked keys = (0.2689414, 0.7310586), masked key 0.
  std::vector<float> s = {1, 2, 100, 0, 0, -5};
  const std::vector<float> mask = {1, 1, 0};
  masked_softmax(s.data(), 2, 3, mask.data());
  EXPECT_NEAR(s[0], 0.2689414f, 1e-6);
  EXPECT_NEAR(s[1], 0.7310586f, 1e-6);
  EXPECT_EQ(s[2], 0.0f);
  EXPECT_NEAR(s[3], 0.5f, 1e-6);
  EXPECT_NEAR(s[4], 0.5f, 1e-6);
  EXPECT_EQ(s[5], 0.0f);
}

TEST(BertKernels, softmax_of_a_fully_masked_row_is_uniform_like_hf) {
  std::vector<float> s = {3, 1, 2, 7};
  const std::vector<float> mask = {0, 0, 0, 0};
  masked_softmax(s.data(), 1, 4, mask.data());
  for (float p : s) {
    EXPECT_FLOAT_EQ(p, 0.25f);
  }
}

TEST(BertKernels, mean_pool_averages_only_unmasked_tokens) {
  // batch 1, seq 3, dim 2; the third token is padding.
  const std::vector<float> h = {1, 2, 3, 6, 100, 100};
  const std::vector<int32_t> mask = {1, 1, 0};
  std::vector<float> out(2);
  mean_pool(h.data(), mask.data(), 1, 3, 2, out.data());
  EXPECT_FLOAT_EQ(out[0], 2.0f);
  EXPECT_FLOAT_EQ(out[1], 4.0f);
}

TEST(BertKernels, l2_normalize_gives_unit_length_and_leaves_zero_alone) {
  std::vector<float> v = {3, 4};
  l2_normalize(v.data(), 2);
  EXPECT_FLOAT_EQ(v[0], 0.6f);
  EXPECT_FLOAT_EQ(v[1], 0.8f);
  std::vector<float> z = {0, 0};
  l2_normalize(z.data(), 2);
  EXPECT_EQ(z[0], 0.0f);
}

// ---- Config ----

const char* kTinyConfig = R"({
  "architectures": ["BertForSequenceClassification"], "hidden_act": "gelu",
  "hidden_size": 8, "intermediate_size": 16, "num_attention_heads": 2, "num_hidden_layers": 2,
  "max_position_embeddings": 16, "type_vocab_size": 2, "vocab_size": 20,
  "layer_norm_eps": 1e-12, "id2label": {"0": "LABEL_0"}})";

TEST(BertConfig, reads_the_sizes_and_labels) {
  auto c = BertConfig::from_json(kTinyConfig, "tiny/config.json");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->hidden_size, 8);
  EXPECT_EQ(c->num_hidden_layers, 2);
  EXPECT_EQ(c->num_labels, 1);
  EXPECT_FLOAT_EQ(c->layer_norm_eps, 1e-12f);
}

TEST(BertConfig, rejects_activations_other_than_exact_gelu) {
  nlohmann::json j = nlohmann::json::parse(kTinyConfig);
  j["hidden_act"] = "gelu_new";
  auto c = BertConfig::from_json(j.dump(), "tiny/config.json");
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().message.find("gelu_new"), std::string::npos);
  EXPECT_NE(c.error().message.find("tiny/config.json"), std::string::npos);
}

TEST(BertConfig, rejects_missing_sizes_and_uneven_heads) {
  nlohmann::json j = nlohmann::json::parse(kTinyConfig);
  j.erase("hidden_size");
  auto missing = BertConfig::from_json(j.dump(), "c.json");
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("hidden_size"), std::string::npos);
  j = nlohmann::json::parse(kTinyConfig);
  j["num_attention_heads"] = 3;
  EXPECT_FALSE(BertConfig::from_json(j.dump(), "c.json"));
  EXPECT_FALSE(BertConfig::from_json("[1, 2]", "c.json"));
}

// ---- A tiny random model against a naive double-precision reference ----

struct TinyModel {
  BertConfig config;
  std::map<std::string, std::vector<float>> tensors;
  std::map<std::string, std::vector<int64_t>> shapes;
  std::string path;

  ~TinyModel() {
    if (!path.empty()) {
      std::remove(path.c_str());
    }
  }

  void add(const std::string& name, std::vector<int64_t> shape, std::mt19937& rng, float scale,
           float offset = 0.0f) {
    int64_t n = 1;
    for (int64_t d : shape) {
      n *= d;
    }
    std::normal_distribution<float> dist(0.0f, scale);
    std::vector<float> v(static_cast<size_t>(n));
    for (float& x : v) {
      x = offset + dist(rng);
    }
    tensors[name] = v;
    shapes[name] = shape;
  }

  const std::vector<float>& t(const std::string& name) const { return tensors.at(name); }

  void write(const std::string& prefix) {
    nlohmann::json header = nlohmann::json::object();
    std::string data;
    for (const auto& [name, v] : tensors) {
      const std::string full = name.rfind("classifier.", 0) == 0 ? name : prefix + name;
      header[full] = {{"dtype", "F32"},
                      {"shape", shapes[name]},
                      {"data_offsets", {data.size(), data.size() + v.size() * 4}}};
      data.append(reinterpret_cast<const char*>(v.data()), v.size() * 4);
    }
    std::string h = header.dump();
    while (h.size() % 8 != 0) {
      h += ' ';
    }
    char tmpl[] = "/tmp/lm_tiny_bert_XXXXXX";
    const int fd = mkstemp(tmpl);
    close(fd);
    path = tmpl;
    std::ofstream out(path, std::ios::binary);
    const uint64_t len = h.size();
    out.write(reinterpret_cast<const char*>(&len), 8);
    out << h << data;
  }
};

TinyModel make_tiny(uint32_t seed) {
  TinyModel m;
  m.config = *BertConfig::from_json(kTinyConfig, "tiny");
  std::mt19937 rng(seed);
  const int64_t h = 8;
  const int64_t in = 16;
  m.add("embeddings.word_embeddings.weight", {20, h}, rng, 0.5f);
  m.add("embeddings.position_embeddings.weight", {16, h}, rng, 0.5f);
  m.add("embeddings.token_type_embeddings.weight", {2, h}, rng, 0.5f);
  m.add("embeddings.LayerNorm.weight", {h}, rng, 0.1f, 1.0f);
  m.add("embeddings.LayerNorm.bias", {h}, rng, 0.1f);
  for (int i = 0; i < 2; ++i) {
    const std::string p = "encoder.layer." + std::to_string(i) + ".";
    for (const char* n : {"query", "key", "value"}) {
      m.add(p + "attention.self." + n + ".weight", {h, h}, rng, 0.4f);
      m.add(p + "attention.self." + n + ".bias", {h}, rng, 0.1f);
    }
    m.add(p + "attention.output.dense.weight", {h, h}, rng, 0.4f);
    m.add(p + "attention.output.dense.bias", {h}, rng, 0.1f);
    m.add(p + "attention.output.LayerNorm.weight", {h}, rng, 0.1f, 1.0f);
    m.add(p + "attention.output.LayerNorm.bias", {h}, rng, 0.1f);
    m.add(p + "intermediate.dense.weight", {in, h}, rng, 0.4f);
    m.add(p + "intermediate.dense.bias", {in}, rng, 0.1f);
    m.add(p + "output.dense.weight", {h, in}, rng, 0.3f);
    m.add(p + "output.dense.bias", {h}, rng, 0.1f);
    m.add(p + "output.LayerNorm.weight", {h}, rng, 0.1f, 1.0f);
    m.add(p + "output.LayerNorm.bias", {h}, rng, 0.1f);
  }
  m.add("pooler.dense.weight", {h, h}, rng, 0.4f);
  m.add("pooler.dense.bias", {h}, rng, 0.1f);
  m.add("classifier.weight", {1, h}, rng, 0.5f);
  m.add("classifier.bias", {1}, rng, 0.1f);
  return m;
}

using Mat = std::vector<std::vector<double>>;

Mat ref_linear(const Mat& x, const std::vector<float>& w, const std::vector<float>& b, int out) {
  const size_t in = x[0].size();
  Mat y(x.size(), std::vector<double>(out));
  for (size_t r = 0; r < x.size(); ++r) {
    for (int o = 0; o < out; ++o) {
      double s = b[o];
      for (size_t i = 0; i < in; ++i) {
        s += x[r][i] * w[o * in + i];
      }
      y[r][o] = s;
    }
  }
  return y;
}

void ref_layer_norm(Mat& x, const std::vector<float>& g, const std::vector<float>& b, double eps) {
  for (auto& row : x) {
    double mean = 0;
    for (double v : row) {
      mean += v;
    }
    mean /= row.size();
    double var = 0;
    for (double v : row) {
      var += (v - mean) * (v - mean);
    }
    var /= row.size();
    for (size_t j = 0; j < row.size(); ++j) {
      row[j] = (row[j] - mean) / std::sqrt(var + eps) * g[j] + b[j];
    }
  }
}

// The textbook encoder for one unpadded sequence (HF BertModel, eval mode), in double.
Mat reference_forward(const TinyModel& m, const std::vector<int32_t>& ids,
                      const std::vector<int32_t>& types) {
  const int h = 8;
  const int heads = 2;
  const int dh = h / heads;
  const size_t n = ids.size();
  Mat x(n, std::vector<double>(h));
  for (size_t s = 0; s < n; ++s) {
    for (int j = 0; j < h; ++j) {
      x[s][j] = m.t("embeddings.word_embeddings.weight")[ids[s] * h + j] +
                m.t("embeddings.token_type_embeddings.weight")[types[s] * h + j] +
                m.t("embeddings.position_embeddings.weight")[s * h + j];
    }
  }
  ref_layer_norm(x, m.t("embeddings.LayerNorm.weight"), m.t("embeddings.LayerNorm.bias"), 1e-12);
  for (int l = 0; l < 2; ++l) {
    const std::string p = "encoder.layer." + std::to_string(l) + ".";
    Mat q = ref_linear(x, m.t(p + "attention.self.query.weight"),
                       m.t(p + "attention.self.query.bias"), h);
    Mat k =
        ref_linear(x, m.t(p + "attention.self.key.weight"), m.t(p + "attention.self.key.bias"), h);
    Mat v = ref_linear(x, m.t(p + "attention.self.value.weight"),
                       m.t(p + "attention.self.value.bias"), h);
    Mat ctx(n, std::vector<double>(h, 0.0));
    for (int hd = 0; hd < heads; ++hd) {
      for (size_t i = 0; i < n; ++i) {
        std::vector<double> sc(n);
        double mx = -1e300;
        for (size_t j = 0; j < n; ++j) {
          double d = 0;
          for (int c = 0; c < dh; ++c) {
            d += q[i][hd * dh + c] * k[j][hd * dh + c];
          }
          sc[j] = d / std::sqrt(static_cast<double>(dh));
          mx = std::max(mx, sc[j]);
        }
        double sum = 0;
        for (double& s : sc) {
          s = std::exp(s - mx);
          sum += s;
        }
        for (size_t j = 0; j < n; ++j) {
          for (int c = 0; c < dh; ++c) {
            ctx[i][hd * dh + c] += sc[j] / sum * v[j][hd * dh + c];
          }
        }
      }
    }
    Mat a = ref_linear(ctx, m.t(p + "attention.output.dense.weight"),
                       m.t(p + "attention.output.dense.bias"), h);
    for (size_t i = 0; i < n; ++i) {
      for (int j = 0; j < h; ++j) {
        a[i][j] += x[i][j];
      }
    }
    ref_layer_norm(a, m.t(p + "attention.output.LayerNorm.weight"),
                   m.t(p + "attention.output.LayerNorm.bias"), 1e-12);
    x = a;
    Mat f =
        ref_linear(x, m.t(p + "intermediate.dense.weight"), m.t(p + "intermediate.dense.bias"), 16);
    for (auto& row : f) {
      for (double& e : row) {
        e = 0.5 * e * (1.0 + std::erf(e / std::sqrt(2.0)));
      }
    }
    Mat o = ref_linear(f, m.t(p + "output.dense.weight"), m.t(p + "output.dense.bias"), h);
    for (size_t i = 0; i < n; ++i) {
      for (int j = 0; j < h; ++j) {
        o[i][j] += x[i][j];
      }
    }
    ref_layer_norm(o, m.t(p + "output.LayerNorm.weight"), m.t(p + "output.LayerNorm.bias"), 1e-12);
    x = o;
  }
  return x;
}

double reference_logit(const TinyModel& m, const Mat& hidden) {
  Mat cls = {hidden[0]};
  Mat pooled = ref_linear(cls, m.t("pooler.dense.weight"), m.t("pooler.dense.bias"), 8);
  for (double& v : pooled[0]) {
    v = std::tanh(v);
  }
  return ref_linear(pooled, m.t("classifier.weight"), m.t("classifier.bias"), 1)[0][0];
}

Batch pad_batch(const std::vector<std::vector<int32_t>>& ids,
                const std::vector<std::vector<int32_t>>& types) {
  Batch b;
  b.batch_size = static_cast<int32_t>(ids.size());
  for (const auto& s : ids) {
    b.seq_len = std::max<int32_t>(b.seq_len, static_cast<int32_t>(s.size()));
  }
  for (size_t i = 0; i < ids.size(); ++i) {
    for (int32_t s = 0; s < b.seq_len; ++s) {
      const bool real = s < static_cast<int32_t>(ids[i].size());
      b.ids.push_back(real ? ids[i][s] : 0);
      b.type_ids.push_back(real ? types[i][s] : 0);
      b.attention_mask.push_back(real ? 1 : 0);
    }
  }
  return b;
}

// (tensor name prefix, packed_products, threads): both product paths (the packed one only
// where the CPU has AVX2/FMA; elsewhere the option falls back), one thread and two.
class TinyBert : public ::testing::TestWithParam<std::tuple<std::string, bool, int32_t>> {};

TEST_P(TinyBert, padded_batch_matches_naive_reference_per_sequence) {
  TinyModel tiny = make_tiny(7);
  tiny.write(std::get<0>(GetParam()));
  EncoderOptions options = default_encoder_options();
  options.packed_products = std::get<1>(GetParam());
  options.threads = std::get<2>(GetParam());
  auto model = BertModel::load(tiny.path, tiny.config, options);
  ASSERT_TRUE(model) << model.error().message;
  ASSERT_TRUE(model->has_classifier());

  const std::vector<std::vector<int32_t>> ids = {
      {2, 5, 7, 11, 3}, {2, 19, 3}, {2, 4, 4, 4, 9, 13, 17, 3, 8, 3}};
  const std::vector<std::vector<int32_t>> types = {
      {0, 0, 0, 0, 0}, {0, 0, 0}, {0, 0, 0, 0, 0, 0, 0, 0, 1, 1}};
  const Batch batch = pad_batch(ids, types);
  BertWorkspace ws;
  ASSERT_TRUE(model->forward(batch, &ws));
  std::vector<float> logits;
  ASSERT_TRUE(model->classify(&ws, &logits));
  ASSERT_EQ(logits.size(), 3u);

  for (size_t b = 0; b < ids.size(); ++b) {
    const Mat ref = reference_forward(tiny, ids[b], types[b]);
    for (size_t s = 0; s < ids[b].size(); ++s) {
      for (int j = 0; j < 8; ++j) {
        EXPECT_NEAR(ws.hidden[(b * batch.seq_len + s) * 8 + j], ref[s][j], 2e-5)
            << "sequence " << b << " token " << s << " dim " << j;
      }
    }
    EXPECT_NEAR(logits[b], reference_logit(tiny, ref), 2e-5) << "sequence " << b;

    // Alone (few rows: the path that skips OpenBLAS) the sequence gives the same numbers.
    BertWorkspace alone;
    ASSERT_TRUE(model->forward(pad_batch({ids[b]}, {types[b]}), &alone));
    for (size_t s = 0; s < ids[b].size(); ++s) {
      for (int j = 0; j < 8; ++j) {
        EXPECT_NEAR(alone.hidden[s * 8 + j], ref[s][j], 2e-5) << "alone " << b << " token " << s;
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(PrefixesPathsThreads, TinyBert,
                         ::testing::Combine(::testing::Values("", "bert."), ::testing::Bool(),
                                            ::testing::Values(1, 2)));

TEST(BertModel, rejects_ids_outside_the_vocabulary_and_overlong_sequences) {
  TinyModel tiny = make_tiny(3);
  tiny.write("");
  auto model = BertModel::load(tiny.path, tiny.config, default_encoder_options());
  ASSERT_TRUE(model) << model.error().message;
  BertWorkspace ws;
  auto bad_id = model->forward(pad_batch({{2, 20, 3}}, {{0, 0, 0}}), &ws);
  ASSERT_FALSE(bad_id);
  EXPECT_NE(bad_id.error().message.find("20"), std::string::npos);
  auto bad_type = model->forward(pad_batch({{2, 5, 3}}, {{0, 2, 0}}), &ws);
  EXPECT_FALSE(bad_type);
  std::vector<int32_t> long_ids(17, 5);
  auto too_long = model->forward(pad_batch({long_ids}, {std::vector<int32_t>(17, 0)}), &ws);
  ASSERT_FALSE(too_long);
  EXPECT_NE(too_long.error().message.find("max_position_embeddings"), std::string::npos);
}

TEST(BertModel, missing_layer_tensor_is_named_with_the_file) {
  TinyModel tiny = make_tiny(3);
  tiny.tensors.erase("encoder.layer.1.intermediate.dense.bias");
  tiny.write("");
  auto model = BertModel::load(tiny.path, tiny.config, default_encoder_options());
  ASSERT_FALSE(model);
  EXPECT_NE(model.error().message.find("encoder.layer.1.intermediate.dense.bias"),
            std::string::npos);
  EXPECT_NE(model.error().message.find(tiny.path), std::string::npos);
}

TEST(BertModel, config_that_disagrees_with_the_weights_names_the_tensor_and_shapes) {
  TinyModel tiny = make_tiny(3);
  tiny.write("");
  BertConfig wrong = tiny.config;
  wrong.intermediate_size = 32;
  auto model = BertModel::load(tiny.path, wrong, default_encoder_options());
  ASSERT_FALSE(model);
  EXPECT_NE(model.error().message.find("intermediate.dense.weight"), std::string::npos);
  EXPECT_NE(model.error().message.find("[16, 8]"), std::string::npos) << model.error().message;
  EXPECT_NE(model.error().message.find("[32, 8]"), std::string::npos);
}

}  // namespace
}  // namespace libromind::ml
