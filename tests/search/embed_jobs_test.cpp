// The embedding jobs over the 20-book catalogue, with the real embedder (skipped when it is not
// installed): embed_books computes the vectors of its books once (a second run writes nothing,
// and an import's count moves once per job), embed_stale catches the whole catalogue up and then
// only what changed, a stop fails the job for a retry, and a bad payload is a permanent error.
#include "search/embed_jobs.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <thread>

#include "../ml/ml_test_support.hpp"
#include "catalog/imports.hpp"
#include "jobs/worker.hpp"
#include "search/embedding_store.hpp"
#include "search_fixture.hpp"

namespace libromind::search {
namespace {

using testing::Backend;

std::string embedder_dir() { return ml::testing::model_root() + "/embedder"; }

class EmbedJobsTest : public testing::SearchStoreTest {
 protected:
  void SetUp() override {
    SearchStoreTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    if (!std::filesystem::exists(embedder_dir() + "/model.safetensors")) {
      LM_SKIP_OR_FAIL("no embedder in " << embedder_dir() << " (run scripts/fetch-models.sh)");
    }
    auto id = book_vector_model_id(embedder_dir(), 128);
    ASSERT_TRUE(id) << id.error().message;
    model_id_ = *id;
    ml::EncoderOptions o = ml::default_encoder_options();
    o.max_seq_length = 128;
    auto e = ml::SentenceEmbedder::load(embedder_dir(), o);
    ASSERT_TRUE(e) << e.error().message;
    // Batches of 2, so that a catalogue pass has ten of them.
    jobs_ =
        std::make_unique<EmbedJobs>(*store_, std::make_unique<ml::SentenceEmbedder>(std::move(*e)),
                                    model_id_, IndexerOptions{.batch = 2});
  }
  void reset_services() override { jobs_.reset(); }

  core::Result<nlohmann::json> run(const char* kind, nlohmann::json payload, int64_t job_id = 1,
                                   bool stop = false) {
    jobs::Claim claim;
    claim.job.id = job_id;
    claim.job.kind = kind;
    claim.job.payload = std::move(payload);
    std::atomic<bool> stop_flag{stop};
    jobs::JobContext ctx(claim, stop_flag);
    return std::string(kind) == "embed_books" ? jobs_->embed_books(ctx) : jobs_->embed_stale(ctx);
  }

  int64_t vectors() {
    EmbeddingStore es(*store_, model_id_);
    auto n = es.count();
    EXPECT_TRUE(n) << n.error().message;
    return n ? *n : -1;
  }

  int64_t import_embeds(int64_t import_id) {
    auto conn = store_->acquire(store::Access::kRead);
    auto rows = (*conn)->query(
        "SELECT COALESCE(SUM(books), 0) FROM import_embeds WHERE import_id "
        "= $1",
        {import_id});
    EXPECT_TRUE(rows) << rows.error().message;
    return rows ? store::as_int(rows->rows[0][0]) : -1;
  }

  int64_t make_import() {
    auto conn = store_->acquire(store::Access::kWrite);
    auto rows = (*conn)->query(
        "INSERT INTO imports (state, format, on_error, file_name, path, bytes, created_at, "
        "updated_at) VALUES ('succeeded', 'jsonl', 'abort', 'x.jsonl', '', 1, 0, 0) RETURNING id");
    EXPECT_TRUE(rows) << rows.error().message;
    return store::as_int(rows->rows[0][0]);
  }

  std::string model_id_;
  std::unique_ptr<EmbedJobs> jobs_;
};

TEST_P(EmbedJobsTest, EmbedBooksComputesItsBooksOnceAndCountsThemOncePerJob) {
  const int64_t imp = make_import();
  nlohmann::json payload = {{"book_ids", {pk("s-1"), pk("s-2"), pk("s-3")}}, {"import_id", imp}};
  auto first = run("embed_books", payload, 7);
  ASSERT_TRUE(first) << first.error().message;
  EXPECT_EQ((*first)["embedded"], 3);
  EXPECT_EQ(vectors(), 3);
  EXPECT_EQ(import_embeds(imp), 3);
  // The same job again (a retry after a crash): nothing to embed, the count does not move.
  auto again = run("embed_books", payload, 7);
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_EQ((*again)["embedded"], 0);
  EXPECT_EQ((*again)["up_to_date"], 3);
  EXPECT_EQ(import_embeds(imp), 3);
  // Another job of the import with books already embedded still counts its own books.
  auto other = run("embed_books", {{"book_ids", {pk("s-1")}}, {"import_id", imp}}, 8);
  ASSERT_TRUE(other) << other.error().message;
  EXPECT_EQ(import_embeds(imp), 4);
  EXPECT_EQ(jobs_->progress().total_embedded, 3);
}

TEST_P(EmbedJobsTest, EmbedStaleCatchesUpAndThenEmbedsOnlyWhatChanged) {
  EXPECT_FALSE(jobs_->progress().caught_up);
  auto r = run("embed_stale", nlohmann::json::object());
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ((*r)["embedded"], testing::kBookCount);
  EXPECT_EQ(vectors(), testing::kBookCount);
  EXPECT_TRUE(jobs_->progress().caught_up);
  EXPECT_TRUE(jobs_->wait_caught_up(std::chrono::milliseconds(1)));
  {
    auto conn = store_->acquire(store::Access::kWrite);
    ASSERT_TRUE(
        (*conn)->exec("UPDATE books SET description = 'A new description.' WHERE ext_id "
                      "= 's-4'"));
  }
  auto next = run("embed_stale", nlohmann::json::object());
  ASSERT_TRUE(next) << next.error().message;
  EXPECT_EQ((*next)["embedded"], 1);
}

TEST_P(EmbedJobsTest, AStoppedJobFailsForARetryAndKeepsWhatItWrote) {
  auto r = run("embed_books", {{"book_ids", {pk("s-1"), pk("s-2")}}}, 1, /*stop=*/true);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, core::ErrorCode::kUnavailable);
  EXPECT_FALSE(jobs::is_permanent(r.error()));
  auto s = run("embed_stale", nlohmann::json::object(), 2, /*stop=*/true);
  ASSERT_FALSE(s);
  EXPECT_FALSE(jobs_->progress().caught_up);
}

TEST_P(EmbedJobsTest, ABookJobWaitsOneBatchBehindACataloguePassNotTheWholePass) {
  std::atomic<bool> pass_done{false};
  std::thread pass([&] {
    auto r = run("embed_stale", nlohmann::json::object(), 1);
    EXPECT_TRUE(r) << r.error().message;
    pass_done = true;
  });
  // Once the pass has written its first batch, a job for one book comes in.
  for (int i = 0; i < 2000 && jobs_->progress().embedded == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ASSERT_GT(jobs_->progress().embedded, 0);
  auto one = run("embed_books", {{"book_ids", {pk("s-20")}}}, 2);
  const bool pass_was_running = !pass_done;
  pass.join();
  ASSERT_TRUE(one) << one.error().message;
  EXPECT_TRUE(pass_was_running) << "the book's job waited for the whole pass";
  EXPECT_EQ(vectors(), testing::kBookCount);
  EXPECT_EQ(jobs_->progress().stale, testing::kBookCount);  // the pass's counts, not the job's
  EXPECT_FALSE(jobs_->progress().running);
}

TEST_P(EmbedJobsTest, ABadPayloadIsAPermanentError) {
  for (const auto& p : {nlohmann::json::object(), nlohmann::json{{"book_ids", "s-1"}},
                        nlohmann::json{{"book_ids", {"s-1"}}}}) {
    auto r = run("embed_books", p);
    ASSERT_FALSE(r) << p.dump();
    EXPECT_TRUE(jobs::is_permanent(r.error())) << r.error().message;
  }
}

TEST_P(EmbedJobsTest, BooksDeletedMeanwhileAreSkipped) {
  auto r = run("embed_books", {{"book_ids", {pk("s-5"), 999999}}});
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ((*r)["embedded"], 1);
  EXPECT_EQ((*r)["books"], 1);
}

INSTANTIATE_TEST_SUITE_P(Stores, EmbedJobsTest, store::testing::all_backends(),
                         store::testing::backend_test_name);

}  // namespace
}  // namespace libromind::search
