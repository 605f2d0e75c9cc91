#include "store/migrations.hpp"

#include <algorithm>
#include <ctime>
#include <set>
#include <string>
#include <string_view>

namespace libromind::store {

namespace {

// Key of the PostgreSQL advisory lock that serialises migrators ("LM_MIGRT").
constexpr int64_t kMigrationLockKey = 0x4C4D5F4D49475254;

constexpr std::string_view kCreateMigrationsTable =
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    "version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)";

struct Migration {
  int64_t version = 0;
  std::string name;
  const char* sql = nullptr;
};

const char* dialect_folder(Dialect dialect) {
  return dialect == Dialect::kSqlite ? "sqlite" : "postgres";
}

std::string utc_now() {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string strip_store_prefix(std::string message) {
  constexpr std::string_view kPrefix = "store: ";
  if (message.compare(0, kPrefix.size(), kPrefix) == 0) message.erase(0, kPrefix.size());
  return message;
}

// The migrations of `dialect`, in version order.
core::Result<std::vector<Migration>> migrations_for(
    Dialect dialect, const std::vector<EmbeddedMigration>& migrations) {
  std::vector<Migration> out;
  std::string_view folder = dialect_folder(dialect);
  for (const EmbeddedMigration& m : migrations) {
    if (folder != m.dialect) continue;
    std::string_view name = m.name;
    size_t digits = name.find_first_not_of("0123456789");
    if (digits == 0 || digits == std::string_view::npos || digits > 18) {
      return core::Error::internal("migration " + std::string(name) +
                                   ": the file name must start with its version number");
    }
    out.push_back({std::stoll(std::string(name.substr(0, digits))), std::string(name), m.sql});
  }
  std::sort(out.begin(), out.end(),
            [](const Migration& a, const Migration& b) { return a.version < b.version; });
  for (size_t i = 1; i < out.size(); ++i) {
    if (out[i].version == out[i - 1].version) {
      return core::Error::internal("migrations " + out[i - 1].name + " and " + out[i].name +
                                   " have the same version");
    }
  }
  return out;
}

// Serialises migrators across processes until the end of the transaction (PostgreSQL; on
// SQLite, BEGIN IMMEDIATE already holds the database's write lock).
core::Result<void> lock_migrations(Connection& conn) {
  if (conn.dialect() != Dialect::kPostgres) return core::ok();
  LM_TRY(conn.exec("SELECT pg_advisory_xact_lock(" + std::to_string(kMigrationLockKey) + ")"));
  return core::ok();
}

core::Result<bool> migrations_table_exists(Connection& conn) {
  std::string_view sql =
      conn.dialect() == Dialect::kSqlite
          ? "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'"
          : "SELECT 1 WHERE to_regclass('schema_migrations') IS NOT NULL";
  LM_ASSIGN_OR_RETURN(Rows rows, conn.query(sql));
  return !rows.empty();
}

core::Result<std::set<int64_t>> applied_versions(Store& store) {
  LM_ASSIGN_OR_RETURN(ConnectionHandle conn, store.acquire(Access::kRead));
  LM_ASSIGN_OR_RETURN(bool exists, migrations_table_exists(*conn));
  std::set<int64_t> out;
  if (!exists) return out;
  LM_ASSIGN_OR_RETURN(Rows rows, conn->query("SELECT version FROM schema_migrations"));
  for (const auto& row : rows.rows) out.insert(as_int(row.at(0)));
  return out;
}

}  // namespace

core::Result<MigrationStatus> migration_status(Store& store) {
  LM_ASSIGN_OR_RETURN(std::vector<Migration> known,
                      migrations_for(store.dialect(), embedded_migrations()));
  LM_ASSIGN_OR_RETURN(std::set<int64_t> applied, applied_versions(store));
  MigrationStatus status;
  if (!applied.empty()) status.current = *applied.rbegin();
  if (!known.empty()) status.latest = known.back().version;
  for (const Migration& m : known) {
    if (!applied.contains(m.version)) status.pending.push_back(m.name);
  }
  return status;
}

core::Result<std::vector<std::string>> migrate(Store& store) {
  return apply_migrations(store, embedded_migrations());
}

core::Result<std::vector<std::string>> apply_migrations(
    Store& store, const std::vector<EmbeddedMigration>& migrations) {
  LM_ASSIGN_OR_RETURN(std::vector<Migration> known, migrations_for(store.dialect(), migrations));
  LM_TRY(with_transaction(store, [](Connection& conn) -> core::Result<void> {
    LM_TRY(lock_migrations(conn));
    return conn.exec_script(kCreateMigrationsTable);
  }));
  LM_ASSIGN_OR_RETURN(std::set<int64_t> applied, applied_versions(store));

  std::vector<std::string> names;
  for (const Migration& m : known) {
    if (applied.contains(m.version)) continue;
    bool applied_here = false;
    core::Result<void> r = with_transaction(store, [&](Connection& conn) -> core::Result<void> {
      LM_TRY(lock_migrations(conn));
      // Another replica may have applied it while we waited for the lock.
      LM_ASSIGN_OR_RETURN(
          Rows done,
          conn.query("SELECT 1 FROM schema_migrations WHERE version = $1", {Value{m.version}}));
      if (!done.empty()) return core::ok();
      LM_TRY(conn.exec_script(m.sql));
      LM_TRY(
          conn.exec("INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
                    {Value{m.version}, Value{m.name}, Value{utc_now()}}));
      applied_here = true;
      return core::ok();
    });
    if (!r) {
      core::Error e = r.error();
      e.message = "migration " + m.name + " failed: " + strip_store_prefix(e.message);
      return e;
    }
    if (applied_here) names.push_back(m.name);
  }
  return names;
}

}  // namespace libromind::store
