// Catalogue routes: translate HTTP to CatalogService calls and results back to JSON.
#pragma once

#include "catalog/catalog_service.hpp"
#include "http/router.hpp"

namespace libromind::http {

void register_catalog_routes(Router& router, catalog::CatalogService& catalog);

}  // namespace libromind::http
