// A fresh, migrated store (SQLite or PostgreSQL) with tests/shop/data/books.jsonl imported and
// helpers to make users and read stock straight from the store.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "../store/test_stores.hpp"
#include "catalog/importer.hpp"
#include "store/migrations.hpp"
#include "telemetry/log.hpp"

namespace libromind::shop::testing {

using store::testing::Backend;
using store::testing::TestDatabase;

inline const std::string kShopBooks = LIBROMIND_SOURCE_DIR "/tests/shop/data/books.jsonl";

class ShopTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    if (auto reason = store::testing::skip_reason(GetParam())) GTEST_SKIP() << *reason;
    auto db = TestDatabase::create(GetParam());
    ASSERT_TRUE(db) << db.error().message;
    db_ = std::move(*db);
    auto s = db_->open(16, 10000);
    ASSERT_TRUE(s) << s.error().message;
    store_ = std::move(*s);
    ASSERT_TRUE(store::migrate(*store_));
    auto report = catalog::import_files(*store_, {kShopBooks}, {});
    ASSERT_TRUE(report) << report.error().message;
    ASSERT_EQ(report->failed, 0);
  }

  void TearDown() override {
    reset_services();
    store_.reset();
    db_.reset();
  }

  virtual void reset_services() {}

  // A user row (no password work: these tests are about the shop).
  int64_t make_user(const std::string& email, const std::string& role = "customer") {
    auto conn = store_->acquire(store::Access::kWrite);
    EXPECT_TRUE(conn);
    auto rows = (*conn)->query(
        "INSERT INTO users (email, password_hash, role, created_at, updated_at) VALUES ($1, "
        "'x', $2, $3, $3) RETURNING id",
        {email, role, telemetry::utc_timestamp()});
    EXPECT_TRUE(rows) << rows.error().message;
    return rows ? store::as_int(rows->rows[0][0]) : 0;
  }

  int64_t stock(const std::string& book) {
    auto conn = store_->acquire(store::Access::kRead);
    auto rows = (*conn)->query("SELECT stock FROM books WHERE ext_id = $1", {book});
    EXPECT_TRUE(rows && !rows->empty());
    return store::as_int(rows->rows[0][0]);
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

  std::unique_ptr<TestDatabase> db_;
  std::unique_ptr<store::Store> store_;
};

}  // namespace libromind::shop::testing
