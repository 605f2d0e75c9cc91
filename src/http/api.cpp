#include "http/api.hpp"

#include "http/handlers/catalog_handlers.hpp"
#include "http/handlers/ops_handlers.hpp"

namespace libromind::http {

void register_api_routes(Router& router, ApiServices& s) {
  std::function<bool()> search_ready;
  if (s.search) {
    search_ready = [svc = s.search] { return svc->index().lexical_ready(); };
  }
  register_ops_routes(router, s.store, s.metrics, std::move(search_ready));
  register_catalog_routes(router, s.catalog);
  register_account_routes(router, s.accounts, s.carts, s.auth, s.shop_options, s.shop_metrics);
  register_cart_routes(router, s.carts, s.auth, s.shop_options);
  register_order_routes(router, s.orders, s.auth, s.shop_metrics);
  register_feedback_routes(router, s.feedback, s.auth, s.shop_metrics);
  register_admin_catalog_routes(router, s.catalog_admin, s.catalog, s.auth);
  register_search_routes(router, s.search, *s.search_metrics, s.explainer);
  register_job_routes(router, s.jobs, s.auth);
  register_import_routes(router, s.imports, s.auth);
}

}  // namespace libromind::http
