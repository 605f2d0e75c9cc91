// Routes of the shop: accounts (auth, me), cart, orders, feedback, and the admin catalogue.
// Each feature's handlers live in their own file and only translate HTTP to calls of the
// feature's service and back.
#pragma once

#include <set>
#include <string>

#include "accounts/account_service.hpp"
#include "catalog/catalog_admin.hpp"
#include "catalog/catalog_service.hpp"
#include "feedback/feedback_service.hpp"
#include "http/handlers/common.hpp"
#include "http/router.hpp"
#include "shop/cart_service.hpp"
#include "shop/order_service.hpp"
#include "telemetry/metrics.hpp"

namespace libromind::http {

// What an operator asks about the shop: sign-ins and their failures, refresh-token reuse
// (stolen tokens), checkouts by outcome, revenue, order state changes, feedback votes.
struct ShopMetrics {
  explicit ShopMetrics(telemetry::Registry& r);
  telemetry::Family<telemetry::Counter>& registrations;
  telemetry::Family<telemetry::Counter>& logins;
  telemetry::Family<telemetry::Counter>& refreshes;
  telemetry::Family<telemetry::Counter>& checkouts;
  telemetry::Family<telemetry::Histogram>& checkout_seconds;
  telemetry::Family<telemetry::Counter>& revenue_cents;
  telemetry::Family<telemetry::Counter>& status_changes;
  telemetry::Family<telemetry::Counter>& votes;
};

// The outcome label of a call: "ok", or the error's problem type (a fixed set).
std::string outcome(const core::Error& e);

struct ShopRouteOptions {
  std::set<std::string> trusted_proxies;  // peers whose X-Forwarded-For is believed
  bool secure_cookies = false;            // mark the cart cookie Secure (behind HTTPS)
};

void register_account_routes(Router& router, accounts::AccountService& accounts,
                             shop::CartService& carts, const Authenticator& auth,
                             const ShopRouteOptions& options, ShopMetrics& metrics);
void register_cart_routes(Router& router, shop::CartService& carts, const Authenticator& auth,
                          const ShopRouteOptions& options);
void register_order_routes(Router& router, shop::OrderService& orders, const Authenticator& auth,
                           ShopMetrics& metrics);
void register_feedback_routes(Router& router, feedback::FeedbackService& feedback,
                              const Authenticator& auth, ShopMetrics& metrics);
void register_admin_catalog_routes(Router& router, catalog::CatalogAdmin& admin,
                                   catalog::CatalogService& catalog, const Authenticator& auth);

// The cart token a request carries: the X-Cart-Token header, else the lm_cart cookie.
std::optional<std::string> cart_token(const Request& req);

}  // namespace libromind::http
