#include "cli/search_commands.hpp"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>

#include "cli/flags.hpp"
#include "cli/search_stack.hpp"
#include "core/text.hpp"
#include "ml/embedder.hpp"
#include "ml/model_files.hpp"
#include "search/documents.hpp"
#include "search/eval.hpp"
#include "search/indexer.hpp"
#include "search/llm_generator.hpp"
#include "store/migrations.hpp"
#include "telemetry/log.hpp"

namespace libromind::cli {
namespace {

struct IndexFlags {
  int max_tokens = 128;
  int write_batch = 64;
  int progress_seconds = 10;
  bool migrate = true;
};

int run_index(StoreFlags& sf, MlFlags& mf, IndexFlags& ix) {
  auto st = open_store(sf);
  if (!st) return fail(st.error().message);
  if (ix.migrate) {
    auto applied = store::migrate(**st);
    if (!applied) return fail("migration failed: " + applied.error().message);
  }
  const std::string dir = mf.model_dir + "/embedder";
  if (auto v = ml::verify_model_files(dir); !v) return fail(v.error().message);
  auto id = search::book_vector_model_id(dir, ix.max_tokens);
  if (!id) return fail(id.error().message);
  ml::EncoderOptions eo = encoder_options(mf);
  eo.max_seq_length = ix.max_tokens;
  auto embedder = ml::SentenceEmbedder::load(dir, eo);
  if (!embedder) return fail(embedder.error().message);

  search::IndexerOptions io;
  io.batch = ix.write_batch;
  search::EmbeddingIndexer indexer(**st, *embedder, *id, io);
  const auto t0 = std::chrono::steady_clock::now();
  auto last = t0;
  auto stats = indexer.run_full(nullptr, [&](const search::IndexerStats& s) {
    const auto now = std::chrono::steady_clock::now();
    if (s.embedded != 0 && s.embedded != s.stale &&
        now - last < std::chrono::seconds(ix.progress_seconds)) {
      return;
    }
    last = now;
    const double secs = std::chrono::duration<double>(now - t0).count();
    const double rate = secs > 0 ? static_cast<double>(s.embedded) / secs : 0;
    telemetry::log_info("index_progress",
                        {{"model", *id},
                         {"books", s.books},
                         {"stale", s.stale},
                         {"embedded", s.embedded},
                         {"per_second", rate},
                         {"eta_seconds", rate > 0 ? (s.stale - s.embedded) / rate : 0.0}});
  });
  if (!stats) return fail("indexing failed: " + stats.error().message);
  nlohmann::ordered_json out = {
      {"model", *id},
      {"books", stats->books},
      {"up_to_date", stats->up_to_date},
      {"embedded", stats->embedded},
      {"seconds", stats->seconds},
      {"per_second", stats->seconds > 0 ? stats->embedded / stats->seconds : 0.0}};
  std::cout << out.dump() << "\n";
  return 0;
}

struct EvalFlags {
  std::string queries;
  std::vector<std::string> configs{"lexical", "dense", "hybrid"};
  std::string run_dir;
  std::string run_file;
  std::string index_dir;
  int depth = 100;
  int ready_timeout = 600;
  bool json = false;
  LlmFlags llm;
};

// "hybrid+rerank+expansion:offline" -> a pipeline configuration.
core::Result<search::PipelineConfig> parse_config(const std::string& name) {
  search::PipelineConfig c;
  c.lexical = c.dense = false;
  for (auto part : core::split(name, '+')) {
    std::string p(core::trim(part));
    std::string source = "auto";
    if (auto colon = p.find(':'); colon != std::string::npos) {
      source = p.substr(colon + 1);
      p = p.substr(0, colon);
    }
    if (p == "lexical") {
      c.lexical = true;
    } else if (p == "dense") {
      c.dense = true;
    } else if (p == "hybrid") {
      c.lexical = c.dense = true;
    } else if (p == "rerank") {
      c.rerank = true;
    } else if (p == "expansion") {
      LM_ASSIGN_OR_RETURN(c.expansion, search::parse_stage_source(source));
    } else if (p == "hyde") {
      LM_ASSIGN_OR_RETURN(c.hyde, search::parse_stage_source(source));
    } else if (p.rfind("rrf_k=", 0) == 0 || p.rfind("dense_weight=", 0) == 0) {
      const bool is_k = p[0] == 'r';
      auto value = core::parse_double(p.substr(p.find('=') + 1));
      if (!value || *value < 0 || *value > (is_k ? 1000 : 10) || (is_k && *value <= 0)) {
        return core::Error::invalid("bad value in '" + p + "' of configuration '" + name + "'");
      }
      (is_k ? c.rrf_k : c.dense_weight) = *value;
    } else if (p.rfind("lexical_budget=", 0) == 0) {
      auto value = core::parse_double(p.substr(p.find('=') + 1));
      if (!value || *value < 0 || *value > 1e8 || *value != std::floor(*value)) {
        return core::Error::invalid("bad value in '" + p + "' of configuration '" + name + "'");
      }
      c.lexical_budget = static_cast<int>(*value);
    } else if (p == "all") {
      c.lexical = c.dense = c.rerank = true;
      c.expansion = c.hyde = search::StageSource::kAuto;
    } else {
      return core::Error::invalid("unknown stage '" + p + "' in configuration '" + name +
                                  "' (lexical, dense, hybrid, rerank, expansion[:src], "
                                  "hyde[:src], all, rrf_k=K, dense_weight=W, lexical_budget=N)");
    }
  }
  if (!c.lexical && !c.dense) {
    return core::Error::invalid("configuration '" + name + "' has no retriever");
  }
  return c;
}

int run_eval(StoreFlags& sf, MlFlags& mf, EvalFlags& ev) {
  telemetry::set_log_to_stderr(true);  // stdout is the report
  auto queries = search::load_labelled_queries(ev.queries);
  if (!queries) return fail(queries.error().message);
  if (queries->empty()) return fail(ev.queries + " holds no queries");
  std::vector<std::pair<std::string, search::PipelineConfig>> configs;
  for (const auto& name : ev.configs) {
    auto c = parse_config(name);
    if (!c) return fail(c.error().message);
    c->lexical_k = c->dense_k = std::max(ev.depth, 50);
    configs.emplace_back(name, *c);
  }
  if (!ev.run_file.empty() && configs.size() != 1) {
    return fail("--run-file takes one --config; use --run-dir for several");
  }
  auto st = open_store(sf);
  if (!st) return fail(st.error().message);
  SearchStackOptions o;
  o.index_dir = ev.index_dir;
  o.model_dir = mf.model_dir;
  o.query_encoders = 1;
  o.query_threads = mf.threads;
  auto llm_client = make_llm_client(ev.llm, nullptr);
  if (!llm_client) return fail(llm_client.error().message);
  std::unique_ptr<search::LlmGenerator> generator;
  if (*llm_client) {
    generator = std::make_unique<search::LlmGenerator>(**llm_client, ev.llm.model);
    o.generator = generator.get();
  }
  auto stack = build_search_stack(**st, o);
  if (!stack) return fail(stack.error().message);
  if (!(*stack)->index->wait_ready(std::chrono::seconds(ev.ready_timeout))) {
    return fail("the search indexes were not ready after " + std::to_string(ev.ready_timeout) +
                " s");
  }
  auto status = (*stack)->index->status();
  telemetry::log_info("eval_start", {{"queries", queries->size()},
                                     {"books", status.docs},
                                     {"vectors", status.vectors},
                                     {"model", (*stack)->model_id}});
  nlohmann::ordered_json report = nlohmann::ordered_json::array();
  if (!ev.json) {
    std::printf("%-34s %8s %9s %7s %8s %8s %8s %s\n", "configuration", "nDCG@10", "Recall@50",
                "MRR@10", "p50 ms", "p95 ms", "p99 ms", "degraded");
  }
  for (const auto& [name, config] : configs) {
    std::map<std::string, std::vector<std::string>> runs;
    std::vector<double> latencies;
    std::map<std::string, int> degraded;
    for (const auto& q : *queries) {
      search::SearchRequest req;
      req.query = q.query;
      req.limit = std::max(ev.depth, 50);
      req.config = config;
      const auto t0 = std::chrono::steady_clock::now();
      auto r = (*stack)->pipeline->search(req);
      latencies.push_back(
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
      if (!r) return fail("query " + q.id + ": " + r.error().message);
      for (const auto& d : r->degraded) ++degraded[d.stage];
      std::vector<int64_t> ids;
      for (const auto& h : r->hits) ids.push_back(h.id);
      auto& ranking = runs[q.id];
      if (!ids.empty()) {
        auto conn = (*st)->acquire(store::Access::kRead);
        if (!conn) return fail(conn.error().message);
        auto docs = search::load_docs(**conn, ids);
        if (!docs) return fail(docs.error().message);
        std::map<int64_t, std::string> ext;
        for (const auto& d : *docs) ext.emplace(d.id, d.ext_id);
        for (int64_t id : ids) {
          if (ext.count(id)) ranking.push_back(ext[id]);
        }
      }
    }
    if (!ev.run_dir.empty() || !ev.run_file.empty()) {
      std::string path = ev.run_file;
      if (path.empty()) {
        std::filesystem::create_directories(ev.run_dir);
        std::string file = name;
        for (char& ch : file) {
          if (ch == ':' || ch == '/') ch = '_';
        }
        path = ev.run_dir + "/" + file + ".jsonl";
      }
      std::ofstream out(path);
      for (const auto& q : *queries) {
        out << nlohmann::json{{"id", q.id}, {"ranking", runs[q.id]}}.dump() << "\n";
      }
      if (!out) return fail("cannot write " + path);
    }
    auto scores = search::score_queries(*queries, runs);
    auto summary = search::summarise(scores);
    const auto& overall = summary.back().second;
    nlohmann::ordered_json by_type = nlohmann::ordered_json::object();
    for (const auto& [type, m] : summary) {
      by_type[type] = {
          {"n", m.n}, {"ndcg@10", m.ndcg10}, {"recall@50", m.recall50}, {"mrr@10", m.mrr10}};
    }
    nlohmann::ordered_json deg = degraded;
    report.push_back({{"configuration", name},
                      {"pipeline", nlohmann::json::parse(config.to_json())},
                      {"ndcg@10", overall.ndcg10},
                      {"recall@50", overall.recall50},
                      {"mrr@10", overall.mrr10},
                      {"latency_ms",
                       {{"p50", search::percentile(latencies, 50)},
                        {"p95", search::percentile(latencies, 95)},
                        {"p99", search::percentile(latencies, 99)}}},
                      {"degraded", deg},
                      {"by_type", by_type}});
    if (!ev.json) {
      std::string d;
      for (const auto& [stage, n] : degraded) d += stage + "×" + std::to_string(n) + " ";
      std::printf("%-34s %8.3f %9.3f %7.3f %8.1f %8.1f %8.1f %s\n", name.c_str(), overall.ndcg10,
                  overall.recall50, overall.mrr10, search::percentile(latencies, 50),
                  search::percentile(latencies, 95), search::percentile(latencies, 99), d.c_str());
      std::fflush(stdout);
    }
  }
  if (ev.json) std::cout << report.dump(1) << "\n";
  return 0;
}

}  // namespace

void add_search_commands(CLI::App& app, int& exit_code) {
  auto* index = app.add_subcommand(
      "index", "Compute the embeddings the store is missing (new books, changed text, new model)");
  auto sf = std::make_shared<StoreFlags>();
  auto mf = std::make_shared<MlFlags>();
  auto ix = std::make_shared<IndexFlags>();
  add_store_flags(*index, *sf);
  add_ml_flags(*index, *mf);
  index
      ->add_option("--max-tokens", ix->max_tokens,
                   "Word pieces of each book's text the embedder reads (the model's own limit "
                   "when larger); part of the vectors' model id")
      ->envname("LIBROMIND_INDEX_MAX_TOKENS")
      ->check(CLI::Range(16, 512))
      ->capture_default_str();
  index->add_option("--write-batch", ix->write_batch, "Books per embedding write transaction")
      ->envname("LIBROMIND_INDEX_WRITE_BATCH")
      ->check(CLI::Range(1, 1024))
      ->capture_default_str();
  index->add_option("--progress-seconds", ix->progress_seconds, "Seconds between progress lines")
      ->check(CLI::Range(1, 3600))
      ->capture_default_str();
  index->add_option("--migrate", ix->migrate, "Apply pending migrations first")
      ->envname("LIBROMIND_MIGRATE_ON_START")
      ->capture_default_str();
  index->callback([sf, mf, ix, &exit_code] { exit_code = run_index(*sf, *mf, *ix); });

  auto* eval = app.add_subcommand(
      "eval", "Search quality on a labelled query file: nDCG@10, Recall@50, MRR@10, latency");
  auto esf = std::make_shared<StoreFlags>();
  auto emf = std::make_shared<MlFlags>();
  auto ef = std::make_shared<EvalFlags>();
  add_store_flags(*eval, *esf);
  add_ml_flags(*eval, *emf);
  add_llm_flags(*eval, ef->llm);
  eval->add_option("--queries", ef->queries,
                   "Labelled queries, JSON Lines as ../shared/eval/dev.jsonl")
      ->required()
      ->check(CLI::ExistingFile);
  eval->add_option("--config", ef->configs,
                   "Pipeline configurations to compare (repeatable): lexical, dense, hybrid, "
                   "joined with +rerank, +expansion[:auto|llm|offline], +hyde[:...]; or all")
      ->capture_default_str();
  eval->add_option("--run-dir", ef->run_dir,
                   "Write one run file per configuration here (the format score.py reads)");
  eval->add_option("--run-file", ef->run_file, "Write the run file of the (single) configuration");
  eval->add_option("--index-dir", ef->index_dir,
                   "Reuse the lexical index snapshot kept here (default: build a private one)")
      ->envname("LIBROMIND_INDEX_DIR");
  eval->add_option("--depth", ef->depth, "Books ranked per query (at least 50)")
      ->check(CLI::Range(50, 100))
      ->capture_default_str();
  eval->add_option("--ready-timeout", ef->ready_timeout, "Seconds to wait for the indexes")
      ->capture_default_str();
  eval->add_flag("--json", ef->json, "Print the report as JSON (with per-type means)");
  eval->callback([esf, emf, ef, &exit_code] { exit_code = run_eval(*esf, *emf, *ef); });
}

}  // namespace libromind::cli
