// The PostgreSQL store over raw libpq: a lazily grown pool of connections that reconnects after
// the server restarts. Created through store::open_store("postgresql://...").
#pragma once

#include <memory>

#include "core/result.hpp"
#include "store/store.hpp"

namespace libromind::store {

// Validates `options.url` (passed to libpq as is); connections are opened on first use.
core::Result<std::unique_ptr<Store>> open_postgres_store(const StoreOptions& options);

}  // namespace libromind::store
