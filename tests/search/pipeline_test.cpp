// The search pipeline over a 20-book catalogue in SQLite. With the real embedder (its book
// vectors computed by EmbeddingIndexer; skipped when the model is not installed): hybrid,
// lexical-only and dense-only searches, pseudo-relevance feedback, similar books. Without it:
// every missing or failing stage is named in `degraded` and the search still answers
// (FailingGenerator injects model-server failures), WordNet expansion, and the queries that
// have nothing to search for.
#include "search/pipeline.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>

#include "../ml/ml_test_support.hpp"
#include "search/encoders.hpp"
#include "search/indexer.hpp"
#include "search/offline_expansion.hpp"
#include "search_fixture.hpp"

namespace libromind::search {
namespace {

using testing::Backend;
using testing::TempDir;
using testing::TestDatabase;

std::string embedder_dir() { return ml::testing::model_root() + "/embedder"; }
bool have_embedder() { return std::filesystem::exists(embedder_dir() + "/model.safetensors"); }

#define REQUIRE_EMBEDDER()                                                                      \
  do {                                                                                          \
    if (!shared_->embedder) {                                                                   \
      LM_SKIP_OR_FAIL("no embedder in " << embedder_dir() << " (run scripts/fetch-models.sh)"); \
    }                                                                                           \
  } while (0)

#define REQUIRE_WORDNET()                                                      \
  do {                                                                         \
    if (!shared_->wordnet) GTEST_SKIP() << "no WordNet in /usr/share/wordnet"; \
  } while (0)

// A model server that is down (fault injection): every call fails, or the circuit is open.
class FailingGenerator : public Generator {
 public:
  explicit FailingGenerator(bool available = true) : available_(available) {}
  core::Result<std::string> generate(const std::string&, const std::string&, int) override {
    ++calls;
    return core::Error::unavailable("injected failure: connection refused");
  }
  bool available() const override { return available_; }
  std::string model() const override { return "failing"; }
  int calls = 0;

 private:
  bool available_;
};

// A model server that answers with a fixed text.
class ScriptedGenerator : public Generator {
 public:
  explicit ScriptedGenerator(std::string text) : text_(std::move(text)) {}
  core::Result<std::string> generate(const std::string& system, const std::string& user,
                                     int) override {
    last_system = system;
    last_user = user;
    return text_;
  }
  bool available() const override { return true; }
  std::string model() const override { return "scripted"; }
  std::string last_system, last_user;

 private:
  std::string text_;
};

struct Shared {
  std::unique_ptr<TestDatabase> db;
  std::unique_ptr<store::Store> store;
  TempDir tmp;
  std::unique_ptr<EmbedderPool> embedder;
  std::optional<WordNet> wordnet;
  std::unique_ptr<SearchIndex> index;
  std::map<std::string, int64_t> pk;
  std::map<int64_t, std::string> ext;
  std::string setup_error;
};

class PipelineTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    shared_ = new Shared();
    auto fail = [](std::string why) { shared_->setup_error = std::move(why); };
    auto db = TestDatabase::create(Backend::kSqlite);
    if (!db) return fail(db.error().message);
    shared_->db = std::move(*db);
    auto s = shared_->db->open(4, 10000);
    if (!s) return fail(s.error().message);
    shared_->store = std::move(*s);
    if (auto m = store::migrate(*shared_->store); !m) return fail(m.error().message);
    const std::string file = (shared_->tmp.path() / "books.jsonl").string();
    {
      std::ofstream out(file);
      out << testing::kBooks;
    }
    auto report = catalog::import_files(*shared_->store, {file}, {});
    if (!report || report->failed != 0) return fail("import failed");
    {
      auto conn = shared_->store->acquire(store::Access::kRead);
      if (!conn) return fail(conn.error().message);
      auto rows = (*conn)->query("SELECT id, ext_id FROM books");
      if (!rows) return fail(rows.error().message);
      for (const auto& r : rows->rows) {
        shared_->pk[store::as_string(r[1])] = store::as_int(r[0]);
        shared_->ext[store::as_int(r[0])] = store::as_string(r[1]);
      }
    }
    SearchIndexOptions io;
    io.poll = std::chrono::milliseconds(20);
    if (have_embedder()) {
      // Book vectors as `libromind index` computes them (128 tokens), queries at full length.
      auto model_id = book_vector_model_id(embedder_dir(), 128);
      if (!model_id) return fail(model_id.error().message);
      ml::EncoderOptions bo = ml::default_encoder_options();
      bo.max_seq_length = 128;
      auto books = ml::SentenceEmbedder::load(embedder_dir(), bo);
      if (!books) return fail(books.error().message);
      EmbeddingIndexer indexer(*shared_->store, *books, *model_id);
      auto stats = indexer.run_full();
      if (!stats) return fail(stats.error().message);
      if (stats->embedded != testing::kBookCount) return fail("not every book was embedded");
      auto pool = EmbedderPool::load(embedder_dir(), ml::default_encoder_options(), 1);
      if (!pool) return fail(pool.error().message);
      shared_->embedder = std::move(*pool);
      io.model_id = *model_id;
      io.dim = shared_->embedder->dim();
    }
    if (auto wn = WordNet::load("/usr/share/wordnet"); wn) shared_->wordnet.emplace(std::move(*wn));
    shared_->index = std::make_unique<SearchIndex>(*shared_->store, io);
    if (auto r = shared_->index->start(); !r) return fail(r.error().message);
    if (!shared_->index->wait_ready(std::chrono::seconds(30))) return fail("index not ready");
  }

  static void TearDownTestSuite() {
    if (shared_->index) shared_->index->stop();
    shared_->index.reset();
    shared_->store.reset();
    shared_->db.reset();
    delete shared_;
    shared_ = nullptr;
  }

  void SetUp() override { ASSERT_EQ(shared_->setup_error, ""); }

  // The pipeline of a process with what `deps` names installed (the store always).
  Pipeline pipeline(PipelineDeps deps = {}) const {
    deps.store = shared_->store.get();
    return Pipeline(*shared_->index, std::move(deps));
  }
  static PipelineDeps deps(const WordNet* wordnet, Generator* generator) {
    PipelineDeps d;
    d.wordnet = wordnet;
    d.generator = generator;
    return d;
  }
  PipelineDeps with_embedder() const {
    PipelineDeps d;
    d.embedder = shared_->embedder.get();
    return d;
  }

  static SearchRequest request(std::string query, bool lexical = true, bool dense = true) {
    SearchRequest r;
    r.query = std::move(query);
    r.limit = 10;
    r.config.lexical = lexical;
    r.config.dense = dense;
    return r;
  }

  SearchResult run(const Pipeline& p, const SearchRequest& r) const {
    auto res = p.search(r);
    EXPECT_TRUE(res) << res.error().message;
    return res ? *res : SearchResult{};
  }

  int64_t pk(const std::string& e) const { return shared_->pk.at(e); }
  std::string ext(int64_t id) const {
    auto it = shared_->ext.find(id);
    return it == shared_->ext.end() ? "#" + std::to_string(id) : it->second;
  }
  std::vector<std::string> exts(const SearchResult& r) const {
    std::vector<std::string> out;
    for (const auto& h : r.hits) out.push_back(ext(h.id));
    return out;
  }
  static bool has_stage(const SearchResult& r, const std::string& stage) {
    return std::any_of(r.degraded.begin(), r.degraded.end(),
                       [&](const Degraded& d) { return d.stage == stage; });
  }
  static std::string reason(const SearchResult& r, const std::string& stage) {
    for (const auto& d : r.degraded) {
      if (d.stage == stage) return d.reason;
    }
    return "";
  }
  static bool timed(const SearchResult& r, const std::string& stage) {
    return std::any_of(r.timings.begin(), r.timings.end(),
                       [&](const StageTiming& t) { return t.stage == stage; });
  }
  static double score_sum(const SearchResult& r) {
    double s = 0;
    for (const auto& h : r.hits) s += h.score;
    return s;
  }
  // What one more fused list of weight 1 holding every book adds to the sum of all scores.
  static double one_full_list() {
    double s = 0;
    for (int rank = 1; rank <= testing::kBookCount; ++rank) s += 1.0 / (60 + rank);
    return s;
  }

  static Shared* shared_;
};
Shared* PipelineTest::shared_ = nullptr;

// ---- with the real embedder ----

TEST_F(PipelineTest, hybrid_search_fuses_lexical_and_dense_hits) {
  REQUIRE_EMBEDDER();
  const auto p = pipeline(with_embedder());
  ASSERT_TRUE(p.has_dense());
  const auto r = run(p, request("whaling voyage hunting the great white whale"));
  EXPECT_TRUE(r.degraded.empty()) << reason(r, "dense");
  ASSERT_FALSE(r.hits.empty());
  EXPECT_EQ(ext(r.hits[0].id), "s-1");
  ASSERT_TRUE(r.hits[0].lexical_rank && r.hits[0].dense_rank);
  EXPECT_EQ(*r.hits[0].lexical_rank, 1);
  EXPECT_DOUBLE_EQ(r.hits[0].score,
                   1.0 / (60 + *r.hits[0].lexical_rank) + 1.0 / (60 + *r.hits[0].dense_rank));
  bool dense_only_hit = false;
  for (size_t i = 0; i < r.hits.size(); ++i) {
    const auto& h = r.hits[i];
    EXPECT_TRUE(h.lexical_rank || h.dense_rank) << ext(h.id);
    if (!h.lexical_rank) dense_only_hit = true;
    if (i) {
      EXPECT_GE(r.hits[i - 1].score, h.score);
    }
    EXPECT_FALSE(h.rerank_score);
  }
  EXPECT_TRUE(dense_only_hit) << "the dense list adds books without the query's words";
  EXPECT_TRUE(timed(r, "lexical"));
  EXPECT_TRUE(timed(r, "dense"));
  EXPECT_TRUE(timed(r, "fusion"));
  EXPECT_GT(r.total_ms, 0);
  EXPECT_LE(r.hits.size(), 10u);
}

TEST_F(PipelineTest, dense_only_search_finds_books_by_meaning) {
  REQUIRE_EMBEDDER();
  const auto p = pipeline(with_embedder());
  // No word of the query is in the catalogue's text of the book.
  const auto r = run(p, request("extraterrestrial invaders conquering mankind", false, true));
  EXPECT_TRUE(r.degraded.empty());
  ASSERT_GE(r.hits.size(), 3u);
  const auto top = exts(r);
  EXPECT_NE(std::find(top.begin(), top.begin() + 3, "s-9"), top.begin() + 3)
      << "War of the Worlds in the top 3";
  for (size_t i = 0; i < r.hits.size(); ++i) {
    EXPECT_FALSE(r.hits[i].lexical_rank);
    ASSERT_TRUE(r.hits[i].dense_rank);
    EXPECT_EQ(*r.hits[i].dense_rank, static_cast<int>(i) + 1);
  }
  EXPECT_FALSE(timed(r, "lexical"));
  // The same query has no lexical hit at all.
  const auto lex = run(p, request("extraterrestrial invaders conquering mankind", true, false));
  EXPECT_TRUE(lex.hits.empty()) << exts(lex).front();
}

TEST_F(PipelineTest, lexical_only_search_has_no_dense_ranks) {
  REQUIRE_EMBEDDER();
  const auto p = pipeline(with_embedder());
  const auto r = run(p, request("vampire castle", true, false));
  EXPECT_TRUE(r.degraded.empty());
  ASSERT_EQ(exts(r), std::vector<std::string>{"s-10"});
  EXPECT_EQ(r.hits[0].lexical_rank, 1);
  EXPECT_FALSE(r.hits[0].dense_rank);
  EXPECT_DOUBLE_EQ(r.hits[0].score, 1.0 / 61);
  EXPECT_FALSE(timed(r, "dense"));
}

TEST_F(PipelineTest, hyde_offline_feeds_the_top_lexical_hits_back_as_one_more_list) {
  REQUIRE_EMBEDDER();
  const auto p = pipeline(with_embedder());
  auto req = request("ghost in a haunted mansion");
  req.limit = 100;  // keep every fused book, so that the score sums compare
  const auto base = run(p, req);
  req.config.hyde = StageSource::kOffline;
  const auto prf = run(p, req);
  EXPECT_TRUE(prf.degraded.empty()) << reason(prf, "hyde");
  EXPECT_TRUE(timed(prf, "hyde"));
  EXPECT_EQ(prf.hyde_text, "");  // no model server: no hypothetical text
  EXPECT_NEAR(score_sum(prf) - score_sum(base), one_full_list(), 1e-9);
  EXPECT_EQ(ext(prf.hits[0].id), "s-3");
}

TEST_F(PipelineTest, hyde_with_a_failing_model_server_falls_back_to_feedback) {
  REQUIRE_EMBEDDER();
  FailingGenerator gen;
  auto deps = with_embedder();
  deps.generator = &gen;
  std::vector<Degraded> reported;
  deps.on_degraded = [&](const Degraded& d) { reported.push_back(d); };
  const auto p = pipeline(deps);
  auto req = request("ghost in a haunted mansion");
  req.limit = 100;
  const auto base = run(p, req);
  req.config.hyde = StageSource::kAuto;
  const auto r = run(p, req);
  EXPECT_EQ(gen.calls, 1);
  ASSERT_TRUE(has_stage(r, "hyde"));
  EXPECT_NE(reason(r, "hyde").find("injected failure"), std::string::npos) << reason(r, "hyde");
  ASSERT_EQ(reported.size(), 1u);
  EXPECT_EQ(reported[0].stage, "hyde");
  EXPECT_EQ(r.hyde_text, "");
  EXPECT_NEAR(score_sum(r) - score_sum(base), one_full_list(), 1e-9);  // the PRF list
  ASSERT_FALSE(r.hits.empty());
  EXPECT_EQ(ext(r.hits[0].id), "s-3");
  // "llm" asks for the model server only: no fallback, no extra list, still an answer.
  req.config.hyde = StageSource::kLlm;
  const auto llm = run(p, req);
  EXPECT_TRUE(has_stage(llm, "hyde"));
  EXPECT_NEAR(score_sum(llm), score_sum(base), 1e-12);
  EXPECT_FALSE(llm.hits.empty());
}

TEST_F(PipelineTest, hyde_from_a_working_model_server_searches_its_text) {
  REQUIRE_EMBEDDER();
  ScriptedGenerator gen(
      "A captain obsessed with revenge chases a whale across the oceans aboard a whaling ship.");
  auto deps = with_embedder();
  deps.generator = &gen;
  const auto p = pipeline(deps);
  auto req = request("a book about a sailor with a grudge");
  req.limit = 100;
  const auto base = run(p, req);
  req.config.hyde = StageSource::kLlm;
  const auto r = run(p, req);
  EXPECT_TRUE(r.degraded.empty());
  EXPECT_EQ(gen.last_user, "a book about a sailor with a grudge");
  EXPECT_EQ(r.hyde_text.rfind("A captain obsessed", 0), 0u);
  EXPECT_NEAR(score_sum(r) - score_sum(base), one_full_list(), 1e-9);
}

TEST_F(PipelineTest, similar_books_exclude_the_book_itself) {
  REQUIRE_EMBEDDER();
  const auto p = pipeline(with_embedder());
  auto r = p.similar(pk("s-1"), {}, 5);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_TRUE(r->degraded.empty());
  ASSERT_EQ(r->hits.size(), 5u);
  for (size_t i = 0; i < r->hits.size(); ++i) {
    EXPECT_NE(r->hits[i].id, pk("s-1"));
    EXPECT_EQ(r->hits[i].dense_rank, static_cast<int>(i) + 1);
  }
  // With a filter: only allowed books, still never itself.
  SearchFilters f;
  f.genre = "Sea Stories";
  auto sea = p.similar(pk("s-1"), f, 10);
  ASSERT_TRUE(sea);
  std::vector<std::string> got;
  for (const auto& h : sea->hits) got.push_back(ext(h.id));
  std::sort(got.begin(), got.end());
  EXPECT_EQ(got, (std::vector<std::string>{"s-12", "s-17", "s-2", "s-8"}));
}

TEST_F(PipelineTest, filters_apply_to_both_retrievers) {
  REQUIRE_EMBEDDER();
  const auto p = pipeline(with_embedder());
  auto req = request("a frightening story of monsters and the dead");
  req.filters.genre = "Horror";
  const auto r = run(p, req);
  ASSERT_FALSE(r.hits.empty());
  for (const auto& h : r.hits) {
    const auto e = ext(h.id);
    EXPECT_TRUE(e == "s-3" || e == "s-10" || e == "s-14") << e;
  }
  req.filters = {};
  req.filters.language = "xx";
  const auto none = run(p, req);
  EXPECT_TRUE(none.hits.empty());
  EXPECT_TRUE(none.degraded.empty());
}

// ---- without models ----

TEST_F(PipelineTest, both_retrievers_off_is_an_invalid_argument) {
  const auto p = pipeline(with_embedder());
  auto r = p.search(request("whale", false, false));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, core::ErrorCode::kInvalidArgument);
}

TEST_F(PipelineTest, dense_without_an_embedder_is_degraded_and_lexical_still_answers) {
  std::vector<Degraded> reported;
  PipelineDeps deps;
  deps.on_degraded = [&](const Degraded& d) { reported.push_back(d); };
  const auto p = pipeline(deps);
  EXPECT_FALSE(p.has_dense());
  const auto r = run(p, request("whale"));
  ASSERT_TRUE(has_stage(r, "dense"));
  EXPECT_EQ(reason(r, "dense"), "no embedding model installed");
  ASSERT_EQ(reported.size(), 1u);
  EXPECT_EQ(reported[0].stage, "dense");
  EXPECT_EQ(exts(r), std::vector<std::string>{"s-1"});
  EXPECT_FALSE(r.hits[0].dense_rank);
  // Dense alone then answers nothing, but does not fail.
  const auto dense = run(p, request("whale", false, true));
  EXPECT_TRUE(has_stage(dense, "dense"));
  EXPECT_TRUE(dense.hits.empty());
}

TEST_F(PipelineTest, rerank_without_a_reranker_is_degraded_and_keeps_the_fused_order) {
  const auto p = pipeline();
  auto req = request("sea", true, false);
  const auto plain = run(p, req);
  req.config.rerank = true;
  const auto r = run(p, req);
  ASSERT_TRUE(has_stage(r, "rerank"));
  EXPECT_EQ(reason(r, "rerank"), "no re-ranker model installed");
  ASSERT_FALSE(r.hits.empty());
  EXPECT_EQ(exts(r), exts(plain));
  for (const auto& h : r.hits) EXPECT_FALSE(h.rerank_score);
}

TEST_F(PipelineTest, offline_expansion_uses_wordnet_and_reports_the_variants) {
  REQUIRE_WORDNET();
  const auto p = pipeline(deps(&*shared_->wordnet, nullptr));
  // "wraith" is not in the catalogue; its WordNet synonym "ghost" is (s-3).
  const auto expansion = expand_query_offline(*shared_->wordnet, "wraith");
  ASSERT_NE(std::find(expansion.terms.begin(), expansion.terms.end(), "ghost"),
            expansion.terms.end());
  auto req = request("wraith", true, false);
  EXPECT_TRUE(run(p, req).hits.empty());
  req.config.expansion = StageSource::kOffline;
  const auto r = run(p, req);
  EXPECT_TRUE(r.degraded.empty());
  EXPECT_EQ(r.expansions, expand_offline(*shared_->wordnet, "wraith"));
  EXPECT_FALSE(r.expansions.empty());
  EXPECT_TRUE(timed(r, "expansion"));
  ASSERT_FALSE(r.hits.empty());
  EXPECT_EQ(ext(r.hits[0].id), "s-3");
  EXPECT_FALSE(r.hits[0].lexical_rank);  // found by the expansion list only
  EXPECT_DOUBLE_EQ(r.hits[0].score, 0.5 / 61);
}

TEST_F(PipelineTest, offline_expansion_without_wordnet_is_degraded) {
  const auto p = pipeline();
  auto req = request("whale", true, false);
  req.config.expansion = StageSource::kOffline;
  const auto r = run(p, req);
  EXPECT_EQ(reason(r, "expansion"), "WordNet is not installed");
  EXPECT_EQ(exts(r), std::vector<std::string>{"s-1"});
}

TEST_F(PipelineTest, expansion_with_a_failing_model_server_falls_back_to_wordnet) {
  REQUIRE_WORDNET();
  FailingGenerator gen;
  const auto p = pipeline(deps(&*shared_->wordnet, &gen));
  auto req = request("wraith", true, false);
  req.config.expansion = StageSource::kAuto;
  const auto r = run(p, req);
  EXPECT_EQ(gen.calls, 1);
  ASSERT_TRUE(has_stage(r, "expansion"));
  EXPECT_NE(reason(r, "expansion").find("injected failure"), std::string::npos);
  EXPECT_EQ(r.expansions, expand_offline(*shared_->wordnet, "wraith"));
  ASSERT_FALSE(r.hits.empty());
  EXPECT_EQ(ext(r.hits[0].id), "s-3");
  // "llm" takes no fallback: degraded, no variants, the plain query still searched.
  req.config.expansion = StageSource::kLlm;
  req.query = "whale wraith";
  const auto llm = run(p, req);
  EXPECT_EQ(gen.calls, 2);
  EXPECT_TRUE(has_stage(llm, "expansion"));
  EXPECT_TRUE(llm.expansions.empty());
  EXPECT_EQ(exts(llm), std::vector<std::string>{"s-1"});
}

TEST_F(PipelineTest, an_open_circuit_is_not_called_and_falls_back) {
  REQUIRE_WORDNET();
  FailingGenerator down(/*available=*/false);
  const auto p = pipeline(deps(&*shared_->wordnet, &down));
  auto req = request("wraith", true, false);
  req.config.expansion = StageSource::kAuto;
  const auto r = run(p, req);
  EXPECT_EQ(down.calls, 0);
  EXPECT_EQ(reason(r, "expansion"), "model server unavailable (circuit open)");
  EXPECT_FALSE(r.expansions.empty());
  ASSERT_FALSE(r.hits.empty());
}

TEST_F(PipelineTest, llm_expansion_variants_are_searched_as_queries) {
  ScriptedGenerator gen(
      "1. a ghost haunting\n- \"vampire tale\"\n* spook\n\n2) a ghost haunting\n");
  const auto p = pipeline(deps(nullptr, &gen));
  auto req = request("spook", true, false);
  req.config.expansion = StageSource::kLlm;
  const auto r = run(p, req);
  EXPECT_TRUE(r.degraded.empty()) << reason(r, "expansion");
  EXPECT_NE(gen.last_system.find("exactly 3 different"), std::string::npos) << gen.last_system;
  // Numbering, bullets and quotes removed; the query itself and repeats of a line dropped.
  EXPECT_EQ(r.expansions, (std::vector<std::string>{"a ghost haunting", "vampire tale"}));
  std::vector<std::string> got = exts(r);
  std::sort(got.begin(), got.end());
  EXPECT_EQ(got, (std::vector<std::string>{"s-10", "s-3"}));
}

TEST_F(PipelineTest, hyde_without_the_dense_stage_is_degraded) {
  const auto p = pipeline();
  auto req = request("whale", true, false);
  req.config.hyde = StageSource::kOffline;
  const auto r = run(p, req);
  EXPECT_EQ(reason(r, "hyde"), "needs the dense stage and its index");
  EXPECT_EQ(exts(r), std::vector<std::string>{"s-1"});
}

TEST_F(PipelineTest, filters_that_match_nothing_give_no_hits) {
  const auto p = pipeline();
  auto req = request("whale", true, false);
  req.filters.genre = "No Such Genre";
  auto r = run(p, req);
  EXPECT_TRUE(r.hits.empty());
  EXPECT_TRUE(r.degraded.empty());
  req.filters = {};
  req.filters.genre = "Horror";  // a real genre, but not Moby Dick's
  EXPECT_TRUE(run(p, req).hits.empty());
  req.filters = {};
  req.filters.in_stock = true;
  EXPECT_EQ(exts(run(p, req)), std::vector<std::string>{"s-1"});
}

TEST_F(PipelineTest, a_query_of_only_stop_words_is_searched_as_written) {
  const auto p = pipeline();
  const auto r = run(p, request("The the", true, false));
  EXPECT_EQ(r.terms, (std::vector<std::string>{"the", "the"}));
  EXPECT_FALSE(r.hits.empty());  // most descriptions have "the"
  EXPECT_TRUE(r.degraded.empty());
}

TEST_F(PipelineTest, a_query_of_only_punctuation_gives_no_hits_and_no_error) {
  const auto p = pipeline(with_embedder());
  for (const std::string q : {"?!... --", "\"\"", "*", "", "   "}) {
    auto r = p.search(request(q));
    ASSERT_TRUE(r) << q << ": " << r.error().message;
    EXPECT_TRUE(r->hits.empty()) << q;
    EXPECT_TRUE(r->terms.empty()) << q;
    EXPECT_TRUE(r->degraded.empty()) << q;
  }
}

TEST_F(PipelineTest, content_words_not_stop_words_are_searched) {
  const auto p = pipeline();
  const auto r = run(p, request("The WHALE, and the Sea!", true, false));
  EXPECT_EQ(r.terms, (std::vector<std::string>{"whale", "sea"}));
  ASSERT_FALSE(r.hits.empty());
  EXPECT_EQ(ext(r.hits[0].id), "s-1");
}

TEST_F(PipelineTest, the_limit_caps_the_hits) {
  const auto p = pipeline();
  auto req = request("the sea", true, false);
  req.limit = 2;
  EXPECT_EQ(run(p, req).hits.size(), 2u);
}

TEST_F(PipelineTest, similar_without_a_vector_falls_back_to_shared_words) {
  const auto p = pipeline();  // no embedder
  auto r = p.similar(pk("s-3"), {}, 5);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_TRUE(has_stage(*r, "dense"));
  ASSERT_FALSE(r->hits.empty());
  for (const auto& h : r->hits) {
    EXPECT_NE(h.id, pk("s-3"));
    EXPECT_TRUE(h.lexical_rank);
  }
  // Dracula and Frankenstein share the "Horror" and "Gothic Fiction" genres.
  std::vector<std::string> got;
  for (const auto& h : r->hits) got.push_back(ext(h.id));
  EXPECT_NE(std::find(got.begin(), got.end(), "s-10"), got.end());
  EXPECT_NE(std::find(got.begin(), got.end(), "s-14"), got.end());
  auto missing = p.similar(987654, {}, 5);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, core::ErrorCode::kNotFound);
}

TEST(PipelineConfig, label_and_json_name_the_stages) {
  PipelineConfig c;
  EXPECT_EQ(c.label(), "lexical+dense");
  c.rerank = true;
  c.hyde = StageSource::kOffline;
  c.expansion = StageSource::kAuto;
  EXPECT_EQ(c.label(), "lexical+dense+expansion+hyde+rerank");
  c = {};
  c.lexical = c.dense = false;
  EXPECT_EQ(c.label(), "none");
  const auto j = nlohmann::json::parse(PipelineConfig{}.to_json());
  EXPECT_EQ(j["lexical"], true);
  EXPECT_EQ(j["expansion"], "off");
  EXPECT_EQ(j["rrf_k"], 60.0);
  EXPECT_EQ(j["dense_weight"], 1.0);
}

TEST(PipelineConfig, stage_sources_parse_and_print) {
  for (auto s : {StageSource::kOff, StageSource::kAuto, StageSource::kLlm, StageSource::kOffline}) {
    auto parsed = parse_stage_source(to_string(s));
    ASSERT_TRUE(parsed);
    EXPECT_EQ(*parsed, s);
  }
  EXPECT_EQ(*parse_stage_source("true"), StageSource::kAuto);
  EXPECT_EQ(*parse_stage_source("0"), StageSource::kOff);
  auto bad = parse_stage_source("sometimes");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, core::ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace libromind::search
