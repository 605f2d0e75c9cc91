// POST/GET /api/v1/orders, GET /api/v1/orders/{id}, POST /api/v1/orders/{id}/cancel,
// PATCH /api/v1/admin/orders/{id}.
#include <chrono>
#include <ctime>

#include "core/crypto.hpp"
#include "http/handlers/params.hpp"
#include "http/handlers/shop_routes.hpp"

namespace libromind::http {
namespace {

ojson order_json(const shop::Order& o, bool details) {
  ojson j = {{"id", o.id},
             {"status", o.status},
             {"total_cents", o.total_cents},
             {"currency", o.currency},
             {"item_count", o.item_count},
             {"user", {{"id", o.user_id}, {"email", o.user_email}}},
             {"created_at", o.created_at},
             {"updated_at", o.updated_at}};
  if (!details) return j;
  j["shipping"] = {{"name", o.shipping.name},
                   {"line1", o.shipping.line1},
                   {"line2", o.shipping.line2},
                   {"city", o.shipping.city},
                   {"postal_code", o.shipping.postal_code},
                   {"country", o.shipping.country}};
  j["payment"] = {{"provider", o.payment_provider},
                  {"reference", o.payment_reference},
                  {"card_last4", o.card_last4}};
  ojson lines = ojson::array();
  for (const auto& l : o.lines) {
    lines.push_back({{"book_id", l.book_id},
                     {"title", l.title},
                     {"unit_price_cents", l.unit_price_cents},
                     {"quantity", l.quantity},
                     {"line_total_cents", l.line_total_cents}});
  }
  j["lines"] = std::move(lines);
  ojson events = ojson::array();
  for (const auto& e : o.events) {
    auto payload = ojson::parse(e.payload, nullptr, false);
    events.push_back({{"kind", e.kind},
                      {"at", e.created_at},
                      {"details", payload.is_discarded() ? ojson::object() : payload}});
  }
  j["events"] = std::move(events);
  return j;
}

core::Error unknown_field(const std::string& name) {
  auto e = core::Error::invalid("unknown field '" + name + "'", name);
  e.type = "unknown-field";
  return e;
}

bool valid_idempotency_key(std::string_view k) {
  if (k.empty() || k.size() > 128) return false;
  for (unsigned char c : k) {
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}

core::Result<std::string> order_id_of(Request& req) {
  const std::string& id = req.path_params["id"];
  if (!valid_public_id(id)) return core::Error::not_found("no order with id '" + id + "'");
  return id;
}

core::Result<shop::CheckoutRequest> parse_checkout(const Request& req, const Principal& who) {
  const auto* key = req.header("idempotency-key");
  if (!key) {
    auto e = core::Error::invalid(
        "send an Idempotency-Key header (a new random value per order, reused on retries)",
        "Idempotency-Key");
    e.type = "idempotency-key-required";
    return e;
  }
  if (!valid_idempotency_key(*key)) {
    return core::Error::invalid("Idempotency-Key must be 1..128 printable ASCII characters",
                                "Idempotency-Key");
  }
  LM_ASSIGN_OR_RETURN(auto body, json_body(req, {"shipping", "payment", "expected_total_cents"}));
  shop::CheckoutRequest c;
  c.user_id = who.user_id;
  c.idempotency_key = *key;
  auto ship = body.find("shipping");
  if (ship == body.end() || !ship->is_object()) {
    return core::Error::invalid("shipping (an object) is required", "shipping");
  }
  for (const auto& [k, v] : ship->items()) {
    static const std::set<std::string> kAllowed{"name", "line1",       "line2",
                                                "city", "postal_code", "country"};
    if (!kAllowed.count(k)) return unknown_field("shipping." + k);
  }
  shop::Address a;
  LM_ASSIGN_OR_RETURN(a.name, required_str(*ship, "name", 1000, "shipping."));
  LM_ASSIGN_OR_RETURN(a.line1, required_str(*ship, "line1", 1000, "shipping."));
  LM_ASSIGN_OR_RETURN(auto line2, str_field(*ship, "line2", 1000, "shipping."));
  a.line2 = line2.value_or("");
  LM_ASSIGN_OR_RETURN(a.city, required_str(*ship, "city", 1000, "shipping."));
  LM_ASSIGN_OR_RETURN(a.postal_code, required_str(*ship, "postal_code", 1000, "shipping."));
  LM_ASSIGN_OR_RETURN(a.country, required_str(*ship, "country", 100, "shipping."));
  LM_ASSIGN_OR_RETURN(c.shipping, shop::normalize_address(a));

  auto pay = body.find("payment");
  if (pay == body.end() || !pay->is_object()) {
    return core::Error::invalid("payment (an object) is required", "payment");
  }
  for (const auto& [k, v] : pay->items()) {
    static const std::set<std::string> kAllowed{"card_number", "exp_month", "exp_year", "cvc"};
    if (!kAllowed.count(k)) return unknown_field("payment." + k);
  }
  shop::Card card;
  LM_ASSIGN_OR_RETURN(card.number, required_str(*pay, "card_number", 40, "payment."));
  LM_ASSIGN_OR_RETURN(auto month, int_field(*pay, "exp_month", 1, 12, "payment."));
  LM_ASSIGN_OR_RETURN(auto year, int_field(*pay, "exp_year", 2000, 2200, "payment."));
  LM_ASSIGN_OR_RETURN(card.cvc, required_str(*pay, "cvc", 8, "payment."));
  if (!month) return core::Error::invalid("payment.exp_month is required", "payment.exp_month");
  if (!year) return core::Error::invalid("payment.exp_year is required", "payment.exp_year");
  card.exp_month = *month;
  card.exp_year = *year;
  std::time_t t = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&t, &utc);
  LM_ASSIGN_OR_RETURN(c.card, shop::normalize_card(card, utc.tm_year + 1900, utc.tm_mon + 1));
  LM_ASSIGN_OR_RETURN(c.expected_total_cents,
                      int_field(body, "expected_total_cents", 0, INT64_MAX / 4));

  // The fingerprint of the request: the body as parsed (keys sorted), with the card number
  // reduced to its last four digits so that no full number is ever stored.
  nlohmann::json canonical = body;
  canonical["payment"]["card_number"] = c.card.last4();
  c.fingerprint = core::sha256_hex(canonical.dump());
  return c;
}

}  // namespace

void register_order_routes(Router& router, shop::OrderService& orders, const Authenticator& auth,
                           ShopMetrics& metrics) {
  router.add("POST", "/api/v1/orders", [&orders, &auth, &metrics](Request& req) {
    if (auto bad = reject_unknown_params(req, {})) return std::move(*bad);
    return guarded(req, [&]() -> core::Result<Response> {
      LM_ASSIGN_OR_RETURN(auto who, auth.require(req));
      LM_ASSIGN_OR_RETURN(auto checkout, parse_checkout(req, who));
      const auto started = std::chrono::steady_clock::now();
      auto result = orders.checkout(checkout);
      metrics.checkout_seconds.get().observe(
          std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
      metrics.checkouts
          .with({result ? (result->replayed ? "replayed" : "placed") : outcome(result.error())})
          .inc();
      if (!result) return result.error();
      const shop::Placed& placed = *result;
      if (!placed.replayed) {
        metrics.revenue_cents.with({placed.order.currency})
            .inc(static_cast<double>(placed.order.total_cents));
      }
      Response r = json_ok(201, order_json(placed.order, true));
      r.set_header("Location", "/api/v1/orders/" + placed.order.id);
      if (placed.replayed) r.set_header("Idempotent-Replayed", "true");
      return r;
    });
  });

  router.add("GET", "/api/v1/orders", [&orders, &auth](Request& req) {
    if (auto bad = reject_unknown_params(req, {"status", "user", "limit", "cursor"})) {
      return std::move(*bad);
    }
    return guarded(req, [&]() -> core::Result<Response> {
      LM_TRY(req.query.reject_repeated());
      LM_ASSIGN_OR_RETURN(auto who, auth.require(req));
      shop::OrderQuery q;
      LM_ASSIGN_OR_RETURN(q.status, string_param(req.query, "status", 20));
      if (q.status && !shop::valid_status(*q.status)) {
        return core::Error::invalid(
            "status must be one of pending, paid, shipped, delivered, cancelled", "status");
      }
      LM_ASSIGN_OR_RETURN(q.user_id, int_param(req.query, "user", 1, INT64_MAX));
      if (q.user_id && !who.admin()) {
        return core::Error::make(core::ErrorCode::kForbidden,
                                 "only administrators can list other users' orders", "forbidden");
      }
      LM_ASSIGN_OR_RETURN(auto limit, int_param(req.query, "limit", 1, 100));
      q.limit = static_cast<int>(limit.value_or(20));
      LM_ASSIGN_OR_RETURN(q.cursor, string_param(req.query, "cursor", 200));
      LM_ASSIGN_OR_RETURN(auto page, orders.list({who.user_id, who.admin()}, q));
      ojson items = ojson::array();
      for (const auto& o : page.items) items.push_back(order_json(o, false));
      return json_ok(
          200, {{"items", std::move(items)},
                {"has_more", page.has_more},
                {"next_cursor", page.next_cursor ? ojson(*page.next_cursor) : ojson(nullptr)}});
    });
  });

  router.add("GET", "/api/v1/orders/{id}", [&orders, &auth](Request& req) {
    if (auto bad = reject_unknown_params(req, {})) return std::move(*bad);
    return guarded(req, [&]() -> core::Result<Response> {
      LM_ASSIGN_OR_RETURN(auto who, auth.require(req));
      LM_ASSIGN_OR_RETURN(auto id, order_id_of(req));
      LM_ASSIGN_OR_RETURN(auto order, orders.get({who.user_id, who.admin()}, id));
      return json_ok(200, order_json(order, true));
    });
  });

  router.add("POST", "/api/v1/orders/{id}/cancel", [&orders, &auth, &metrics](Request& req) {
    if (auto bad = reject_unknown_params(req, {})) return std::move(*bad);
    return guarded(req, [&]() -> core::Result<Response> {
      LM_ASSIGN_OR_RETURN(auto who, auth.require(req));
      LM_ASSIGN_OR_RETURN(auto id, order_id_of(req));
      LM_ASSIGN_OR_RETURN(auto order,
                          orders.set_status({who.user_id, who.admin()}, id, "cancelled"));
      metrics.status_changes.with({"cancelled"}).inc();
      return json_ok(200, order_json(order, true));
    });
  });

  router.add("PATCH", "/api/v1/admin/orders/{id}", [&orders, &auth, &metrics](Request& req) {
    if (auto bad = reject_unknown_params(req, {})) return std::move(*bad);
    return guarded(req, [&]() -> core::Result<Response> {
      LM_ASSIGN_OR_RETURN(auto who, auth.require_admin(req));
      LM_ASSIGN_OR_RETURN(auto id, order_id_of(req));
      LM_ASSIGN_OR_RETURN(auto body, json_body(req, {"status"}));
      LM_ASSIGN_OR_RETURN(auto status, required_str(body, "status", 20));
      LM_ASSIGN_OR_RETURN(auto order, orders.set_status({who.user_id, true}, id, status));
      metrics.status_changes.with({order.status}).inc();
      return json_ok(200, order_json(order, true));
    });
  });
}

}  // namespace libromind::http
