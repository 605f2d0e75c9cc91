// Test helpers for the store suites: a fresh, empty database per test, on SQLite (a temporary
// file) or on PostgreSQL (a new database on the server named by LIBROMIND_TEST_PG_URL, dropped
// at the end). PostgreSQL tests are skipped with a message when that variable is unset.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <optional>
#include <random>
#include <string>

#include "core/result.hpp"
#include "store/store.hpp"

namespace libromind::store::testing {

enum class Backend { kSqlite, kPostgres };

inline std::string backend_name(Backend backend) {
  return backend == Backend::kSqlite ? "sqlite" : "postgres";
}

inline std::string env_or_empty(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr ? std::string(v) : std::string();
}

inline std::string random_suffix() {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  static constexpr char kDigits[] = "0123456789abcdef";
  uint64_t v = rng();
  std::string out;
  for (int i = 0; i < 12; ++i, v >>= 4) out.push_back(kDigits[v & 0xf]);
  return out;
}

// `url` with its database name replaced by `database`.
inline std::string with_database(const std::string& url, const std::string& database) {
  size_t authority = url.find("://");
  authority = authority == std::string::npos ? 0 : authority + 3;
  size_t query = url.find('?', authority);
  size_t slash = url.find('/', authority);
  size_t end = query == std::string::npos ? url.size() : query;
  if (slash == std::string::npos || slash > end) slash = end;
  return url.substr(0, slash) + "/" + database + url.substr(end);
}

// Why `backend` cannot run here, or nullopt when it can.
inline std::optional<std::string> skip_reason(Backend backend) {
  if (backend == Backend::kPostgres && env_or_empty("LIBROMIND_TEST_PG_URL").empty()) {
    return "LIBROMIND_TEST_PG_URL is not set; start one with scripts/pg-test-server.sh";
  }
  return std::nullopt;
}

// A fresh, empty database, removed when destroyed (close its stores first).
class TestDatabase {
 public:
  static core::Result<std::unique_ptr<TestDatabase>> create(Backend backend) {
    auto db = std::unique_ptr<TestDatabase>(new TestDatabase(backend));
    if (backend == Backend::kSqlite) {
      db->dir_ = std::filesystem::temp_directory_path() / ("lm_store_test_" + random_suffix());
      // A nested path: opening the store must create the missing directories.
      db->url_ = "sqlite://" + (db->dir_ / "nested" / "test.db").string();
      return db;
    }
    db->admin_url_ = env_or_empty("LIBROMIND_TEST_PG_URL");
    db->name_ = "lm_test_" + random_suffix();
    LM_ASSIGN_OR_RETURN(auto admin, open_store({db->admin_url_, 1, 5000}));
    LM_ASSIGN_OR_RETURN(auto conn, admin->acquire(Access::kWrite));
    LM_TRY(conn->exec("CREATE DATABASE " + db->name_));
    db->url_ = with_database(db->admin_url_, db->name_);
    return db;
  }

  ~TestDatabase() {
    if (backend_ == Backend::kSqlite) {
      std::error_code ec;
      std::filesystem::remove_all(dir_, ec);
      return;
    }
    auto admin = open_store({admin_url_, 1, 5000});
    if (!admin) return;
    auto conn = (*admin)->acquire(Access::kWrite);
    if (!conn) return;
    (void)(*conn)->exec("DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)");
  }

  TestDatabase(const TestDatabase&) = delete;
  TestDatabase& operator=(const TestDatabase&) = delete;

  Backend backend() const { return backend_; }
  const std::string& url() const { return url_; }

  core::Result<std::unique_ptr<Store>> open(int pool_size = 4, int busy_timeout_ms = 2000) const {
    return open_store({url_, pool_size, busy_timeout_ms});
  }

 private:
  explicit TestDatabase(Backend backend) : backend_(backend) {}

  Backend backend_;
  std::string url_;
  std::filesystem::path dir_;  // SQLite
  std::string admin_url_;      // PostgreSQL
  std::string name_;           // PostgreSQL database
};

}  // namespace libromind::store::testing
