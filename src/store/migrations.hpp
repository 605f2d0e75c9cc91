// Versioned schema migrations, one folder per dialect under src/store/migrations/, embedded in
// the binary at build time. Each migration runs in its own transaction: a failed migration
// leaves the schema as it was.
#pragma once

#include <string>
#include <vector>

#include "core/result.hpp"
#include "store/store.hpp"

namespace libromind::store {

struct EmbeddedMigration {
  const char* dialect;  // "sqlite" or "postgres"
  const char* name;     // "0001_catalog.sql"; the leading number is the version
  const char* sql;
};

const std::vector<EmbeddedMigration>& embedded_migrations();

struct MigrationStatus {
  int64_t current = 0;  // highest applied version
  int64_t latest = 0;   // highest version the binary knows
  std::vector<std::string> pending;
};

core::Result<MigrationStatus> migration_status(Store& store);

// Applies every pending migration in order; returns the names applied.
core::Result<std::vector<std::string>> migrate(Store& store);

// Applies the pending ones of `migrations` that are in the store's dialect, in version order;
// migrate() is this with embedded_migrations(). Exposed for tests.
core::Result<std::vector<std::string>> apply_migrations(
    Store& store, const std::vector<EmbeddedMigration>& migrations);

}  // namespace libromind::store
