// Bulk uploads as the import_file job runs them, on both stores: create() takes the uploaded
// file and queues its job in one transaction; the job imports every row in one transaction with
// the books' embedding jobs and its outcome; bad rows import nothing unless skipped; a file that
// is not UTF-8 is refused at once; a second run of the job changes nothing.
#include "catalog/imports.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "../jobs/jobs_fixture.hpp"
#include "jobs/kinds.hpp"

namespace libromind::catalog {
namespace {

namespace fs = std::filesystem;
using jobs::testing::JobsTest;

class ImportsTest : public JobsTest {
 protected:
  void SetUp() override {
    JobsTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    dir_ = fs::temp_directory_path() /
           ("lm-imports-" + std::to_string(::getpid()) + "-" + std::to_string(counter_++));
    fs::create_directories(dir_);
    imports_ = std::make_unique<Imports>(
        *store_, ImportsOptions{.upload_dir = (dir_ / "uploads").string(), .queue = queue_.get()});
  }
  void TearDown() override {
    imports_.reset();
    std::error_code ec;
    fs::remove_all(dir_, ec);
    JobsTest::TearDown();
  }

  std::string file(const std::string& text, const std::string& name = "in.part") {
    const std::string path = (dir_ / name).string();
    std::ofstream(path, std::ios::binary) << text;
    return path;
  }

  static std::string books(int n, const std::string& prefix) {
    std::string out;
    for (int i = 0; i < n; ++i) {
      out += nlohmann::json{{"id", prefix + std::to_string(i)},
                            {"title", "Uploaded " + std::to_string(i)},
                            {"authors", {"Loader, Lee"}}}
                 .dump() +
             "\n";
    }
    return out;
  }

  // Runs the import's job as a worker would (a claim from the queue).
  core::Result<nlohmann::json> run_job() {
    auto claims = queue_->claim("test-worker", {jobs::kImportFile}, 1, std::chrono::seconds(30));
    EXPECT_TRUE(claims && claims->size() == 1);
    std::atomic<bool> stop{false};
    jobs::JobContext ctx((*claims)[0], stop);
    auto r = imports_->run(ctx);
    if (r) {
      auto ok = queue_->succeed((*claims)[0], *r);
      EXPECT_TRUE(ok && *ok);
    }
    return r;
  }

  static inline int counter_ = 0;
  fs::path dir_;
  std::unique_ptr<Imports> imports_;
};

TEST_P(ImportsTest, CreateKeepsTheFileAndQueuesItsJobInOneTransaction) {
  const std::string upload = file(books(3, "c-"));
  auto rec = imports_->create(upload, {.format = Format::kJsonLines, .file_name = "mine.jsonl"});
  ASSERT_TRUE(rec) << rec.error().message;
  EXPECT_EQ(rec->state, "queued");
  EXPECT_EQ(rec->file_name, "mine.jsonl");
  EXPECT_GT(rec->bytes, 0);
  EXPECT_FALSE(fs::exists(upload));
  EXPECT_TRUE(fs::exists(dir_ / "uploads" / ("import-" + std::to_string(rec->id) + ".jsonl")));
  auto job = queue_->get(rec->job_id);
  ASSERT_TRUE(job) << job.error().message;
  EXPECT_EQ(job->kind, jobs::kImportFile);
  EXPECT_EQ(job->payload["import_id"], rec->id);
  EXPECT_EQ(job->dedup_key, "import:" + std::to_string(rec->id));
}

TEST_P(ImportsTest, TheJobImportsTheRowsAndQueuesTheirEmbeddingsWithThem) {
  auto rec = imports_->create(file(books(130, "j-")), {.format = Format::kJsonLines});
  ASSERT_TRUE(rec) << rec.error().message;
  auto r = run_job();
  ASSERT_TRUE(r) << r.error().message;
  auto done = imports_->get(rec->id);
  ASSERT_TRUE(done);
  EXPECT_EQ(done->state, "succeeded");
  EXPECT_EQ(done->rows_read, 130);
  EXPECT_EQ(done->inserted, 130);
  EXPECT_EQ(done->embeddings_total, 130);
  EXPECT_EQ(done->embeddings_done, 0);
  EXPECT_FALSE(done->complete());
  EXPECT_TRUE(done->started_at_ms && done->finished_at_ms);
  EXPECT_EQ(scalar("SELECT COUNT(*) FROM books"), 130);
  // 130 books: three embed_books jobs (64 + 64 + 2) that name the import.
  auto embeds = queue_->list({.kind = jobs::kEmbedBooks, .limit = 10});
  ASSERT_TRUE(embeds);
  ASSERT_EQ(embeds->size(), 3u);
  size_t ids = 0;
  for (const auto& j : *embeds) {
    EXPECT_EQ(j.payload["import_id"], rec->id);
    ids += j.payload["book_ids"].size();
  }
  EXPECT_EQ(ids, 130u);
  // The upload is gone once the job is done.
  EXPECT_TRUE(fs::is_empty(dir_ / "uploads"));
}

TEST_P(ImportsTest, ABadRowImportsNothingByDefault) {
  auto rec = imports_->create(
      file(books(2, "b-") + "{\"id\": \"b-x\", \"title\": \"\"}\n" + books(1, "b2-")),
      {.format = Format::kJsonLines});
  ASSERT_TRUE(rec);
  ASSERT_TRUE(run_job());
  auto done = imports_->get(rec->id);
  ASSERT_TRUE(done);
  EXPECT_EQ(done->state, "failed");
  EXPECT_TRUE(done->complete());
  EXPECT_EQ(done->rows_read, 4);
  EXPECT_EQ(done->failed, 1);
  EXPECT_EQ(done->inserted, 0);
  ASSERT_EQ(done->errors.size(), 1u);
  EXPECT_EQ(done->errors[0].line, 3);
  EXPECT_EQ(done->errors[0].field, "title");
  EXPECT_NE(done->error.find("nothing was imported"), std::string::npos);
  EXPECT_EQ(scalar("SELECT COUNT(*) FROM books"), 0);
  EXPECT_EQ(scalar("SELECT COUNT(*) FROM jobs WHERE kind = 'embed_books'"), 0);
}

TEST_P(ImportsTest, SkipImportsTheGoodRowsAndReportsTheRest) {
  auto rec = imports_->create(file("id,title\ns-1,One\ns-2,\ns-3,Three\n"),
                              {.format = Format::kCsv, .on_error = OnError::kSkip});
  ASSERT_TRUE(rec);
  ASSERT_TRUE(run_job());
  auto done = imports_->get(rec->id);
  ASSERT_TRUE(done);
  EXPECT_EQ(done->state, "succeeded");
  EXPECT_EQ(done->inserted, 2);
  EXPECT_EQ(done->failed, 1);
  ASSERT_EQ(done->errors.size(), 1u);
  EXPECT_EQ(done->errors[0].line, 3);
  EXPECT_EQ(done->embeddings_total, 2);
}

TEST_P(ImportsTest, AFileThatIsNotUtf8IsRefusedAndLeftWhereItWas) {
  const std::string upload =
      file("{\"id\": \"u-1\", \"title\": \"ok\"}\n{\"title\": \"caf\xe9\"}\n");
  auto rec = imports_->create(upload, {.format = Format::kJsonLines});
  ASSERT_FALSE(rec);
  EXPECT_EQ(rec.error().code, core::ErrorCode::kUnprocessable);
  EXPECT_NE(rec.error().message.find("line 2"), std::string::npos);
  EXPECT_TRUE(fs::exists(upload));
  EXPECT_EQ(scalar("SELECT COUNT(*) FROM imports"), 0);
  EXPECT_EQ(scalar("SELECT COUNT(*) FROM jobs"), 0);
  auto empty = imports_->create(file(""), {.format = Format::kJsonLines});
  ASSERT_FALSE(empty);
  EXPECT_EQ(empty.error().code, core::ErrorCode::kInvalidArgument);
}

TEST_P(ImportsTest, RunningTheJobAgainChangesNothing) {
  auto rec = imports_->create(file(books(5, "a-")), {.format = Format::kJsonLines});
  ASSERT_TRUE(rec);
  ASSERT_TRUE(run_job());
  const int64_t seq = scalar("SELECT MAX(change_seq) FROM books");
  exec("UPDATE jobs SET state = 'queued', attempts = 0 WHERE id = $1", {rec->job_id});
  auto again = run_job();
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_EQ((*again)["state"], "succeeded");
  EXPECT_EQ(scalar("SELECT MAX(change_seq) FROM books"), seq);
  EXPECT_EQ(scalar("SELECT COUNT(*) FROM jobs WHERE kind = 'embed_books'"), 1);
}

TEST_P(ImportsTest, AStoppingWorkersImportRollsBackAndIsQueuedAgain) {
  auto rec = imports_->create(file(books(1200, "st-")), {.format = Format::kJsonLines});
  ASSERT_TRUE(rec);
  auto claims = queue_->claim("test-worker", {jobs::kImportFile}, 1, std::chrono::seconds(30));
  ASSERT_TRUE(claims && claims->size() == 1);
  std::atomic<bool> stop{true};
  jobs::JobContext ctx((*claims)[0], stop);
  auto r = imports_->run(ctx);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, core::ErrorCode::kUnavailable);
  EXPECT_FALSE(jobs::is_permanent(r.error()));
  auto now = imports_->get(rec->id);
  ASSERT_TRUE(now);
  EXPECT_EQ(now->state, "queued");
  EXPECT_EQ(scalar("SELECT COUNT(*) FROM books"), 0);
  EXPECT_EQ(scalar("SELECT COUNT(*) FROM jobs WHERE kind = 'embed_books'"), 0);
  // The file is kept for the next attempt, which imports everything.
  ASSERT_TRUE(queue_->release((*claims)[0]));
  ASSERT_TRUE(run_job());
  EXPECT_EQ(scalar("SELECT COUNT(*) FROM books"), 1200);
}

TEST_P(ImportsTest, TheImportRenewsItsLeaseInTheTransactionThatCommitsIt) {
  // On SQLite the import holds the only write lock, so the heartbeat cannot renew the lease
  // while it runs: the import renews it as it commits, or a waiting reclaimer would fail the job
  // it had just finished (seen in CI: a 20,000-row import under ASan outlived a 5 s lease).
  auto rec = imports_->create(file(books(3, "lease-")), {.format = Format::kJsonLines});
  ASSERT_TRUE(rec);
  auto claims = queue_->claim("test-worker", {jobs::kImportFile}, 1, std::chrono::seconds(30));
  ASSERT_TRUE(claims && claims->size() == 1);
  exec("UPDATE jobs SET lease_expires_at = 1 WHERE id = $1", {rec->job_id});
  std::atomic<bool> stop{false};
  jobs::JobContext ctx((*claims)[0], stop, std::chrono::seconds(30));
  auto r = imports_->run(ctx);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(*queue_->reclaim_expired(), 0);
  EXPECT_TRUE(*queue_->succeed((*claims)[0], *r));
}

TEST_P(ImportsTest, AnImportWhoseClaimWentStaleCommitsNothing) {
  auto rec = imports_->create(file(books(3, "stale-")), {.format = Format::kJsonLines});
  ASSERT_TRUE(rec);
  auto claims = queue_->claim("test-worker", {jobs::kImportFile}, 1, std::chrono::seconds(30));
  ASSERT_TRUE(claims && claims->size() == 1);
  exec("UPDATE jobs SET lease_expires_at = 1 WHERE id = $1", {rec->job_id});
  ASSERT_EQ(*queue_->reclaim_expired(), 1);  // another worker's attempt owns the job now
  std::atomic<bool> stop{false};
  jobs::JobContext ctx((*claims)[0], stop);
  auto r = imports_->run(ctx);
  ASSERT_FALSE(r);
  EXPECT_EQ(scalar("SELECT COUNT(*) FROM books"), 0);
}

TEST_P(ImportsTest, AJobWhoseFileIsGoneIsAPermanentError) {
  auto rec = imports_->create(file(books(1, "g-")), {.format = Format::kJsonLines});
  ASSERT_TRUE(rec);
  fs::remove_all(dir_ / "uploads");
  auto r = run_job();
  ASSERT_FALSE(r);
  EXPECT_TRUE(jobs::is_permanent(r.error()));
}

TEST_P(ImportsTest, ListsNewestFirstInPages) {
  std::vector<int64_t> ids;
  for (int i = 0; i < 3; ++i) {
    auto rec = imports_->create(file(books(1, "l" + std::to_string(i) + "-")),
                                {.format = Format::kJsonLines});
    ASSERT_TRUE(rec);
    ids.push_back(rec->id);
  }
  auto page = imports_->list(0, 2);
  ASSERT_TRUE(page);
  ASSERT_EQ(page->size(), 2u);
  EXPECT_EQ((*page)[0].id, ids[2]);
  auto next = imports_->list((*page)[1].id, 2);
  ASSERT_TRUE(next);
  ASSERT_EQ(next->size(), 1u);
  EXPECT_EQ((*next)[0].id, ids[0]);
  EXPECT_FALSE(imports_->get(999999));
}

INSTANTIATE_TEST_SUITE_P(Stores, ImportsTest, store::testing::all_backends(),
                         store::testing::backend_test_name);

}  // namespace
}  // namespace libromind::catalog
