// Bulk catalogue uploads (admins only):
//   POST /api/v1/admin/imports           the file as the body (JSONL or CSV, up to 50 MB,
//                                        streamed to disk) -> 202 with the import
//   GET  /api/v1/admin/imports           newest first
//   GET  /api/v1/admin/imports/{id}      state, rows, embeddings, the first 1,000 row errors
//   GET  /api/v1/admin/imports/{id}/events  the same as Server-Sent Events until it is complete
#pragma once

#include "catalog/imports.hpp"
#include "http/handlers/common.hpp"
#include "http/router.hpp"
#include "http/server.hpp"

namespace libromind::http {

inline constexpr const char* kImportsPath = "/api/v1/admin/imports";

// `imports` null: the routes answer 503.
void register_import_routes(Router& router, catalog::Imports* imports, const Authenticator& auth);

// The server's upload route for POST /api/v1/admin/imports: its body is streamed to a file,
// and only an admin's body is read at all.
UploadRoute import_upload_route(const Authenticator& auth, size_t max_bytes);

}  // namespace libromind::http
