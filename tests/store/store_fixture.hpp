// The base of the suites that run on a store (jobs, shop, search, feedback): a fresh, migrated
// database per test on the backend given as the test parameter (PostgreSQL skipped with a
// message when LIBROMIND_TEST_PG_URL is unset), and helpers to read and write it directly.
//
//   class CartTest : public store::testing::StoreTest {
//     void reset_services() override { carts_.reset(); }  // what uses the store goes first
//   };
//   INSTANTIATE_TEST_SUITE_P(Stores, CartTest, store::testing::all_backends(),
//                            store::testing::backend_test_name);
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "store/migrations.hpp"
#include "test_stores.hpp"

namespace libromind::store::testing {

class StoreTest : public ::testing::TestWithParam<Backend> {
 protected:
  explicit StoreTest(int pool_size = 16) : pool_size_(pool_size) {}

  void SetUp() override {
    if (auto reason = skip_reason(GetParam())) GTEST_SKIP() << *reason;
    auto db = TestDatabase::create(GetParam());
    ASSERT_TRUE(db) << db.error().message;
    db_ = std::move(*db);
    auto s = db_->open(pool_size_, 10000);
    ASSERT_TRUE(s) << s.error().message;
    store_ = std::move(*s);
    auto m = migrate(*store_);
    ASSERT_TRUE(m) << m.error().message;
  }

  void TearDown() override {
    reset_services();
    store_.reset();
    db_.reset();
  }

  // Destroys what uses the store, before the store goes.
  virtual void reset_services() {}

  // The first column of the first row of a query, -1 without rows.
  int64_t scalar(const std::string& sql, const Params& p = {}) {
    auto conn = store_->acquire(Access::kRead);
    EXPECT_TRUE(conn) << conn.error().message;
    if (!conn) return -1;
    auto rows = (*conn)->query(sql, p);
    EXPECT_TRUE(rows) << rows.error().message;
    return rows && !rows->empty() ? as_int(rows->rows[0][0]) : -1;
  }

  void exec(const std::string& sql, const Params& p = {}) {
    auto conn = store_->acquire(Access::kWrite);
    EXPECT_TRUE(conn) << conn.error().message;
    if (!conn) return;
    auto r = (*conn)->exec(sql, p);
    EXPECT_TRUE(r) << r.error().message;
  }

  std::unique_ptr<TestDatabase> db_;
  std::unique_ptr<Store> store_;

 private:
  int pool_size_;
};

inline auto all_backends() { return ::testing::Values(Backend::kSqlite, Backend::kPostgres); }

inline std::string backend_test_name(const ::testing::TestParamInfo<Backend>& info) {
  return backend_name(info.param);
}

}  // namespace libromind::store::testing
