// SQLite-specific behaviour: the single writer, read-only readers, WAL and pragmas, the
// statement cache.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "store/store.hpp"
#include "test_stores.hpp"

namespace libromind::store {
namespace {

class SqliteStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = testing::TestDatabase::create(testing::Backend::kSqlite);
    ASSERT_TRUE(db) << db.error().message;
    db_ = std::move(*db);
  }

  std::unique_ptr<Store> open(int pool_size = 2, int busy_timeout_ms = 2000) {
    auto s = db_->open(pool_size, busy_timeout_ms);
    EXPECT_TRUE(s) << s.error().message;
    return s ? std::move(*s) : nullptr;
  }

  std::unique_ptr<testing::TestDatabase> db_;
};

TEST_F(SqliteStoreTest, writer_is_exclusive) {
  auto store = open(2, 200);
  ASSERT_TRUE(store);
  auto writer = store->acquire(Access::kWrite);
  ASSERT_TRUE(writer);
  auto second = store->acquire(Access::kWrite);
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().code, core::ErrorCode::kUnavailable);
  // Readers are not blocked by the writer.
  EXPECT_TRUE(store->acquire(Access::kRead));

  auto patient = open(2, 5000);
  auto held = patient->acquire(Access::kWrite);
  ASSERT_TRUE(held);
  auto start = std::chrono::steady_clock::now();
  std::thread releaser([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    held->reset();
  });
  auto next = patient->acquire(Access::kWrite);
  releaser.join();
  ASSERT_TRUE(next) << next.error().message;
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(90));
}

TEST_F(SqliteStoreTest, uses_wal_foreign_keys_and_normal_sync) {
  auto store = open();
  ASSERT_TRUE(store);
  for (Access access : {Access::kWrite, Access::kRead}) {
    auto conn = store->acquire(access);
    ASSERT_TRUE(conn);
    auto mode = (*conn)->query("PRAGMA journal_mode");
    ASSERT_TRUE(mode) << mode.error().message;
    EXPECT_EQ(as_string(mode->rows.at(0).at(0)), "wal");
    auto fk = (*conn)->query("PRAGMA foreign_keys");
    ASSERT_TRUE(fk);
    EXPECT_EQ(as_int(fk->rows.at(0).at(0)), 1);
    auto sync = (*conn)->query("PRAGMA synchronous");
    ASSERT_TRUE(sync);
    EXPECT_EQ(as_int(sync->rows.at(0).at(0)), 1);  // NORMAL
  }
}

TEST_F(SqliteStoreTest, readers_cannot_write) {
  auto store = open();
  ASSERT_TRUE(store);
  {
    auto writer = store->acquire(Access::kWrite);
    ASSERT_TRUE((*writer)->exec_script("CREATE TABLE t (x INTEGER)"));
  }
  auto reader = store->acquire(Access::kRead);
  ASSERT_TRUE(reader);
  EXPECT_FALSE((*reader)->exec("INSERT INTO t (x) VALUES (1)"));
}

TEST_F(SqliteStoreTest, busy_database_is_unavailable) {
  // Two stores on one file stand for two processes: the second waits busy_timeout for the lock.
  auto a = open(2, 2000);
  auto b = open(2, 150);
  ASSERT_TRUE(a && b);
  auto wa = a->acquire(Access::kWrite);
  ASSERT_TRUE(wa);
  ASSERT_TRUE((*wa)->begin());
  auto wb = b->acquire(Access::kWrite);
  ASSERT_TRUE(wb);
  auto r = (*wb)->begin();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, core::ErrorCode::kUnavailable) << r.error().message;
  ASSERT_TRUE((*wa)->commit());
  EXPECT_TRUE((*wb)->begin());
  EXPECT_TRUE((*wb)->rollback());
}

TEST_F(SqliteStoreTest, statement_cache_survives_eviction_and_schema_change) {
  auto store = open();
  ASSERT_TRUE(store);
  auto conn = store->acquire(Access::kWrite);
  ASSERT_TRUE(conn);
  ASSERT_TRUE((*conn)->exec_script("CREATE TABLE t (x INTEGER); INSERT INTO t VALUES (1)"));
  auto first = (*conn)->query("SELECT * FROM t");
  ASSERT_TRUE(first);
  EXPECT_EQ(first->columns.size(), 1u);
  for (int i = 0; i < 300; ++i) {  // more distinct statements than the cache holds
    auto r = (*conn)->query("SELECT " + std::to_string(i) + " AS v");
    ASSERT_TRUE(r);
    EXPECT_EQ(as_int(r->rows.at(0).at(0)), i);
  }
  ASSERT_TRUE((*conn)->exec_script("ALTER TABLE t ADD COLUMN y INTEGER"));
  auto again = (*conn)->query("SELECT * FROM t");
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_EQ(again->columns.size(), 2u);
}

}  // namespace
}  // namespace libromind::store
