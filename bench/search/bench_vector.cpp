// ANN quality and speed of the vector index on the store's real book vectors: recall@10 of the
// FAISS HNSW index against exact search, without and with filters of decreasing selectivity,
// and the latency of both, one query at a time. Queries are the labelled shopper queries
// (embedded with the real model) plus book vectors of randomly chosen books.
//
//   bench_vector --database-url sqlite://... --queries ../shared/eval/dev.jsonl [--random 450]
// Prints one JSON object (bench/search/run.sh writes it into docs/benchmarks.md).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "ml/model_files.hpp"
#include "search/embedding_store.hpp"
#include "search/encoders.hpp"
#include "search/eval.hpp"
#include "search/indexer.hpp"
#include "search/search_index.hpp"
#include "store/store.hpp"

using namespace libromind;
using Clock = std::chrono::steady_clock;

namespace {

int die(const std::string& m) {
  std::cerr << "bench_vector: " << m << "\n";
  return 1;
}

std::string arg(int argc, char** argv, const std::string& name, const std::string& dflt) {
  for (int i = 1; i + 1 < argc; ++i) {
    if (argv[i] == name) return argv[i + 1];
  }
  return dflt;
}

double ms(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

}  // namespace

int main(int argc, char** argv) {
  const std::string url = arg(argc, argv, "--database-url", "");
  const std::string queries_path = arg(argc, argv, "--queries", "");
  const std::string model_dir =
      arg(argc, argv, "--model-dir", std::string(getenv("HOME")) + "/.cache/libromind/models");
  const int n_random = std::stoi(arg(argc, argv, "--random", "450"));
  const int k = 10;
  if (url.empty()) return die("--database-url is required");
  store::StoreOptions so;
  so.url = url;
  auto st = store::open_store(so);
  if (!st) return die(st.error().message);
  auto model_id = search::book_vector_model_id(model_dir + "/embedder", 128);
  if (!model_id) return die(model_id.error().message);
  auto pool = search::EmbedderPool::load(model_dir + "/embedder", ml::default_encoder_options(), 1);
  if (!pool) return die(pool.error().message);

  // The index as serve builds it (lexical + HNSW + filter attributes).
  search::SearchIndexOptions io;
  io.model_id = *model_id;
  io.dim = (*pool)->dim();
  search::SearchIndex index(**st, io);
  const auto t_build = Clock::now();
  if (auto r = index.start(); !r) return die(r.error().message);
  if (!index.wait_ready(std::chrono::minutes(30))) return die("index not ready");
  const double build_ms = ms(t_build);
  const auto stats = index.vectors()->stats();

  // The same vectors, exactly.
  auto exact = search::make_exact_index(io.dim);
  std::vector<int64_t> ids;
  std::vector<float> flat;
  {
    search::EmbeddingStore es(**st, *model_id);
    int64_t seq = 0, book = 0;
    for (;;) {
      auto conn = (*st)->acquire(store::Access::kRead);
      auto page = es.load_changed(**conn, seq, book, 5000);
      if (!page) return die(page.error().message);
      if (page->empty()) break;
      for (auto& e : *page) {
        ids.push_back(e.book_id);
        flat.insert(flat.end(), e.vector.begin(), e.vector.end());
      }
      seq = page->back().change_seq;
      book = page->back().book_id;
    }
  }
  if (ids.empty()) return die("the store has no vectors of " + *model_id);
  if (auto r = exact->upsert(ids, flat); !r) return die(r.error().message);

  // Queries: the shopper queries, embedded, and random books' vectors.
  std::vector<std::vector<float>> queries;
  if (!queries_path.empty()) {
    auto qs = search::load_labelled_queries(queries_path);
    if (!qs) return die(qs.error().message);
    for (const auto& q : *qs) {
      auto v = (*pool)->embed(q.query);
      if (!v) return die(v.error().message);
      queries.push_back(std::move(*v));
    }
  }
  std::mt19937_64 rng(42);
  std::uniform_int_distribution<size_t> pick(0, ids.size() - 1);
  for (int i = 0; i < n_random; ++i) {
    const size_t at = pick(rng);
    queries.emplace_back(flat.begin() + at * io.dim, flat.begin() + (at + 1) * io.dim);
  }

  // Filters of decreasing selectivity.
  struct Filter {
    std::string name;
    search::SearchFilters f;
  };
  std::vector<Filter> filters{{"none", {}}};
  {
    search::SearchFilters in_stock;
    in_stock.in_stock = true;
    filters.push_back({"in_stock", in_stock});
    search::SearchFilters cheap;
    cheap.price_max = 500;
    filters.push_back({"price<=5.00", cheap});
    for (const char* g : {"Fiction", "Poetry", "Science fiction", "Detective and mystery stories",
                          "Whaling -- Fiction"}) {
      search::SearchFilters gf;
      gf.genre = g;
      filters.push_back({std::string("genre=") + g, gf});
    }
  }

  nlohmann::ordered_json out;
  out["model"] = *model_id;
  out["vectors"] = stats.vectors;
  out["graph"] = stats.graph;
  out["build_ms"] = build_ms;
  out["queries"] = queries.size();
  nlohmann::ordered_json rows = nlohmann::ordered_json::array();
  for (const auto& f : filters) {
    auto allow = index.allow(f.f);
    const search::AllowSet* ap = allow ? &*allow : nullptr;
    const double share =
        ap ? static_cast<double>(ap->count()) / static_cast<double>(stats.vectors) : 1.0;
    std::vector<double> t_hnsw, t_exact;
    double recall_sum = 0;
    int counted = 0;
    for (const auto& q : queries) {
      search::VectorSearchOptions vo;
      vo.k = k;
      vo.allow = ap;
      auto t0 = Clock::now();
      auto truth = exact->search(q.data(), vo);
      t_exact.push_back(ms(t0));
      t0 = Clock::now();
      auto got = index.vectors()->search(q.data(), vo);
      t_hnsw.push_back(ms(t0));
      if (truth.empty()) continue;
      std::set<int64_t> want;
      for (const auto& h : truth) want.insert(h.id);
      int hit = 0;
      for (const auto& h : got) hit += want.count(h.id) ? 1 : 0;
      recall_sum += static_cast<double>(hit) / static_cast<double>(want.size());
      ++counted;
    }
    rows.push_back({{"filter", f.name},
                    {"allowed_share", share},
                    {"recall_at_10", counted ? recall_sum / counted : 0.0},
                    {"hnsw_p50_ms", search::percentile(t_hnsw, 50)},
                    {"hnsw_p99_ms", search::percentile(t_hnsw, 99)},
                    {"exact_p50_ms", search::percentile(t_exact, 50)},
                    {"exact_p99_ms", search::percentile(t_exact, 99)}});
  }
  out["filters"] = rows;
  std::cout << out.dump(1) << "\n";
  index.stop();
  return 0;
}
