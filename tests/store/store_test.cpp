// Store-independent pieces: value accessors, URL redaction and URL parsing in open_store.
#include "store/store.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <limits>

#include "test_stores.hpp"

namespace libromind::store {
namespace {

TEST(Value, accessors_convert_and_fall_back_on_null) {
  EXPECT_EQ(as_int(Value{int64_t{42}}), 42);
  EXPECT_EQ(as_int(Value{2.9}), 2);
  EXPECT_EQ(as_int(Value{std::string("-17")}), -17);
  EXPECT_EQ(as_int(Value{std::string("17x")}, -1), -1);
  EXPECT_EQ(as_int(Value{nullptr}, 5), 5);
  EXPECT_EQ(as_int(Value{std::numeric_limits<double>::quiet_NaN()}, 3), 3);

  EXPECT_EQ(as_double(Value{int64_t{3}}), 3.0);
  EXPECT_EQ(as_double(Value{0.5}), 0.5);
  EXPECT_EQ(as_double(Value{std::string("1.25")}), 1.25);
  EXPECT_EQ(as_double(Value{nullptr}, 7.5), 7.5);

  EXPECT_EQ(as_string(Value{int64_t{-3}}), "-3");
  EXPECT_EQ(as_string(Value{0.1}), "0.1");
  EXPECT_EQ(as_string(Value{std::string("abc")}), "abc");
  EXPECT_EQ(as_string(Value{nullptr}), "");

  EXPECT_TRUE(is_null(Value{nullptr}));
  EXPECT_FALSE(is_null(Value{std::string()}));
  EXPECT_FALSE(is_null(Value{int64_t{0}}));
}

TEST(RedactUrl, hides_password_and_keeps_the_rest) {
  EXPECT_EQ(redact_url("postgresql://lm:s3cret@db.example:5432/libromind"),
            "postgresql://lm:***@db.example:5432/libromind");
  EXPECT_EQ(redact_url("postgres://lm@db/x"), "postgres://lm@db/x");
  EXPECT_EQ(redact_url("postgresql://db/x?sslmode=require&password=p4ss&x=1"),
            "postgresql://db/x?sslmode=require&password=***&x=1");
  EXPECT_EQ(redact_url("postgresql://u:p@ss@h/x"), "postgresql://u:***@h/x");
  EXPECT_EQ(redact_url("sqlite://var/libromind.db"), "sqlite://var/libromind.db");
  EXPECT_EQ(redact_url("not a url"), "not a url");
}

TEST(OpenStore, rejects_unknown_scheme_without_leaking_password) {
  auto r = open_store({"mysql://root:hunter2@localhost/db", 4, 100});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, core::ErrorCode::kInvalidArgument);
  EXPECT_EQ(r.error().message.find("hunter2"), std::string::npos) << r.error().message;
}

TEST(OpenStore, rejects_sqlite_url_without_file) {
  EXPECT_FALSE(open_store({"sqlite://", 4, 100}));
  EXPECT_FALSE(open_store({"sqlite::memory:", 4, 100}));
  EXPECT_FALSE(open_store({"sqlite://db.sqlite", 0, 100}));  // pool size
}

TEST(OpenStore, opens_sqlite_at_absolute_and_relative_paths) {
  auto dir = std::filesystem::temp_directory_path() / ("lm_store_url_" + testing::random_suffix());
  auto abs = open_store({"sqlite://" + (dir / "abs.db").string(), 2, 1000});
  ASSERT_TRUE(abs) << abs.error().message;
  EXPECT_TRUE(std::filesystem::exists(dir / "abs.db"));
  EXPECT_EQ((*abs)->describe(), "sqlite:" + (dir / "abs.db").string());

  auto old_cwd = std::filesystem::current_path();
  std::filesystem::current_path(dir);
  auto rel = open_store({"sqlite://var/rel.db", 2, 1000});
  std::filesystem::current_path(old_cwd);
  ASSERT_TRUE(rel) << rel.error().message;
  EXPECT_TRUE(std::filesystem::exists(dir / "var" / "rel.db"));
  abs->reset();
  rel->reset();
  std::filesystem::remove_all(dir);
}

TEST(OpenStore, unreachable_postgres_is_unavailable_without_leaking_password) {
  // Port 1 on loopback refuses at once. Connections are opened lazily, on acquire.
  auto store = open_store({"postgresql://lm:hunter2@127.0.0.1:1/libromind", 2, 500});
  ASSERT_TRUE(store) << store.error().message;
  EXPECT_EQ((*store)->describe(), "postgresql://lm:***@127.0.0.1:1/libromind");
  auto conn = (*store)->acquire(Access::kRead);
  ASSERT_FALSE(conn);
  EXPECT_EQ(conn.error().code, core::ErrorCode::kUnavailable);
  EXPECT_EQ(conn.error().message.find("hunter2"), std::string::npos) << conn.error().message;
  EXPECT_EQ((*store)->pool_stats().size, 0);
}

TEST(OpenStore, rejects_malformed_postgres_url) {
  auto r = open_store({"postgresql://h/db?no_such_option=1", 2, 500});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, core::ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace libromind::store
