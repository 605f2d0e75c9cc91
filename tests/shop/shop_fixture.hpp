// A fresh, migrated store (SQLite or PostgreSQL) with tests/shop/data/books.jsonl imported and
// helpers to make users and read stock straight from the store.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "../store/store_fixture.hpp"
#include "catalog/importer.hpp"
#include "telemetry/log.hpp"

namespace libromind::shop::testing {

inline const std::string kShopBooks = LIBROMIND_SOURCE_DIR "/tests/shop/data/books.jsonl";

class ShopTest : public store::testing::StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    auto report = catalog::import_files(*store_, {kShopBooks}, {});
    ASSERT_TRUE(report) << report.error().message;
    ASSERT_EQ(report->failed, 0);
  }

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
};

}  // namespace libromind::shop::testing
