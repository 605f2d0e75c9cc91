// Catalogue routes: translate HTTP to CatalogService calls and results back to JSON.
#pragma once

#include <nlohmann/json.hpp>

#include "catalog/catalog_service.hpp"
#include "http/router.hpp"

namespace libromind::http {

// A public book id in a path: 1..100 characters of A-Z a-z 0-9 . _ : -
bool valid_book_id(std::string_view id);

// A book as the API shows it (details included when the book was read with get_book).
nlohmann::ordered_json book_json(const catalog::Book& book);

void register_catalog_routes(Router& router, catalog::CatalogService& catalog);

}  // namespace libromind::http
