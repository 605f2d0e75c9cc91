#include "http/handlers/shop_routes.hpp"

namespace libromind::http {

ShopMetrics::ShopMetrics(telemetry::Registry& r)
    : registrations(r.counter("libromind_auth_registrations_total",
                              "Account registrations by result (ok or problem type)", {"result"})),
      logins(r.counter("libromind_auth_logins_total",
                       "Logins by result (ok, invalid-credentials, login-throttled, ...)",
                       {"result"})),
      refreshes(r.counter("libromind_auth_refreshes_total",
                          "Refresh-token exchanges by result (refresh-token-reused: a copied "
                          "token was replayed and its session revoked)",
                          {"result"})),
      checkouts(r.counter("libromind_shop_checkouts_total",
                          "Checkouts by result (placed, replayed, or the problem type)",
                          {"result"})),
      checkout_seconds(r.histogram("libromind_shop_checkout_duration_seconds",
                                   "Time to place an order, payment included", {},
                                   {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5})),
      revenue_cents(r.counter("libromind_shop_revenue_cents_total",
                              "Order totals placed, in minor units", {"currency"})),
      status_changes(r.counter("libromind_shop_order_status_changes_total",
                               "Order state changes by new state", {"status"})),
      votes(r.counter("libromind_feedback_votes_total", "Feedback votes cast or changed",
                      {"vote"})) {}

std::string outcome(const core::Error& e) {
  return e.type.empty() ? core::to_string(e.code) : e.type;
}

}  // namespace libromind::http
