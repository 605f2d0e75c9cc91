// Encoder benchmarks (Google Benchmark): catalogue embedding throughput at batch 32 with 1 and 2
// threads, single short-query latency (p50/p99), cross-encoder scoring of 20 catalogue-length
// candidates. Models from ${LIBROMIND_MODEL_DIR:-~/.cache/libromind/models}; descriptions from
// ${LIBROMIND_BOOKS:-/work/shared/data/books/books-000.jsonl}.
//
//   bench_encoder --benchmark_filter=Embed --benchmark_counters_tabular=true
#include <benchmark/benchmark.h>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "ml/bert.hpp"
#include "ml/embedder.hpp"
#include "ml/packed_linear.hpp"

namespace ml = libromind::ml;

extern "C" void openblas_set_num_threads(int num_threads);  // OpenBLAS's own symbol

namespace {

constexpr size_t kDescriptions = 1000;

std::string env_or(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? v : fallback;
}

std::string model_root() {
  return env_or("LIBROMIND_MODEL_DIR", env_or("HOME", "") + "/.cache/libromind/models");
}

const std::vector<std::string>& descriptions() {
  static const std::vector<std::string> texts = [] {
    std::vector<std::string> out;
    std::ifstream in(env_or("LIBROMIND_BOOKS", "/work/shared/data/books/books-000.jsonl"));
    std::string line;
    while (out.size() < kDescriptions && std::getline(in, line)) {
      nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
      if (j.is_object() && j.contains("description") && j["description"].is_string() &&
          !j["description"].get<std::string>().empty()) {
        out.push_back(j["description"].get<std::string>());
      }
    }
    return out;
  }();
  return texts;
}

// One loaded model per thread count (threads are fixed at load).
ml::SentenceEmbedder* embedder(int32_t threads, std::string* error) {
  static std::unique_ptr<ml::SentenceEmbedder> cache[3];
  if (!cache[threads]) {
    ml::EncoderOptions options = ml::default_encoder_options();
    options.threads = threads;
    options.batch_size = 32;
    // LIBROMIND_BENCH_PACKED=0: the OpenBLAS and few-row path, for a comparison in one run.
    options.packed_products = env_or("LIBROMIND_BENCH_PACKED", "1") != "0";
    auto e = ml::SentenceEmbedder::load(model_root() + "/embedder", options);
    if (!e) {
      *error = e.error().message;
      return nullptr;
    }
    cache[threads] = std::make_unique<ml::SentenceEmbedder>(std::move(*e));
  }
  return cache[threads].get();
}

// The arithmetic a forward pass over `tokens` real word pieces must do, in floating-point
// operations (a multiply-add is 2): every layer's matrix products (2 per weight per token:
// query, key, value, output, and the two feed-forward ones) and its attention (scores and
// context: 2 x 2 x n^2 x hidden). Padding, LayerNorm, softmax and GELU are not counted: this is
// the work any implementation has to do, so GFLOP/s against the FMA peak is an efficiency.
struct ModelShape {
  double hidden = 0;
  double intermediate = 0;
  double layers = 0;
};

ModelShape model_shape() {
  std::ifstream in(model_root() + "/embedder/config.json");
  nlohmann::json j = nlohmann::json::parse(in, nullptr, false);
  ModelShape m;
  if (j.is_object()) {
    m.hidden = j.value("hidden_size", 0.0);
    m.intermediate = j.value("intermediate_size", 0.0);
    m.layers = j.value("num_hidden_layers", 0.0);
  }
  return m;
}

double forward_flop(const ModelShape& m, double tokens) {
  const double weights_per_layer = 4 * m.hidden * m.hidden + 2 * m.hidden * m.intermediate;
  return m.layers * (2 * tokens * weights_per_layer + 4 * tokens * tokens * m.hidden);
}

void BM_EmbedCatalogue(benchmark::State& state) {
  std::string error;
  ml::SentenceEmbedder* emb = embedder(static_cast<int32_t>(state.range(0)), &error);
  if (emb == nullptr) {
    state.SkipWithError(error.c_str());
    return;
  }
  const std::vector<std::string>& texts = descriptions();
  if (texts.size() < kDescriptions) {
    state.SkipWithError("fewer than 1000 descriptions in the catalogue file");
    return;
  }
  for (auto _ : state) {
    auto v = emb->embed(texts);
    if (!v) {
      state.SkipWithError(v.error().message.c_str());
      return;
    }
    benchmark::DoNotOptimize(v->data());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * texts.size()));
  // The useful arithmetic of one pass over the texts (as the embedder truncates them), so the
  // report can put this rate and the baseline's beside the machine's peak (BM_FmaPeak).
  const ModelShape shape = model_shape();
  double flop = 0;
  for (const std::string& t : texts) {
    flop += forward_flop(shape, static_cast<double>(emb->tokenizer().encode(t).ids.size()));
  }
  state.counters["gflop_per_pass"] = flop / 1e9;
  state.counters["gflop_per_s"] = benchmark::Counter(
      flop / 1e9 * static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_EmbedCatalogue)
    ->ArgName("threads")
    ->Arg(1)
    ->Arg(2)
    ->Unit(benchmark::kMillisecond)
    ->MinTime(5.0)
    ->UseRealTime();

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
// 10 independent chains of 8-wide fused multiply-adds: more than the FMA units' latency times
// their count, so this runs at the core's peak (2 x 8 x 2 = 32 flop per cycle on AVX2 cores
// with two FMA units).
__attribute__((target("avx2,fma"))) double fma_gflop(int64_t steps) {
  __m256 acc[10];
  for (int i = 0; i < 10; ++i) {
    acc[i] = _mm256_set1_ps(1.0f + static_cast<float>(i) * 1e-7f);
  }
  const __m256 a = _mm256_set1_ps(0.9999999f);
  const __m256 b = _mm256_set1_ps(1e-7f);
  for (int64_t s = 0; s < steps; ++s) {
#pragma GCC unroll 10
    for (int i = 0; i < 10; ++i) {
      acc[i] = _mm256_fmadd_ps(acc[i], a, b);
    }
  }
  __m256 sum = acc[0];
  for (int i = 1; i < 10; ++i) {
    sum = _mm256_add_ps(sum, acc[i]);
  }
  benchmark::DoNotOptimize(sum);
  return static_cast<double>(steps) * 10 * 8 * 2 / 1e9;
}

// The machine's single-precision FMA peak with 1 and 2 busy threads (GFLOP/s): the ceiling
// of BM_EmbedCatalogue's gflop_per_s, measured in the same run.
void BM_FmaPeak(benchmark::State& state) {
  if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma")) {
    state.SkipWithError("no AVX2/FMA on this CPU");
    return;
  }
  const int threads = static_cast<int>(state.range(0));
  constexpr int64_t kSteps = 20'000'000;
  double gflop = 0;
  for (auto _ : state) {
    std::vector<std::thread> workers;
    for (int t = 1; t < threads; ++t) {
      workers.emplace_back([] { fma_gflop(kSteps); });
    }
    gflop += fma_gflop(kSteps) * threads;
    for (std::thread& w : workers) {
      w.join();
    }
  }
  state.counters["gflop_per_s"] = benchmark::Counter(gflop, benchmark::Counter::kIsRate);
}
BENCHMARK(BM_FmaPeak)
    ->ArgName("threads")
    ->Arg(1)
    ->Arg(2)
    ->Unit(benchmark::kMillisecond)
    ->MinTime(1.0)
    ->UseRealTime();
#endif

// One layer's weight products on a pass's worth of rows (one thread's half of a batch of 32 at
// 230 word pieces), through OpenBLAS (arg 0) and through the packed kernel (arg 1): the query,
// key and value product (384 -> 1152), the first feed-forward one with GELU (384 -> 1536) and the
// second with the residual (1536 -> 384). GFLOP/s against BM_FmaPeak/threads:1.
void BM_LayerProducts(benchmark::State& state) {
  const bool packed = state.range(0) == 1;
  if (packed && !ml::packed_linear_available()) {
    state.SkipWithError("no AVX2/FMA");
    return;
  }
  openblas_set_num_threads(1);  // one thread, as each of a batch's groups runs
  constexpr int64_t kRows = 3680;
  constexpr int32_t kHidden = 384;
  constexpr int32_t kInter = 1536;
  std::vector<float> x(kRows * kHidden, 0.5f);
  std::vector<float> ff(kRows * kInter, 0.25f);
  std::vector<float> y(kRows * kInter);
  std::vector<float> qkv_w(3 * kHidden * kHidden, 0.01f);
  std::vector<float> ff1_w(kInter * kHidden, 0.01f);
  std::vector<float> ff2_w(kHidden * kInter, 0.01f);
  std::vector<float> b(kInter, 0.1f);
  const ml::PackedLinear qkv_p(qkv_w.data(), b.data(), 3 * kHidden, kHidden);
  const ml::PackedLinear ff1_p(ff1_w.data(), b.data(), kInter, kHidden);
  const ml::PackedLinear ff2_p(ff2_w.data(), b.data(), kHidden, kInter);
  for (auto _ : state) {
    if (packed) {
      ml::linear_packed(x.data(), kHidden, kRows, qkv_p, {}, y.data(), kInter);
      ml::linear_packed(x.data(), kHidden, kRows, ff1_p, {.gelu = true}, y.data(), kInter);
      ml::linear_packed(ff.data(), kInter, kRows, ff2_p,
                        {.residual = x.data(), .ld_residual = kHidden}, y.data(), kHidden);
    } else {
      ml::linear(x.data(), kHidden, kRows, kHidden, qkv_w.data(), b.data(), 3 * kHidden, y.data(),
                 kInter, false, ml::LinearPath::blas);
      ml::linear(x.data(), kHidden, kRows, kHidden, ff1_w.data(), b.data(), kInter, y.data(),
                 kInter, false, ml::LinearPath::blas);
      ml::gelu(y.data(), kRows * kInter);
      ml::add_bias(x.data(), kRows, kHidden, b.data(), y.data());
      ml::linear(ff.data(), kInter, kRows, kInter, ff2_w.data(), nullptr, kHidden, y.data(),
                 kHidden, true, ml::LinearPath::blas);
    }
    benchmark::DoNotOptimize(y.data());
  }
  const double flop = 2.0 * kRows * kHidden * (3 * kHidden + 2 * kInter);
  state.counters["gflop_per_s"] = benchmark::Counter(
      flop / 1e9 * static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
  state.SetLabel(packed ? "packed" : "openblas");
}
BENCHMARK(BM_LayerProducts)
    ->ArgName("packed")
    ->Arg(0)
    ->Arg(1)
    ->Threads(1)
    ->Threads(2)
    ->Unit(benchmark::kMillisecond)
    ->MinTime(2.0)
    ->UseRealTime();

// Embeds the queries one at a time, in turn, timing each call: p50/p99 counters.
void time_query_embeddings(benchmark::State& state, const std::vector<std::string>& queries) {
  std::string error;
  ml::SentenceEmbedder* emb = embedder(static_cast<int32_t>(state.range(0)), &error);
  if (emb == nullptr) {
    state.SkipWithError(error.c_str());
    return;
  }
  if (queries.empty()) {
    state.SkipWithError("no queries");
    return;
  }
  std::vector<double> ms;
  size_t next = 0;
  for (auto _ : state) {
    const std::vector<std::string> one = {queries[next++ % queries.size()]};
    const auto t0 = std::chrono::steady_clock::now();
    auto v = emb->embed(one);
    const auto t1 = std::chrono::steady_clock::now();
    if (!v) {
      state.SkipWithError(v.error().message.c_str());
      return;
    }
    benchmark::DoNotOptimize(v->data());
    ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
  }
  std::sort(ms.begin(), ms.end());
  state.counters["p50_ms"] = ms[ms.size() / 2];
  state.counters["p99_ms"] = ms[std::min(ms.size() - 1, ms.size() * 99 / 100)];
  state.SetItemsProcessed(state.iterations());
}

// 1 and 2 threads, real time, 2 s each.
void query_benchmark(benchmark::internal::Benchmark* b) {
  b->ArgName("threads")->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->MinTime(2.0)->UseRealTime();
}

void BM_EmbedShortQuery(benchmark::State& state) {
  time_query_embeddings(state, {"cozy mystery in an english village"});
}
BENCHMARK(BM_EmbedShortQuery)->Apply(query_benchmark);

// The labelled shopper queries of ../shared/eval/dev.jsonl (LIBROMIND_QUERIES), one at a time
// in turn: what the search endpoint embeds. Most are longer than the short query above (a
// sentence of 10 to 30 word pieces).
const std::vector<std::string>& shopper_queries() {
  static const std::vector<std::string> queries = [] {
    std::vector<std::string> out;
    std::ifstream in(env_or("LIBROMIND_QUERIES", "/work/shared/eval/dev.jsonl"));
    std::string line;
    while (std::getline(in, line)) {
      nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
      if (j.is_object() && j.contains("query") && j["query"].is_string()) {
        out.push_back(j["query"].get<std::string>());
      }
    }
    return out;
  }();
  return queries;
}

void BM_EmbedShopperQueries(benchmark::State& state) {
  time_query_embeddings(state, shopper_queries());
}
BENCHMARK(BM_EmbedShopperQueries)->Apply(query_benchmark);

// 20 (query, description) pairs per iteration. Without an installed re-ranker, the same pairs
// run through the embedder's encoder instead (label "proxy"): ms-marco-MiniLM-L-6-v2 has the
// shape of all-MiniLM-L6-v2 (6 layers, hidden 384), and its head is one 384x384 product.
void BM_CrossEncoder20(benchmark::State& state) {
  ml::EncoderOptions options = ml::default_encoder_options();
  options.threads = static_cast<int32_t>(state.range(0));
  const std::vector<std::string>& all = descriptions();
  if (all.size() < 20) {
    state.SkipWithError("fewer than 20 descriptions in the catalogue file");
    return;
  }
  const std::vector<std::string> docs(all.begin(), all.begin() + 20);
  const std::string query = "a sea voyage and the hunt for a white whale";
  // LIBROMIND_BENCH_RERANKER: the baseline's cross-encoder (bench/ml/run.sh sets it), so both
  // sides score the same model.
  auto ce = ml::CrossEncoder::load(env_or("LIBROMIND_BENCH_RERANKER", model_root() + "/reranker"),
                                   options);
  if (ce) {
    for (auto _ : state) {
      auto s = ce->score(query, docs);
      if (!s) {
        state.SkipWithError(s.error().message.c_str());
        return;
      }
      benchmark::DoNotOptimize(s->logits.data());
    }
  } else {
    std::string error;
    ml::SentenceEmbedder* emb = embedder(options.threads, &error);
    if (emb == nullptr) {
      state.SkipWithError(error.c_str());
      return;
    }
    state.SetLabel("proxy: embedder encoder on the pairs (no re-ranker installed)");
    std::vector<ml::Encoding> pairs;
    for (const std::string& d : docs) {
      pairs.push_back(emb->tokenizer().encode_pair(query, d));
    }
    for (auto _ : state) {
      auto v = emb->embed_encodings(pairs);
      if (!v) {
        state.SkipWithError(v.error().message.c_str());
        return;
      }
      benchmark::DoNotOptimize(v->data());
    }
  }
  state.SetItemsProcessed(state.iterations() * 20);
}
BENCHMARK(BM_CrossEncoder20)
    ->ArgName("threads")
    ->Arg(1)
    ->Arg(2)
    ->Unit(benchmark::kMillisecond)
    ->MinTime(3.0)
    ->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
