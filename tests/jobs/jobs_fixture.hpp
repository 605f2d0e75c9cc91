// A fresh, migrated store (SQLite or PostgreSQL) and a queue on it, for the jobs suites.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "../store/test_stores.hpp"
#include "jobs/queue.hpp"
#include "store/migrations.hpp"

namespace libromind::jobs::testing {

using store::testing::Backend;
using store::testing::TestDatabase;

class JobsTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    if (auto reason = store::testing::skip_reason(GetParam())) GTEST_SKIP() << *reason;
    auto db = TestDatabase::create(GetParam());
    ASSERT_TRUE(db) << db.error().message;
    db_ = std::move(*db);
    auto s = db_->open(16, 10000);
    ASSERT_TRUE(s) << s.error().message;
    store_ = std::move(*s);
    auto m = store::migrate(*store_);
    ASSERT_TRUE(m) << m.error().message;
    // Fast retries, so that tests can watch a job go through all of its attempts.
    queue_ = std::make_unique<Queue>(
        *store_, RetryPolicy{std::chrono::milliseconds(1), std::chrono::milliseconds(5), 0.0});
  }

  void TearDown() override {
    queue_.reset();
    store_.reset();
    db_.reset();
  }

  int64_t enqueue(const std::string& kind, nlohmann::json payload = nlohmann::json::object(),
                  int64_t max_attempts = 5) {
    EnqueueRequest r;
    r.kind = kind;
    r.payload = std::move(payload);
    r.max_attempts = max_attempts;
    auto e = queue_->enqueue(r);
    EXPECT_TRUE(e) << e.error().message;
    return e ? e->id : 0;
  }

  int64_t scalar(const std::string& sql, const store::Params& p = {}) {
    auto conn = store_->acquire(store::Access::kRead);
    auto rows = (*conn)->query(sql, p);
    EXPECT_TRUE(rows) << rows.error().message;
    return rows && !rows->empty() ? store::as_int(rows->rows[0][0]) : -1;
  }

  void exec(const std::string& sql, const store::Params& p = {}) {
    auto conn = store_->acquire(store::Access::kWrite);
    auto r = (*conn)->exec(sql, p);
    EXPECT_TRUE(r) << r.error().message;
  }

  JobState state(int64_t id) {
    auto j = queue_->get(id);
    EXPECT_TRUE(j) << j.error().message;
    return j ? j->state : JobState::kQueued;
  }

  std::unique_ptr<TestDatabase> db_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<Queue> queue_;
};

inline auto backend_values() { return ::testing::Values(Backend::kSqlite, Backend::kPostgres); }

inline std::string backend_test_name(const ::testing::TestParamInfo<Backend>& info) {
  return store::testing::backend_name(info.param);
}

}  // namespace libromind::jobs::testing
