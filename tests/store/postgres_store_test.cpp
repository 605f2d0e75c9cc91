// PostgreSQL-specific behaviour: type conversion by OID, session settings, aborted
// transactions, and reconnecting after the server restarts (when LIBROMIND_TEST_PG_DIR names
// the directory of a server started by scripts/pg-test-server.sh).
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "store/store.hpp"
#include "test_stores.hpp"

namespace libromind::store {
namespace {

class PostgresStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (auto reason = testing::skip_reason(testing::Backend::kPostgres)) GTEST_SKIP() << *reason;
    auto db = testing::TestDatabase::create(testing::Backend::kPostgres);
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

TEST_F(PostgresStoreTest, converts_columns_by_type) {
  auto store = open();
  auto conn = store->acquire(Access::kRead);
  ASSERT_TRUE(conn) << conn.error().message;
  auto rows = (*conn)->query(
      "SELECT 2::int2 AS a, 4::int4 AS b, 8::int8 AS c, 1.5::float4 AS d, 2.5::float8 AS e, "
      "12.75::numeric AS f, true AS g, false AS h, 'x'::text AS i, NULL::int8 AS j, "
      "'2026-01-02'::date AS k");
  ASSERT_TRUE(rows) << rows.error().message;
  const auto& r = rows->rows.at(0);
  EXPECT_EQ(std::get<int64_t>(r[0]), 2);
  EXPECT_EQ(std::get<int64_t>(r[1]), 4);
  EXPECT_EQ(std::get<int64_t>(r[2]), 8);
  EXPECT_EQ(std::get<double>(r[3]), 1.5);
  EXPECT_EQ(std::get<double>(r[4]), 2.5);
  EXPECT_EQ(std::get<double>(r[5]), 12.75);
  EXPECT_EQ(std::get<int64_t>(r[6]), 1);
  EXPECT_EQ(std::get<int64_t>(r[7]), 0);
  EXPECT_EQ(std::get<std::string>(r[8]), "x");
  EXPECT_TRUE(is_null(r[9]));
  EXPECT_EQ(std::get<std::string>(r[10]), "2026-01-02");
}

TEST_F(PostgresStoreTest, sets_application_name) {
  auto store = open();
  auto conn = store->acquire(Access::kRead);
  ASSERT_TRUE(conn) << conn.error().message;
  auto rows = (*conn)->query("SELECT current_setting('application_name')");
  ASSERT_TRUE(rows) << rows.error().message;
  EXPECT_EQ(as_string(rows->rows.at(0).at(0)), "libromind");
}

TEST_F(PostgresStoreTest, commit_of_aborted_transaction_is_an_error) {
  auto store = open();
  auto conn = store->acquire(Access::kWrite);
  ASSERT_TRUE(conn) << conn.error().message;
  ASSERT_TRUE((*conn)->exec_script("CREATE TABLE t (x BIGINT)"));
  ASSERT_TRUE((*conn)->begin());
  ASSERT_TRUE((*conn)->exec("INSERT INTO t VALUES (1)"));
  EXPECT_FALSE((*conn)->exec("SELECT * FROM no_such_table"));
  EXPECT_FALSE((*conn)->commit());
  auto rows = (*conn)->query("SELECT COUNT(*) FROM t");
  ASSERT_TRUE(rows) << rows.error().message;
  EXPECT_EQ(as_int(rows->rows.at(0).at(0)), 0);
}

TEST_F(PostgresStoreTest, reconnects_after_server_restart) {
  std::string dir = testing::env_or_empty("LIBROMIND_TEST_PG_DIR");
  if (dir.empty()) GTEST_SKIP() << "LIBROMIND_TEST_PG_DIR is not set (the pg-test-server.sh DIR)";
  auto store = open(2, 5000);
  ASSERT_TRUE(store);
  auto held = store->acquire(Access::kRead);
  ASSERT_TRUE(held) << held.error().message;
  {
    auto idle = store->acquire(Access::kRead);  // a second connection, idle during the restart
    ASSERT_TRUE(idle) << idle.error().message;
    ASSERT_TRUE((*idle)->query("SELECT 1"));
  }
  ASSERT_TRUE((*held)->query("SELECT 1"));

  std::string cmd = std::string(LIBROMIND_SOURCE_DIR) + "/scripts/pg-test-server.sh restart '" +
                    dir + "' >/dev/null";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;

  // A connection in use during the restart fails once with kUnavailable, never silently.
  auto lost = (*held)->query("SELECT 1");
  ASSERT_FALSE(lost);
  EXPECT_EQ(lost.error().code, core::ErrorCode::kUnavailable) << lost.error().message;
  held->reset();

  // Both pooled connections (the broken one and the idle one) come back on acquire.
  auto a = store->acquire(Access::kRead);
  auto b = store->acquire(Access::kRead);
  ASSERT_TRUE(a) << a.error().message;
  ASSERT_TRUE(b) << b.error().message;
  auto ra = (*a)->query("SELECT 1 AS one");
  auto rb = (*b)->query("SELECT 2 AS two");
  ASSERT_TRUE(ra) << ra.error().message;
  ASSERT_TRUE(rb) << rb.error().message;
  EXPECT_EQ(as_int(ra->rows.at(0).at(0)), 1);
  EXPECT_EQ(as_int(rb->rows.at(0).at(0)), 2);
  EXPECT_EQ(store->pool_stats().size, 2);
}

}  // namespace
}  // namespace libromind::store
