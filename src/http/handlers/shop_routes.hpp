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

namespace libromind::http {

struct ShopRouteOptions {
  std::set<std::string> trusted_proxies;  // peers whose X-Forwarded-For is believed
  bool secure_cookies = false;            // mark the cart cookie Secure (behind HTTPS)
};

void register_account_routes(Router& router, accounts::AccountService& accounts,
                             shop::CartService& carts, const Authenticator& auth,
                             const ShopRouteOptions& options);
void register_cart_routes(Router& router, shop::CartService& carts, const Authenticator& auth,
                          const ShopRouteOptions& options);
void register_order_routes(Router& router, shop::OrderService& orders, const Authenticator& auth);
void register_feedback_routes(Router& router, feedback::FeedbackService& feedback,
                              const Authenticator& auth);
void register_admin_catalog_routes(Router& router, catalog::CatalogAdmin& admin,
                                   catalog::CatalogService& catalog, const Authenticator& auth);

// The cart token a request carries: the X-Cart-Token header, else the lm_cart cookie.
std::optional<std::string> cart_token(const Request& req);

}  // namespace libromind::http
