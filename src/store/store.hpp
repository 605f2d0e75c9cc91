// The store: the system of record behind one interface, with SQLite and PostgreSQL
// implementations. Callers write SQL once with `$1..$N` placeholders (both dialects accept the
// common subset we use) and branch on `dialect()` only where the two really differ.
//
//   LM_ASSIGN_OR_RETURN(auto conn, store.acquire(store::Access::kRead));
//   LM_ASSIGN_OR_RETURN(auto rows, conn->query("SELECT title FROM books WHERE ext_id = $1",
//                                             {store::Value{"pg-84"}}));
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/result.hpp"

namespace libromind::store {

using Value = std::variant<std::nullptr_t, int64_t, double, std::string>;
using Params = std::vector<Value>;

enum class Dialect { kSqlite, kPostgres };
enum class Access { kRead, kWrite };

// A result set, fully materialised (result sets here are bounded by API limits).
struct Rows {
  std::vector<std::string> columns;
  std::vector<std::vector<Value>> rows;

  size_t size() const { return rows.size(); }
  bool empty() const { return rows.empty(); }
};

// Typed access to a cell; NULL gives the fallback.
int64_t as_int(const Value& v, int64_t fallback = 0);
double as_double(const Value& v, double fallback = 0);
std::string as_string(const Value& v);
bool is_null(const Value& v);

class Connection {
 public:
  virtual ~Connection() = default;
  virtual Dialect dialect() const = 0;
  // Runs one statement and returns its rows (also for INSERT ... RETURNING).
  virtual core::Result<Rows> query(std::string_view sql, const Params& params = {}) = 0;
  // Runs one statement and returns the number of rows it changed.
  virtual core::Result<int64_t> exec(std::string_view sql, const Params& params = {}) = 0;
  // Runs a script of several statements without parameters (migrations).
  virtual core::Result<void> exec_script(std::string_view sql) = 0;
  // Starts a write transaction (SQLite takes the write lock at once: BEGIN IMMEDIATE).
  virtual core::Result<void> begin() = 0;
  virtual core::Result<void> commit() = 0;
  virtual core::Result<void> rollback() = 0;
};

// Runs one statement whose row count does not matter (for code that returns Result<void>).
core::Result<void> run(Connection& conn, std::string_view sql, const Params& params = {});

// A connection borrowed from a store's pool; returned when the handle is destroyed.
using ConnectionHandle = std::unique_ptr<Connection, std::function<void(Connection*)>>;

struct PoolStats {
  int64_t size = 0;     // connections open
  int64_t in_use = 0;   // connections lent out
  int64_t waiting = 0;  // callers waiting for a connection
};

// Notifications on one channel, on a connection of its own (PostgreSQL LISTEN/NOTIFY).
class Listener {
 public:
  virtual ~Listener() = default;
  // Waits up to `timeout` for a notification; true when one (or more) arrived. An error means
  // the connection was lost: drop this listener and listen again later.
  virtual core::Result<bool> wait(std::chrono::milliseconds timeout) = 0;
};

class Store {
 public:
  virtual ~Store() = default;
  virtual Dialect dialect() const = 0;
  // Borrows a connection; kWrite gives the single writer on SQLite, any connection on PostgreSQL.
  virtual core::Result<ConnectionHandle> acquire(Access access) = 0;
  virtual PoolStats pool_stats() const = 0;
  // A redacted description of where the store is, for logs ("sqlite:var/x.db",
  // "postgresql://u@h/db").
  virtual std::string describe() const = 0;
  // LISTENs on `channel` (PostgreSQL). SQLite has one process per store and nothing to listen
  // to: it returns an unsupported (kUnavailable) error, and callers poll.
  virtual core::Result<std::unique_ptr<Listener>> listen(const std::string& channel);
};

struct StoreOptions {
  std::string url;             // sqlite://PATH or postgresql://...
  int pool_size = 8;           // PostgreSQL connections / SQLite reader connections
  int busy_timeout_ms = 5000;  // SQLite busy timeout and PostgreSQL pool wait
};

// Opens a store from a URL: `sqlite://relative/path.db`, `sqlite:///abs/path.db`,
// `postgresql://user:pass@host:port/db` (or `postgres://`).
core::Result<std::unique_ptr<Store>> open_store(const StoreOptions& options);

// Runs `fn` inside a write transaction: commits when it returns ok, rolls back otherwise.
core::Result<void> with_transaction(Store& store,
                                    const std::function<core::Result<void>(Connection&)>& fn);

// "($first, $first+1, ..., $first+n-1)": the placeholder list of an IN clause or a VALUES row.
std::string placeholder_list(size_t first, size_t n);

// Redacts the password of a URL for logs.
std::string redact_url(std::string_view url);

}  // namespace libromind::store
