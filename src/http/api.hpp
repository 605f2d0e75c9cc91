// Every route of the service, registered in one place (the server and the contract test use
// the same list, so the spec check covers exactly what is served).
#pragma once

#include "http/handlers/imports_routes.hpp"
#include "http/handlers/jobs_routes.hpp"
#include "http/handlers/search_routes.hpp"
#include "http/handlers/shop_routes.hpp"
#include "http/router.hpp"
#include "store/store.hpp"
#include "telemetry/metrics.hpp"

namespace libromind::http {

struct ApiServices {
  store::Store& store;
  telemetry::Registry& metrics;
  catalog::CatalogService& catalog;
  catalog::CatalogAdmin& catalog_admin;
  accounts::AccountService& accounts;
  shop::CartService& carts;
  shop::OrderService& orders;
  feedback::FeedbackService& feedback;
  const Authenticator& auth;
  ShopMetrics& shop_metrics;  // must outlive the router
  ShopRouteOptions shop_options;
  search::SearchService* search = nullptr;  // null: the search routes answer 503
  SearchMetrics* search_metrics = nullptr;  // required; must outlive the router
  search::Explainer* explainer = nullptr;   // null: recommendations explain nothing
  jobs::Queue* jobs = nullptr;              // null: the admin job routes answer 503
  catalog::Imports* imports = nullptr;      // null: the import routes answer 503
};

void register_api_routes(Router& router, ApiServices& s);

}  // namespace libromind::http
