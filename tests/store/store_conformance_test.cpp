// The behaviour both stores must share, run against SQLite always and against PostgreSQL when
// LIBROMIND_TEST_PG_URL is set. Each test gets a fresh database.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <limits>
#include <thread>

#include "store/migrations.hpp"
#include "store/store.hpp"
#include "test_stores.hpp"

namespace libromind::store {
namespace {

using testing::Backend;
using testing::TestDatabase;

constexpr const char* kCreateItems =
    "CREATE TABLE items (id BIGINT PRIMARY KEY, name TEXT NOT NULL UNIQUE, "
    "price DOUBLE PRECISION, note TEXT, qty BIGINT CHECK (qty >= 0))";

class StoreConformance : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    if (auto reason = testing::skip_reason(GetParam())) GTEST_SKIP() << *reason;
    auto db = TestDatabase::create(GetParam());
    ASSERT_TRUE(db) << db.error().message;
    db_ = std::move(*db);
    store_ = open();
  }

  void TearDown() override {
    store_.reset();
    db_.reset();
  }

  std::unique_ptr<Store> open(int pool_size = 4, int busy_timeout_ms = 2000) {
    auto s = db_->open(pool_size, busy_timeout_ms);
    EXPECT_TRUE(s) << s.error().message;
    return s ? std::move(*s) : nullptr;
  }

  const char* dialect_folder() const {
    return GetParam() == Backend::kSqlite ? "sqlite" : "postgres";
  }

  void create_items() {
    auto conn = store_->acquire(Access::kWrite);
    ASSERT_TRUE(conn) << conn.error().message;
    auto r = (*conn)->exec_script(kCreateItems);
    ASSERT_TRUE(r) << r.error().message;
  }

  Rows must_query(std::string_view sql, const Params& params = {}) {
    auto conn = store_->acquire(Access::kRead);
    EXPECT_TRUE(conn) << conn.error().message;
    if (!conn) return {};
    auto rows = (*conn)->query(sql, params);
    EXPECT_TRUE(rows) << sql << ": " << rows.error().message;
    return rows ? std::move(*rows) : Rows{};
  }

  int64_t must_exec(std::string_view sql, const Params& params = {}) {
    auto conn = store_->acquire(Access::kWrite);
    EXPECT_TRUE(conn) << conn.error().message;
    if (!conn) return -1;
    auto n = (*conn)->exec(sql, params);
    EXPECT_TRUE(n) << sql << ": " << n.error().message;
    return n ? *n : -1;
  }

  bool table_exists(const std::string& table) {
    auto conn = store_->acquire(Access::kRead);
    if (!conn) return false;
    return static_cast<bool>((*conn)->query("SELECT COUNT(*) FROM " + table));
  }

  std::unique_ptr<TestDatabase> db_;
  std::unique_ptr<Store> store_;
};

size_t embedded_count(const char* dialect) {
  size_t n = 0;
  for (const auto& m : embedded_migrations()) n += std::string_view(m.dialect) == dialect;
  return n;
}

TEST_P(StoreConformance, reports_its_dialect) {
  Dialect expected = GetParam() == Backend::kSqlite ? Dialect::kSqlite : Dialect::kPostgres;
  EXPECT_EQ(store_->dialect(), expected);
  auto conn = store_->acquire(Access::kRead);
  ASSERT_TRUE(conn);
  EXPECT_EQ((*conn)->dialect(), expected);
}

TEST_P(StoreConformance, migrate_applies_catalog_and_second_run_applies_nothing) {
  auto first = migrate(*store_);
  ASSERT_TRUE(first) << first.error().message;
  ASSERT_EQ(first->size(), embedded_count(dialect_folder()));
  EXPECT_EQ(first->front(), "0001_catalog.sql");

  auto second = migrate(*store_);
  ASSERT_TRUE(second) << second.error().message;
  EXPECT_TRUE(second->empty());

  Rows meta = must_query("SELECT change_seq FROM store_meta WHERE id = 1");
  ASSERT_EQ(meta.size(), 1u);
  EXPECT_EQ(as_int(meta.rows[0][0], -1), 0);
  Rows applied = must_query("SELECT version, name, applied_at FROM schema_migrations");
  ASSERT_EQ(applied.size(), first->size());
  EXPECT_EQ(as_int(applied.rows[0][0]), 1);
  EXPECT_EQ(as_string(applied.rows[0][1]), "0001_catalog.sql");
  EXPECT_EQ(as_string(applied.rows[0][2]).size(), 20u);  // 2026-01-02T03:04:05Z
}

TEST_P(StoreConformance, migration_status_reports_pending_then_current) {
  auto before = migration_status(*store_);
  ASSERT_TRUE(before) << before.error().message;
  EXPECT_EQ(before->current, 0);
  EXPECT_GE(before->latest, 1);
  ASSERT_EQ(before->pending.size(), embedded_count(dialect_folder()));
  EXPECT_EQ(before->pending.front(), "0001_catalog.sql");

  ASSERT_TRUE(migrate(*store_));
  auto after = migration_status(*store_);
  ASSERT_TRUE(after) << after.error().message;
  EXPECT_EQ(after->current, after->latest);
  EXPECT_EQ(after->latest, before->latest);
  EXPECT_TRUE(after->pending.empty());
}

TEST_P(StoreConformance, failed_migration_leaves_schema_unchanged) {
  const char* d = dialect_folder();
  std::vector<EmbeddedMigration> migrations = {
      {d, "0001_first.sql", "CREATE TABLE first_ok (id BIGINT);"},
      {d, "0002_broken.sql",
       "CREATE TABLE half_done (id BIGINT);\nINSERT INTO no_such_table VALUES (1);"},
      {d, "0003_never.sql", "CREATE TABLE never_reached (id BIGINT);"},
      {GetParam() == Backend::kSqlite ? "postgres" : "sqlite", "0004_other_dialect.sql",
       "this is not even SQL"},
  };
  auto r = apply_migrations(*store_, migrations);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("0002_broken.sql"), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("no_such_table"), std::string::npos) << r.error().message;

  EXPECT_TRUE(table_exists("first_ok"));
  EXPECT_FALSE(table_exists("half_done"));
  EXPECT_FALSE(table_exists("never_reached"));
  Rows applied = must_query("SELECT version FROM schema_migrations ORDER BY version");
  ASSERT_EQ(applied.size(), 1u);
  EXPECT_EQ(as_int(applied.rows[0][0]), 1);

  // Once fixed, the run resumes where it stopped.
  migrations[1].sql = "CREATE TABLE half_done (id BIGINT);";
  auto fixed = apply_migrations(*store_, migrations);
  ASSERT_TRUE(fixed) << fixed.error().message;
  EXPECT_EQ(*fixed, (std::vector<std::string>{"0002_broken.sql", "0003_never.sql"}));
  EXPECT_TRUE(table_exists("half_done"));
}

TEST_P(StoreConformance, concurrent_migrators_apply_each_migration_once) {
  auto other = open();
  ASSERT_TRUE(other);
  core::Result<std::vector<std::string>> a = std::vector<std::string>{};
  core::Result<std::vector<std::string>> b = std::vector<std::string>{};
  std::thread t([&] { b = migrate(*other); });
  a = migrate(*store_);
  t.join();
  ASSERT_TRUE(a) << a.error().message;
  ASSERT_TRUE(b) << b.error().message;
  EXPECT_EQ(a->size() + b->size(), embedded_count(dialect_folder()));
  Rows applied = must_query("SELECT COUNT(*) FROM schema_migrations");
  EXPECT_EQ(as_int(applied.rows.at(0).at(0)),
            static_cast<int64_t>(embedded_count(dialect_folder())));
}

TEST_P(StoreConformance, params_of_every_type_round_trip) {
  create_items();
  const std::string unicode = "Émile Zola — 東京の夜 🚀 'quoted' \"double\" back\\slash";
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
  EXPECT_EQ(
      must_exec("INSERT INTO items (id, name, price, note, qty) VALUES ($1, $2, $3, $4, $5)",
                {Value{kMax}, Value{unicode}, Value{3.25}, Value{nullptr}, Value{int64_t{0}}}),
      1);
  EXPECT_EQ(must_exec("INSERT INTO items (id, name, price, note, qty) VALUES ($1, $2, $3, $4, $5)",
                      {Value{kMin}, Value{std::string()}, Value{-1e-300}, Value{std::string("n")},
                       Value{nullptr}}),
            1);

  Rows rows = must_query("SELECT id, name, price, note, qty FROM items ORDER BY id DESC");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows.columns, (std::vector<std::string>{"id", "name", "price", "note", "qty"}));
  const auto& r0 = rows.rows[0];
  ASSERT_TRUE(std::holds_alternative<int64_t>(r0[0]));
  EXPECT_EQ(std::get<int64_t>(r0[0]), kMax);
  ASSERT_TRUE(std::holds_alternative<std::string>(r0[1]));
  EXPECT_EQ(std::get<std::string>(r0[1]), unicode);
  ASSERT_TRUE(std::holds_alternative<double>(r0[2]));
  EXPECT_EQ(std::get<double>(r0[2]), 3.25);
  EXPECT_TRUE(is_null(r0[3]));
  EXPECT_EQ(as_int(r0[4], -1), 0);
  const auto& r1 = rows.rows[1];
  EXPECT_EQ(as_int(r1[0]), kMin);
  EXPECT_EQ(as_string(r1[1]), "");
  EXPECT_FALSE(is_null(r1[1]));
  EXPECT_EQ(as_double(r1[2]), -1e-300);
  EXPECT_EQ(as_string(r1[3]), "n");
  EXPECT_TRUE(is_null(r1[4]));

  // Parameters selected directly keep their types.
  Rows direct = must_query("SELECT $1 AS i, $2 AS d, $3 AS s, $4 AS n",
                           {Value{int64_t{-42}}, Value{0.1}, Value{unicode}, Value{nullptr}});
  ASSERT_EQ(direct.size(), 1u);
  EXPECT_EQ(std::get<int64_t>(direct.rows[0][0]), -42);
  EXPECT_EQ(std::get<double>(direct.rows[0][1]), 0.1);
  EXPECT_EQ(std::get<std::string>(direct.rows[0][2]), unicode);
  EXPECT_TRUE(is_null(direct.rows[0][3]));

  Rows found = must_query("SELECT id FROM items WHERE name = $1", {Value{unicode}});
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(as_int(found.rows[0][0]), kMax);
}

TEST_P(StoreConformance, placeholders_bind_by_number_in_any_order_and_repeat) {
  create_items();
  EXPECT_EQ(must_exec("INSERT INTO items (name, id, qty) VALUES ($2, $1, $1)",
                      {Value{int64_t{7}}, Value{std::string("seven")}}),
            1);
  Rows rows = must_query("SELECT $2 AS second, $1 AS first, qty FROM items WHERE id = $1",
                         {Value{int64_t{7}}, Value{std::string("x")}});
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(as_string(rows.rows[0][0]), "x");
  EXPECT_EQ(as_int(rows.rows[0][1]), 7);
  EXPECT_EQ(as_int(rows.rows[0][2]), 7);
}

TEST_P(StoreConformance, placeholder_without_value_is_an_error) {
  auto conn = store_->acquire(Access::kRead);
  ASSERT_TRUE(conn);
  EXPECT_FALSE((*conn)->query("SELECT $2 AS x", {Value{int64_t{1}}}));
  // The connection stays usable.
  auto ok = (*conn)->query("SELECT $1 AS x", {Value{int64_t{1}}});
  ASSERT_TRUE(ok) << ok.error().message;
}

TEST_P(StoreConformance, query_takes_one_statement) {
  auto conn = store_->acquire(Access::kWrite);
  ASSERT_TRUE(conn);
  EXPECT_FALSE((*conn)->exec("CREATE TABLE a (x BIGINT); CREATE TABLE b (x BIGINT)"));
  EXPECT_TRUE((*conn)->exec("SELECT 1;"));
}

TEST_P(StoreConformance, exec_returns_number_of_changed_rows) {
  create_items();
  for (int64_t i = 1; i <= 3; ++i) {
    EXPECT_EQ(must_exec("INSERT INTO items (id, name, qty) VALUES ($1, $2, $3)",
                        {Value{i}, Value{"item " + std::to_string(i)}, Value{i * 10}}),
              1);
  }
  EXPECT_EQ(must_exec("UPDATE items SET qty = qty + 1"), 3);
  EXPECT_EQ(must_exec("UPDATE items SET qty = 0 WHERE id > $1", {Value{int64_t{1}}}), 2);
  EXPECT_EQ(must_exec("UPDATE items SET qty = 0 WHERE id > 100"), 0);
  EXPECT_EQ(must_exec("CREATE TABLE other (x BIGINT)"), 0);
  EXPECT_EQ(must_exec("DELETE FROM items WHERE id = 2"), 1);
  Rows count = must_query("SELECT COUNT(*) AS n FROM items");
  EXPECT_EQ(as_int(count.rows.at(0).at(0)), 2);
}

TEST_P(StoreConformance, insert_returning_gives_rows) {
  create_items();
  auto conn = store_->acquire(Access::kWrite);
  ASSERT_TRUE(conn);
  auto rows =
      (*conn)->query("INSERT INTO items (id, name, qty) VALUES ($1, $2, 1) RETURNING id, name",
                     {Value{int64_t{5}}, Value{std::string("five")}});
  ASSERT_TRUE(rows) << rows.error().message;
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ(as_int(rows->rows[0][0]), 5);
  EXPECT_EQ(as_string(rows->rows[0][1]), "five");
}

TEST_P(StoreConformance, with_transaction_commits_when_fn_succeeds) {
  create_items();
  auto r = with_transaction(*store_, [](Connection& c) -> core::Result<void> {
    LM_TRY(c.exec("INSERT INTO items (id, name, qty) VALUES (1, 'a', 1)"));
    LM_TRY(c.exec("INSERT INTO items (id, name, qty) VALUES (2, 'b', 1)"));
    return core::ok();
  });
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(as_int(must_query("SELECT COUNT(*) FROM items").rows.at(0).at(0)), 2);
}

TEST_P(StoreConformance, with_transaction_rolls_back_and_returns_fn_error) {
  create_items();
  auto r = with_transaction(*store_, [](Connection& c) -> core::Result<void> {
    LM_TRY(c.exec("INSERT INTO items (id, name, qty) VALUES (1, 'a', 1)"));
    return core::Error::not_found("no such book");
  });
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, core::ErrorCode::kNotFound);
  EXPECT_EQ(r.error().message, "no such book");
  EXPECT_EQ(as_int(must_query("SELECT COUNT(*) FROM items").rows.at(0).at(0)), 0);
  // The writer is free again.
  EXPECT_TRUE(with_transaction(*store_, [](Connection&) { return core::ok(); }));
}

TEST_P(StoreConformance, failed_statement_rolls_back_whole_transaction) {
  create_items();
  auto r = with_transaction(*store_, [](Connection& c) -> core::Result<void> {
    LM_TRY(c.exec("INSERT INTO items (id, name, qty) VALUES (1, 'a', 1)"));
    LM_TRY(c.exec("INSERT INTO items (id, name, qty) VALUES (2, 'a', 1)"));  // duplicate name
    return core::ok();
  });
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, core::ErrorCode::kConflict);
  EXPECT_EQ(as_int(must_query("SELECT COUNT(*) FROM items").rows.at(0).at(0)), 0);
}

TEST_P(StoreConformance, handle_returned_mid_transaction_is_rolled_back) {
  create_items();
  {
    auto conn = store_->acquire(Access::kWrite);
    ASSERT_TRUE(conn);
    ASSERT_TRUE((*conn)->begin());
    ASSERT_TRUE((*conn)->exec("INSERT INTO items (id, name, qty) VALUES (1, 'a', 1)"));
  }
  EXPECT_EQ(as_int(must_query("SELECT COUNT(*) FROM items").rows.at(0).at(0)), 0);
  auto conn = store_->acquire(Access::kWrite);
  ASSERT_TRUE(conn);
  EXPECT_TRUE((*conn)->rollback());  // nothing open: not an error
  auto begin = (*conn)->begin();
  ASSERT_TRUE(begin) << begin.error().message;
  EXPECT_TRUE((*conn)->commit());
}

TEST_P(StoreConformance, committed_writes_are_visible_to_readers) {
  create_items();
  auto reader = store_->acquire(Access::kRead);
  ASSERT_TRUE(reader);
  ASSERT_TRUE(with_transaction(*store_, [](Connection& c) -> core::Result<void> {
    LM_TRY(c.exec("INSERT INTO items (id, name, qty) VALUES (1, 'a', 1)"));
    return core::ok();
  }));
  auto rows = (*reader)->query("SELECT name FROM items");
  ASSERT_TRUE(rows) << rows.error().message;
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ(as_string(rows->rows[0][0]), "a");
}

TEST_P(StoreConformance, unique_violation_is_conflict) {
  create_items();
  must_exec("INSERT INTO items (id, name, qty) VALUES (1, 'a', 1)");
  auto conn = store_->acquire(Access::kWrite);
  ASSERT_TRUE(conn);
  auto dup_name = (*conn)->exec("INSERT INTO items (id, name, qty) VALUES (2, 'a', 1)");
  ASSERT_FALSE(dup_name);
  EXPECT_EQ(dup_name.error().code, core::ErrorCode::kConflict) << dup_name.error().message;
  auto dup_key = (*conn)->exec("INSERT INTO items (id, name, qty) VALUES (1, 'b', 1)");
  ASSERT_FALSE(dup_key);
  EXPECT_EQ(dup_key.error().code, core::ErrorCode::kConflict) << dup_key.error().message;
}

TEST_P(StoreConformance, check_and_foreign_key_violations_are_conflict) {
  create_items();
  auto conn = store_->acquire(Access::kWrite);
  ASSERT_TRUE(conn);
  auto check = (*conn)->exec("INSERT INTO items (id, name, qty) VALUES (1, 'a', -1)");
  ASSERT_FALSE(check);
  EXPECT_EQ(check.error().code, core::ErrorCode::kConflict) << check.error().message;

  ASSERT_TRUE((*conn)->exec_script(
      "CREATE TABLE parents (id BIGINT PRIMARY KEY);"
      "CREATE TABLE children (id BIGINT PRIMARY KEY, parent BIGINT REFERENCES parents (id));"));
  auto fk = (*conn)->exec("INSERT INTO children (id, parent) VALUES (1, 99)");
  ASSERT_FALSE(fk);
  EXPECT_EQ(fk.error().code, core::ErrorCode::kConflict) << fk.error().message;
}

TEST_P(StoreConformance, bad_sql_is_internal_and_names_the_problem) {
  auto conn = store_->acquire(Access::kRead);
  ASSERT_TRUE(conn);
  auto r = (*conn)->query("SELECT * FROM no_such_table");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, core::ErrorCode::kInternal);
  EXPECT_NE(r.error().message.find("no_such_table"), std::string::npos) << r.error().message;
}

TEST_P(StoreConformance, exhausted_pool_is_unavailable_after_busy_timeout) {
  auto small = open(2, 200);
  ASSERT_TRUE(small);
  auto a = small->acquire(Access::kRead);
  auto b = small->acquire(Access::kRead);
  ASSERT_TRUE(a);
  ASSERT_TRUE(b);
  auto start = std::chrono::steady_clock::now();
  auto c = small->acquire(Access::kRead);
  auto waited = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().code, core::ErrorCode::kUnavailable);
  EXPECT_NE(c.error().message.find("exhausted"), std::string::npos) << c.error().message;
  EXPECT_GE(waited, std::chrono::milliseconds(150));
  EXPECT_EQ(small->pool_stats().waiting, 0);
}

TEST_P(StoreConformance, pool_stats_count_connections_in_use_and_waiters) {
  auto small = open(2, 5000);
  ASSERT_TRUE(small);
  const int64_t writer = GetParam() == Backend::kSqlite ? 1 : 0;  // SQLite's writer is apart
  EXPECT_EQ(small->pool_stats().in_use, 0);
  {
    auto a = small->acquire(Access::kRead);
    auto b = small->acquire(Access::kRead);
    ASSERT_TRUE(a);
    ASSERT_TRUE(b);
    PoolStats s = small->pool_stats();
    EXPECT_EQ(s.size, 2 + writer);
    EXPECT_EQ(s.in_use, 2);
    EXPECT_EQ(s.waiting, 0);

    std::atomic<bool> got{false};
    std::thread waiter([&] {
      auto c = small->acquire(Access::kRead);
      got = static_cast<bool>(c);
    });
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(3);
    while (small->pool_stats().waiting != 1 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    EXPECT_EQ(small->pool_stats().waiting, 1);
    a->reset();  // hands the connection to the waiter
    waiter.join();
    EXPECT_TRUE(got);
    s = small->pool_stats();
    EXPECT_EQ(s.waiting, 0);
    EXPECT_EQ(s.in_use, 1);
  }
  PoolStats s = small->pool_stats();
  EXPECT_EQ(s.in_use, 0);
  EXPECT_EQ(s.size, 2 + writer);
}

TEST_P(StoreConformance, handles_outlive_their_store) {
  auto other = open();
  ASSERT_TRUE(other);
  auto conn = other->acquire(Access::kRead);
  ASSERT_TRUE(conn);
  other.reset();
  auto rows = (*conn)->query("SELECT 1 AS one");
  ASSERT_TRUE(rows) << rows.error().message;
  EXPECT_EQ(as_int(rows->rows.at(0).at(0)), 1);
}

INSTANTIATE_TEST_SUITE_P(Stores, StoreConformance,
                         ::testing::Values(Backend::kSqlite, Backend::kPostgres),
                         [](const ::testing::TestParamInfo<Backend>& info) {
                           return testing::backend_name(info.param);
                         });

}  // namespace
}  // namespace libromind::store
