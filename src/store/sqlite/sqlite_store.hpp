// The SQLite store: one file in WAL mode, a single writer connection and a small pool of
// read-only reader connections, with prepared statements cached per connection.
// Created through store::open_store("sqlite://path.db").
#pragma once

#include <memory>
#include <string>

#include "core/result.hpp"
#include "store/store.hpp"

namespace libromind::store {

// Opens (creating if needed, with its parent directory) the SQLite database at `path`.
core::Result<std::unique_ptr<Store>> open_sqlite_store(const std::string& path,
                                                       const StoreOptions& options);

}  // namespace libromind::store
