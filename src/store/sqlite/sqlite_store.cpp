#include "store/sqlite/sqlite_store.hpp"

#include <sqlite3.h>

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <list>
#include <mutex>
#include <string>
#include <string_view>
#include <system_error>
#include <unordered_map>
#include <utility>
#include <vector>

namespace libromind::store {

namespace {

constexpr size_t kStatementCacheSize = 256;

core::ErrorCode code_for(int extended_rc) {
  switch (extended_rc) {
    case SQLITE_CONSTRAINT_UNIQUE:
    case SQLITE_CONSTRAINT_PRIMARYKEY:
    case SQLITE_CONSTRAINT_CHECK:
    case SQLITE_CONSTRAINT_FOREIGNKEY:
      return core::ErrorCode::kConflict;
    default:
      break;
  }
  switch (extended_rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_CANTOPEN:
    case SQLITE_PROTOCOL:
      return core::ErrorCode::kUnavailable;
    default:
      return core::ErrorCode::kInternal;
  }
}

core::Error db_error(sqlite3* db, int rc) {
  int extended = db != nullptr ? sqlite3_extended_errcode(db) : rc;
  if ((extended & 0xff) != (rc & 0xff)) extended = rc;
  const char* msg = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  return {code_for(extended), std::string("store: ") + msg, {}};
}

// Rewrites `$N` placeholders (outside string literals, quoted identifiers and comments) to
// SQLite's `?N`, whose parameter index is N itself. Binding by name would cost a linear lookup
// per parameter (quadratic for a multi-row insert). `used[N-1]` records which numbers occur.
std::string rewrite_placeholders(std::string_view sql, std::vector<bool>& used) {
  std::string out;
  out.reserve(sql.size());
  used.clear();
  size_t i = 0;
  while (i < sql.size()) {
    char c = sql[i];
    if (c == '\'' || c == '"') {
      size_t end = sql.find(c, i + 1);
      while (end != std::string_view::npos && end + 1 < sql.size() && sql[end + 1] == c) {
        end = sql.find(c, end + 2);
      }
      end = end == std::string_view::npos ? sql.size() : end + 1;
      out.append(sql.substr(i, end - i));
      i = end;
    } else if (c == '-' && i + 1 < sql.size() && sql[i + 1] == '-') {
      size_t end = sql.find('\n', i);
      end = end == std::string_view::npos ? sql.size() : end;
      out.append(sql.substr(i, end - i));
      i = end;
    } else if (c == '/' && i + 1 < sql.size() && sql[i + 1] == '*') {
      size_t end = sql.find("*/", i + 2);
      end = end == std::string_view::npos ? sql.size() : end + 2;
      out.append(sql.substr(i, end - i));
      i = end;
    } else if (c == '$' && i + 1 < sql.size() && sql[i + 1] >= '0' && sql[i + 1] <= '9') {
      size_t j = i + 1;
      size_t n = 0;
      while (j < sql.size() && sql[j] >= '0' && sql[j] <= '9' && n <= 1000000) {
        n = n * 10 + static_cast<size_t>(sql[j] - '0');
        ++j;
      }
      if (n > 0) {
        if (used.size() < n) used.resize(n, false);
        used[n - 1] = true;
      }
      out += '?';
      out.append(sql.substr(i + 1, j - i - 1));
      i = j;
    } else {
      out += c;
      ++i;
    }
  }
  return out;
}

Value column_value(sqlite3_stmt* stmt, int col) {
  switch (sqlite3_column_type(stmt, col)) {
    case SQLITE_INTEGER:
      return static_cast<int64_t>(sqlite3_column_int64(stmt, col));
    case SQLITE_FLOAT:
      return sqlite3_column_double(stmt, col);
    case SQLITE_TEXT: {
      const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt, col));
      int bytes = sqlite3_column_bytes(stmt, col);
      return text != nullptr ? std::string(text, static_cast<size_t>(bytes)) : std::string();
    }
    case SQLITE_BLOB: {
      const auto* blob = static_cast<const char*>(sqlite3_column_blob(stmt, col));
      int bytes = sqlite3_column_bytes(stmt, col);
      return blob != nullptr ? std::string(blob, static_cast<size_t>(bytes)) : std::string();
    }
    default:
      return nullptr;
  }
}

// Resets a cached statement and clears its bindings when a call is done with it.
class StatementUse {
 public:
  explicit StatementUse(sqlite3_stmt* stmt) : stmt_(stmt) {}
  ~StatementUse() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
  StatementUse(const StatementUse&) = delete;
  StatementUse& operator=(const StatementUse&) = delete;

 private:
  sqlite3_stmt* stmt_;
};

class SqliteConnection final : public Connection {
 public:
  SqliteConnection(sqlite3* db, bool writer) : db_(db), writer_(writer) {}
  ~SqliteConnection() override {
    for (auto& [sql, stmt] : lru_) sqlite3_finalize(stmt);
    sqlite3_close_v2(db_);
  }
  SqliteConnection(const SqliteConnection&) = delete;
  SqliteConnection& operator=(const SqliteConnection&) = delete;

  Dialect dialect() const override { return Dialect::kSqlite; }
  bool writer() const { return writer_; }
  bool in_transaction() const { return sqlite3_get_autocommit(db_) == 0; }

  core::Result<Rows> query(std::string_view sql, const Params& params) override {
    LM_ASSIGN_OR_RETURN(sqlite3_stmt * stmt, prepare(sql));
    StatementUse use(stmt);
    LM_TRY(bind(stmt, params));
    Rows out;
    int rc = sqlite3_step(stmt);
    // Columns are read after the first step: a statement re-prepared after a schema change
    // (SELECT * after ALTER TABLE) only then reports its new columns.
    int ncols = sqlite3_column_count(stmt);
    out.columns.reserve(static_cast<size_t>(ncols));
    for (int c = 0; c < ncols; ++c) {
      const char* name = sqlite3_column_name(stmt, c);
      out.columns.emplace_back(name != nullptr ? name : "");
    }
    for (; rc == SQLITE_ROW; rc = sqlite3_step(stmt)) {
      std::vector<Value> row;
      row.reserve(static_cast<size_t>(ncols));
      for (int c = 0; c < ncols; ++c) row.push_back(column_value(stmt, c));
      out.rows.push_back(std::move(row));
    }
    if (rc != SQLITE_DONE) return db_error(db_, rc);
    return out;
  }

  core::Result<int64_t> exec(std::string_view sql, const Params& params) override {
    LM_ASSIGN_OR_RETURN(sqlite3_stmt * stmt, prepare(sql));
    StatementUse use(stmt);
    LM_TRY(bind(stmt, params));
    // sqlite3_changes() keeps the count of the last DML statement, so DDL would report a stale
    // number: count only when this statement changed something.
    sqlite3_int64 before = sqlite3_total_changes64(db_);
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
    }
    if (rc != SQLITE_DONE) return db_error(db_, rc);
    if (sqlite3_total_changes64(db_) == before) return int64_t{0};
    return static_cast<int64_t>(sqlite3_changes64(db_));
  }

  core::Result<void> exec_script(std::string_view sql) override {
    std::string text(sql);
    char* msg = nullptr;
    int rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &msg);
    if (rc != SQLITE_OK) {
      int extended = sqlite3_extended_errcode(db_);
      if ((extended & 0xff) != (rc & 0xff)) extended = rc;
      std::string message = std::string("store: ") + (msg != nullptr ? msg : sqlite3_errstr(rc));
      sqlite3_free(msg);
      return core::Error{code_for(extended), std::move(message), {}};
    }
    return core::ok();
  }

  // The writer takes the write lock at once; a reader's transaction is a consistent snapshot.
  core::Result<void> begin() override {
    LM_TRY(exec(writer_ ? "BEGIN IMMEDIATE" : "BEGIN", {}));
    return core::ok();
  }

  core::Result<void> commit() override {
    LM_TRY(exec("COMMIT", {}));
    return core::ok();
  }

  // Like PostgreSQL, rolling back outside a transaction is not an error.
  core::Result<void> rollback() override {
    if (!in_transaction()) return core::ok();
    LM_TRY(exec("ROLLBACK", {}));
    return core::ok();
  }

 private:
  using Lru = std::list<std::pair<std::string, sqlite3_stmt*>>;

  // Returns the cached statement for `sql`, preparing it on a miss (least recently used out).
  core::Result<sqlite3_stmt*> prepare(std::string_view sql) {
    if (auto it = index_.find(sql); it != index_.end()) {
      lru_.splice(lru_.begin(), lru_, it->second);
      return it->second->second;
    }
    std::vector<bool> used;
    const std::string rewritten = rewrite_placeholders(sql, used);
    sqlite3_stmt* stmt = nullptr;
    const char* tail = nullptr;
    int rc = sqlite3_prepare_v3(db_, rewritten.data(), static_cast<int>(rewritten.size()),
                                SQLITE_PREPARE_PERSISTENT, &stmt, &tail);
    if (rc != SQLITE_OK) return db_error(db_, rc);
    if (stmt == nullptr) return core::Error::internal("store: empty SQL statement");
    std::string_view rest(tail, static_cast<size_t>(rewritten.data() + rewritten.size() - tail));
    if (rest.find_first_not_of(" \t\r\n;") != std::string_view::npos) {
      sqlite3_stmt* next = nullptr;
      rc = sqlite3_prepare_v2(db_, rest.data(), static_cast<int>(rest.size()), &next, nullptr);
      sqlite3_finalize(next);
      if (rc != SQLITE_OK || next != nullptr) {
        sqlite3_finalize(stmt);
        return core::Error::internal(
            "store: query() and exec() take one statement; use exec_script");
      }
    }
    lru_.emplace_front(std::string(sql), stmt);
    index_.emplace(lru_.front().first, lru_.begin());
    used_.emplace(stmt, std::move(used));
    if (lru_.size() > kStatementCacheSize) {
      auto& [old_sql, old_stmt] = lru_.back();
      index_.erase(old_sql);
      used_.erase(old_stmt);
      sqlite3_finalize(old_stmt);
      lru_.pop_back();
    }
    return stmt;
  }

  // Binds `$N` (rewritten to `?N`, index N) by its number, so placeholders may come in any
  // order and repeat.
  core::Result<void> bind(sqlite3_stmt* stmt, const Params& params) {
    const std::vector<bool>& used = used_.at(stmt);
    if (used.size() > params.size()) {
      return core::Error::internal("store: placeholder $" + std::to_string(used.size()) +
                                   " has no value (" + std::to_string(params.size()) + " given)");
    }
    for (size_t k = 0; k < params.size(); ++k) {
      if (k >= used.size() || !used[k]) {
        return core::Error::internal("store: parameter $" + std::to_string(k + 1) +
                                     " is not used by the statement");
      }
      const int i = static_cast<int>(k + 1);
      const Value& v = params[k];
      int rc = SQLITE_OK;
      if (const auto* i64 = std::get_if<int64_t>(&v)) {
        rc = sqlite3_bind_int64(stmt, i, *i64);
      } else if (const auto* d = std::get_if<double>(&v)) {
        rc = sqlite3_bind_double(stmt, i, *d);
      } else if (const auto* str = std::get_if<std::string>(&v)) {
        // The statement is reset before `params` goes away, so SQLite need not copy.
        rc = sqlite3_bind_text64(stmt, i, str->data(), str->size(), SQLITE_STATIC, SQLITE_UTF8);
      } else {
        rc = sqlite3_bind_null(stmt, i);
      }
      if (rc != SQLITE_OK) return db_error(db_, rc);
    }
    return core::ok();
  }

  sqlite3* db_;
  bool writer_;
  Lru lru_;
  std::unordered_map<std::string_view, Lru::iterator> index_;  // keys view into lru_ entries
  std::unordered_map<sqlite3_stmt*, std::vector<bool>> used_;  // placeholder numbers per statement
};

core::Result<std::unique_ptr<SqliteConnection>> open_connection(const std::string& path,
                                                                bool writer, int busy_timeout_ms) {
  int flags = SQLITE_OPEN_NOMUTEX |
              (writer ? SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE : SQLITE_OPEN_READONLY);
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db, flags, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    sqlite3_close_v2(db);
    return core::Error::unavailable("store: cannot open SQLite database " + path + ": " + msg);
  }
  auto conn = std::make_unique<SqliteConnection>(db, writer);
  sqlite3_extended_result_codes(db, 1);
  sqlite3_busy_timeout(db, busy_timeout_ms);
  if (writer) LM_TRY(conn->exec_script("PRAGMA journal_mode=WAL"));
  LM_TRY(conn->exec_script("PRAGMA foreign_keys=ON; PRAGMA synchronous=NORMAL"));
  return conn;
}

// The connections of one store. Handles keep it alive, so a handle may outlive its store.
class SqlitePool {
 public:
  SqlitePool(std::string path, const StoreOptions& options)
      : path_(std::move(path)),
        max_readers_(options.pool_size),
        busy_timeout_(std::chrono::milliseconds(options.busy_timeout_ms)),
        busy_timeout_ms_(options.busy_timeout_ms) {}

  const std::string& path() const { return path_; }

  core::Result<void> open_writer() {
    LM_ASSIGN_OR_RETURN(writer_, open_connection(path_, true, busy_timeout_ms_));
    return core::ok();
  }

  core::Result<SqliteConnection*> acquire_writer() {
    std::unique_lock lock(mu_);
    if (writer_busy_) {
      ++waiting_;
      bool free = writer_cv_.wait_for(lock, busy_timeout_, [&] { return !writer_busy_; });
      --waiting_;
      if (!free) {
        return core::Error::unavailable("store: the SQLite writer stayed busy for " +
                                        std::to_string(busy_timeout_ms_) + " ms");
      }
    }
    writer_busy_ = true;
    return writer_.get();
  }

  core::Result<SqliteConnection*> acquire_reader() {
    std::unique_lock lock(mu_);
    auto deadline = std::chrono::steady_clock::now() + busy_timeout_;
    while (true) {
      if (!idle_readers_.empty()) {
        SqliteConnection* conn = idle_readers_.back();
        idle_readers_.pop_back();
        return conn;
      }
      if (static_cast<int>(readers_.size()) < max_readers_) {
        // Opening a read-only connection does no I/O until its first query: cheap under the lock.
        LM_ASSIGN_OR_RETURN(auto conn, open_connection(path_, false, busy_timeout_ms_));
        readers_.push_back(std::move(conn));
        return readers_.back().get();
      }
      ++waiting_;
      bool free = reader_cv_.wait_until(lock, deadline, [&] { return !idle_readers_.empty(); });
      --waiting_;
      if (!free) return core::Error::unavailable("store connection pool exhausted");
    }
  }

  void release(SqliteConnection* conn) {
    // Never lend out a connection with a transaction its last user left open.
    if (conn->in_transaction()) (void)conn->rollback();
    std::lock_guard lock(mu_);
    if (conn->writer()) {
      writer_busy_ = false;
      writer_cv_.notify_one();
    } else {
      idle_readers_.push_back(conn);
      reader_cv_.notify_one();
    }
  }

  PoolStats stats() {
    std::lock_guard lock(mu_);
    PoolStats s;
    s.size = (writer_ ? 1 : 0) + static_cast<int64_t>(readers_.size());
    s.in_use =
        (writer_busy_ ? 1 : 0) + static_cast<int64_t>(readers_.size() - idle_readers_.size());
    s.waiting = waiting_;
    return s;
  }

 private:
  const std::string path_;
  const int max_readers_;
  const std::chrono::milliseconds busy_timeout_;
  const int busy_timeout_ms_;

  std::mutex mu_;
  std::condition_variable writer_cv_;
  std::condition_variable reader_cv_;
  std::unique_ptr<SqliteConnection> writer_;
  bool writer_busy_ = false;
  std::vector<std::unique_ptr<SqliteConnection>> readers_;
  std::vector<SqliteConnection*> idle_readers_;
  int64_t waiting_ = 0;
};

class SqliteStore final : public Store {
 public:
  explicit SqliteStore(std::shared_ptr<SqlitePool> pool) : pool_(std::move(pool)) {}

  Dialect dialect() const override { return Dialect::kSqlite; }

  core::Result<ConnectionHandle> acquire(Access access) override {
    core::Result<SqliteConnection*> conn =
        access == Access::kWrite ? pool_->acquire_writer() : pool_->acquire_reader();
    if (!conn) return conn.error();
    return ConnectionHandle(
        *conn, [pool = pool_](Connection* c) { pool->release(static_cast<SqliteConnection*>(c)); });
  }

  PoolStats pool_stats() const override { return pool_->stats(); }

  std::string describe() const override { return "sqlite:" + pool_->path(); }

 private:
  std::shared_ptr<SqlitePool> pool_;
};

}  // namespace

core::Result<std::unique_ptr<Store>> open_sqlite_store(const std::string& path,
                                                       const StoreOptions& options) {
  std::filesystem::path parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(parent, ec);
    if (ec) {
      return core::Error::unavailable("store: cannot create directory " + parent.string() + ": " +
                                      ec.message());
    }
  }
  auto pool = std::make_shared<SqlitePool>(path, options);
  LM_TRY(pool->open_writer());
  return std::unique_ptr<Store>(std::make_unique<SqliteStore>(std::move(pool)));
}

}  // namespace libromind::store
