#include "shop/order_service.hpp"

#include <algorithm>
#include <chrono>
#include <map>
#include <nlohmann/json.hpp>
#include <thread>

#include "catalog/importer.hpp"
#include "core/crypto.hpp"
#include "core/text.hpp"
#include "jobs/kinds.hpp"
#include "shop/cart_service.hpp"
#include "telemetry/log.hpp"

namespace libromind::shop {
namespace {

using json = nlohmann::json;
using store::Params;

// An internal signal from place(): the idempotency key already made an order.
constexpr const char* kReplaySignal = "idempotent-replay";

json address_json(const Address& a) {
  return {{"name", a.name},
          {"line1", a.line1},
          {"line2", a.line2},
          {"city", a.city},
          {"postal_code", a.postal_code},
          {"country", a.country}};
}

Address address_from_json(const std::string& text) {
  Address a;
  auto j = json::parse(text, nullptr, false);
  if (!j.is_object()) return a;
  a.name = j.value("name", "");
  a.line1 = j.value("line1", "");
  a.line2 = j.value("line2", "");
  a.city = j.value("city", "");
  a.postal_code = j.value("postal_code", "");
  a.country = j.value("country", "");
  return a;
}

// The cart as checkout saw it: books, quantities and prices, in a stable order.
std::string lines_fingerprint(const CartService::Snapshot& s) {
  std::vector<std::string> parts;
  for (const auto& l : s.lines) {
    parts.push_back(std::to_string(l.book_pk) + ":" + std::to_string(l.line.quantity) + ":" +
                    std::to_string(l.line.unit_price_cents) + ":" + l.line.currency);
  }
  std::sort(parts.begin(), parts.end());
  std::string out;
  for (const auto& p : parts) out += p + ";";
  return out;
}

core::Error conflict(std::string message, std::string type) {
  return core::Error::make(core::ErrorCode::kConflict, std::move(message), std::move(type));
}

std::string describe_short(const std::vector<std::string>& ids) {
  std::string out;
  for (const auto& id : ids) out += (out.empty() ? "" : ", ") + id;
  return out;
}

constexpr const char* kOrderColumns =
    "o.id, o.public_id, o.user_id, u.email, o.status, o.total_cents, o.currency, o.item_count, "
    "o.shipping, o.payment_provider, o.payment_reference, o.card_last4, o.created_at, "
    "o.updated_at";

Order order_from_row(const std::vector<store::Value>& r) {
  Order o;
  o.id = store::as_string(r[1]);
  o.user_id = store::as_int(r[2]);
  o.user_email = store::as_string(r[3]);
  o.status = store::as_string(r[4]);
  o.total_cents = store::as_int(r[5]);
  o.currency = store::as_string(r[6]);
  o.item_count = store::as_int(r[7]);
  o.shipping = address_from_json(store::as_string(r[8]));
  o.payment_provider = store::as_string(r[9]);
  o.payment_reference = store::as_string(r[10]);
  o.card_last4 = store::as_string(r[11]);
  o.created_at = store::as_string(r[12]);
  o.updated_at = store::as_string(r[13]);
  return o;
}

core::Result<std::string> clean_field(const std::string& value, const char* field, size_t min,
                                      size_t max) {
  std::string v(core::trim(value));
  if (auto problem = core::plain_text_problem(v, max, false)) {
    return core::Error::invalid(*problem, field);
  }
  if (core::utf8_length(v) < min) {
    return core::Error::invalid(min == 1 ? "is required" : "is too short", field);
  }
  return v;
}

}  // namespace

core::Result<Address> normalize_address(Address a) {
  LM_ASSIGN_OR_RETURN(a.name, clean_field(a.name, "shipping.name", 1, 200));
  LM_ASSIGN_OR_RETURN(a.line1, clean_field(a.line1, "shipping.line1", 1, 200));
  LM_ASSIGN_OR_RETURN(a.line2, clean_field(a.line2, "shipping.line2", 0, 200));
  LM_ASSIGN_OR_RETURN(a.city, clean_field(a.city, "shipping.city", 1, 100));
  LM_ASSIGN_OR_RETURN(a.postal_code, clean_field(a.postal_code, "shipping.postal_code", 1, 20));
  std::string c(core::trim(a.country));
  if (c.size() != 2 || !std::isalpha(static_cast<unsigned char>(c[0])) ||
      !std::isalpha(static_cast<unsigned char>(c[1]))) {
    return core::Error::invalid("must be a two-letter ISO 3166-1 country code", "shipping.country");
  }
  for (auto& ch : c) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  a.country = c;
  return a;
}

bool valid_status(std::string_view s) {
  return s == "pending" || s == "paid" || s == "shipped" || s == "delivered" || s == "cancelled";
}

bool transition_allowed(std::string_view from, std::string_view to) {
  if (from == "pending") return to == "paid" || to == "cancelled";
  if (from == "paid") return to == "shipped" || to == "cancelled";
  if (from == "shipped") return to == "delivered";
  return false;
}

OrderService::OrderService(store::Store& store, PaymentProvider& payments)
    : store_(store), payments_(payments) {}

core::Result<std::optional<Placed>> OrderService::find_by_key(store::Connection& conn,
                                                              const CheckoutRequest& req) {
  LM_ASSIGN_OR_RETURN(auto rows, conn.query("SELECT id, request_hash FROM orders WHERE user_id = "
                                            "$1 AND idempotency_key = $2",
                                            {req.user_id, req.idempotency_key}));
  if (rows.empty()) return std::optional<Placed>();
  if (store::as_string(rows.rows[0][1]) != req.fingerprint) {
    return core::Error::make(core::ErrorCode::kUnprocessable,
                             "this Idempotency-Key was already used for a different checkout "
                             "request; use a new key for a new order",
                             "idempotency-key-reused");
  }
  LM_ASSIGN_OR_RETURN(auto order, load(conn, store::as_int(rows.rows[0][0]), true));
  return std::optional<Placed>(Placed{std::move(order), true});
}

core::Result<Placed> OrderService::checkout(const CheckoutRequest& req) {
  // A retry of a checkout that already succeeded returns its order.
  {
    LM_ASSIGN_OR_RETURN(auto conn, store_.acquire(store::Access::kRead));
    LM_ASSIGN_OR_RETURN(auto existing, find_by_key(*conn, req));
    if (existing) return std::move(*existing);
  }
  auto r = attempt(req);
  if (r || r.error().code == core::ErrorCode::kUnprocessable) return r;
  // A concurrent request with the same key may have won meanwhile (and emptied the cart this
  // one then found empty): answer like a retry of it.
  LM_ASSIGN_OR_RETURN(auto conn, store_.acquire(store::Access::kRead));
  LM_ASSIGN_OR_RETURN(auto existing, find_by_key(*conn, req));
  if (existing) return std::move(*existing);
  return r;
}

core::Result<Placed> OrderService::attempt(const CheckoutRequest& req) {
  std::optional<CartService::Snapshot> snap;
  {
    LM_ASSIGN_OR_RETURN(auto conn, store_.acquire(store::Access::kRead));
    LM_ASSIGN_OR_RETURN(snap, CartService::load_user_cart(*conn, req.user_id, false));
  }
  if (!snap || snap->lines.empty()) return conflict("the cart is empty", "cart-empty");
  std::vector<CartLine> lines;
  std::vector<std::string> short_ids;
  for (const auto& l : snap->lines) {
    lines.push_back(l.line);
    if (!l.line.problem.empty()) short_ids.push_back(l.line.book_id);
  }
  Cart cart = CartService::summarize(lines);
  if (!short_ids.empty()) {
    return conflict(
        "not enough stock for: " + describe_short(short_ids) + "; the cart shows what is left",
        "out-of-stock");
  }
  if (!cart.checkout_ready) {
    return conflict("the cart holds books priced in different currencies", "mixed-currency");
  }
  if (req.expected_total_cents && *req.expected_total_cents != cart.subtotal_cents) {
    return conflict("prices changed: the total is now " + std::to_string(cart.subtotal_cents) +
                        " cents; review the cart and try again",
                    "price-changed");
  }
  const std::string fp = lines_fingerprint(*snap);

  LM_ASSIGN_OR_RETURN(auto auth,
                      payments_.authorize(req.card, cart.subtotal_cents, cart.currency,
                                          std::to_string(req.user_id) + ":" + req.idempotency_key));
  if (!auth.approved) {
    return core::Error::make(core::ErrorCode::kPaymentRequired,
                             "the card was declined (" + auth.decline_code +
                                 "); nothing was charged and the cart is unchanged",
                             "payment-declined");
  }

  core::Result<int64_t> placed = core::Error::internal("not attempted");
  for (int attempt = 0; attempt < 3; ++attempt) {
    placed = place(req, fp, auth, cart.subtotal_cents, cart.currency);
    // A deadlock victim or a dropped connection is safe to retry: the transaction rolled back,
    // and should it have committed after all, the idempotency key finds the order.
    if (placed || placed.error().code != core::ErrorCode::kUnavailable || attempt == 2) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10 * (attempt + 1)));
  }
  if (!placed) {
    (void)payments_.void_authorization(auth.reference);
    return placed.error();  // checkout() looks for a winner with the same key
  }
  LM_ASSIGN_OR_RETURN(auto conn, store_.acquire(store::Access::kRead));
  LM_ASSIGN_OR_RETURN(auto order, load(*conn, *placed, true));
  telemetry::log_info("order_placed", {{"order_id", order.id},
                                       {"user_id", order.user_id},
                                       {"total_cents", order.total_cents},
                                       {"items", order.item_count}});
  return Placed{std::move(order), false};
}

core::Result<int64_t> OrderService::place(const CheckoutRequest& req,
                                          const std::string& expected_fp, const Authorization& auth,
                                          int64_t total_cents, const std::string& currency) {
  const std::string public_id = "ord_" + core::random_token(12);
  int64_t order_pk = 0;
  LM_TRY(store::with_transaction(store_, [&](store::Connection& conn) -> core::Result<void> {
    LM_ASSIGN_OR_RETURN(auto existing, conn.query("SELECT 1 FROM orders WHERE user_id = $1 AND "
                                                  "idempotency_key = $2",
                                                  {req.user_id, req.idempotency_key}));
    if (!existing.empty()) return conflict("replay", kReplaySignal);

    // Locks the cart: an add racing this checkout waits, instead of being emptied unbought.
    LM_ASSIGN_OR_RETURN(auto snap, CartService::load_user_cart(conn, req.user_id, true));
    if (!snap || lines_fingerprint(*snap) != expected_fp) {
      return conflict("the cart changed during checkout; review it and try again", "cart-changed");
    }
    // Rows are locked in primary-key order so that two checkouts cannot deadlock each other.
    auto lines = snap->lines;
    std::sort(lines.begin(), lines.end(),
              [](const auto& a, const auto& b) { return a.book_pk < b.book_pk; });
    const std::string ts = telemetry::utc_timestamp();
    std::vector<std::string> short_ids;
    for (const auto& l : lines) {
      // Conditional decrement: the row lock plus the re-checked condition is what prevents an
      // oversell; stock is never read and then written.
      LM_ASSIGN_OR_RETURN(int64_t n, conn.exec("UPDATE books SET stock = stock - $2, "
                                               "updated_at = $3 WHERE id = $1 AND stock >= $2",
                                               {l.book_pk, l.line.quantity, ts}));
      if (n == 0) short_ids.push_back(l.line.book_id);
    }
    if (!short_ids.empty()) {
      return conflict("not enough stock for: " + describe_short(short_ids) +
                          "; nothing was charged and the cart is unchanged",
                      "out-of-stock");
    }
    int64_t item_count = 0;
    for (const auto& l : lines) item_count += l.line.quantity;
    LM_ASSIGN_OR_RETURN(
        auto ins,
        conn.query("INSERT INTO orders (public_id, user_id, status, total_cents, currency, "
                   "item_count, shipping, payment_provider, payment_reference, card_last4, "
                   "idempotency_key, request_hash, created_at, updated_at) VALUES ($1, $2, "
                   "'paid', $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12) RETURNING id",
                   {public_id, req.user_id, total_cents, currency, item_count,
                    address_json(req.shipping).dump(), payments_.name(), auth.reference,
                    req.card.last4(), req.idempotency_key, req.fingerprint, ts}));
    order_pk = store::as_int(ins.rows.at(0)[0]);
    Params lp;
    std::string values;
    int64_t pos = 0;
    for (const auto& l : snap->lines) {  // in cart order
      values += (values.empty() ? "" : ", ") + store::placeholder_list(lp.size() + 1, 7);
      lp.insert(lp.end(), {order_pk, pos++, l.book_pk, l.line.book_id, l.line.title,
                           l.line.unit_price_cents, l.line.quantity});
    }
    LM_TRY(
        conn.exec("INSERT INTO order_lines (order_id, position, book_id, book_ext_id, title, "
                  "unit_price_cents, quantity) VALUES " +
                      values,
                  lp));
    json payload = {{"order_id", public_id},
                    {"user_id", req.user_id},
                    {"total_cents", total_cents},
                    {"currency", currency}};
    LM_TRY(
        conn.exec("INSERT INTO order_events (order_id, kind, payload, created_at) VALUES ($1, "
                  "'order_placed', $2, $3)",
                  {order_pk, payload.dump(), ts}));
    LM_TRY(conn.exec("DELETE FROM cart_items WHERE cart_id = $1", {snap->cart_id}));
    // Last, so that the change-sequence row is locked for as short a time as possible.
    LM_ASSIGN_OR_RETURN(int64_t seq, catalog::next_change_seq(conn));
    Params ids{seq};
    for (const auto& l : lines) ids.push_back(l.book_pk);
    LM_TRY(conn.exec(
        "UPDATE books SET change_seq = $1 WHERE id IN " + store::placeholder_list(2, lines.size()),
        ids));
    if (emails_) LM_TRY(jobs::enqueue(conn, jobs::send_email(order_pk)));
    return core::ok();
  }));
  if (emails_ && queue_ != nullptr) queue_->notify();
  return order_pk;
}

core::Result<Order> OrderService::get_by_pk(int64_t pk) {
  LM_ASSIGN_OR_RETURN(auto conn, store_.acquire(store::Access::kRead));
  return load(*conn, pk, true);
}

core::Result<Order> OrderService::load(store::Connection& conn, int64_t pk, bool with_details) {
  LM_ASSIGN_OR_RETURN(auto rows, conn.query(std::string("SELECT ") + kOrderColumns +
                                                " FROM orders o JOIN users u ON u.id = "
                                                "o.user_id WHERE o.id = $1",
                                            {pk}));
  if (rows.empty()) return core::Error::not_found("no such order");
  Order o = order_from_row(rows.rows[0]);
  if (!with_details) return o;
  LM_ASSIGN_OR_RETURN(auto lines, conn.query("SELECT book_ext_id, title, unit_price_cents, "
                                             "quantity FROM order_lines WHERE order_id = $1 "
                                             "ORDER BY position",
                                             {pk}));
  for (const auto& r : lines.rows) {
    OrderLine l{store::as_string(r[0]), store::as_string(r[1]), store::as_int(r[2]),
                store::as_int(r[3]), 0};
    l.line_total_cents = l.unit_price_cents * l.quantity;
    o.lines.push_back(std::move(l));
  }
  LM_ASSIGN_OR_RETURN(auto events, conn.query("SELECT kind, payload, created_at FROM "
                                              "order_events WHERE order_id = $1 ORDER BY id",
                                              {pk}));
  for (const auto& r : events.rows) {
    o.events.push_back({store::as_string(r[0]), store::as_string(r[1]), store::as_string(r[2])});
  }
  return o;
}

core::Result<Order> OrderService::get(const Viewer& viewer, const std::string& id) {
  LM_ASSIGN_OR_RETURN(auto conn, store_.acquire(store::Access::kRead));
  LM_ASSIGN_OR_RETURN(auto rows,
                      conn->query("SELECT id, user_id FROM orders WHERE public_id = $1", {id}));
  // Another user's order answers exactly like a missing one.
  if (rows.empty() || (!viewer.admin && store::as_int(rows.rows[0][1]) != viewer.user_id)) {
    return core::Error::not_found("no order with id '" + id + "'");
  }
  return load(*conn, store::as_int(rows.rows[0][0]), true);
}

core::Result<OrderPage> OrderService::list(const Viewer& viewer, const OrderQuery& q) {
  std::string sql = std::string("SELECT ") + kOrderColumns +
                    " FROM orders o JOIN users u ON u.id = o.user_id WHERE 1 = 1";
  Params p;
  auto bind = [&p](store::Value v) {
    p.push_back(std::move(v));
    return "$" + std::to_string(p.size());
  };
  if (!viewer.admin) {
    sql += " AND o.user_id = " + bind(viewer.user_id);
  } else if (q.user_id) {
    sql += " AND o.user_id = " + bind(*q.user_id);
  }
  if (q.status) sql += " AND o.status = " + bind(*q.status);
  if (q.cursor) {
    auto raw = core::base64url_decode(*q.cursor);
    auto after = raw && raw->rfind("o:", 0) == 0 ? core::parse_int(raw->substr(2)) : std::nullopt;
    if (!after || *after < 1) return core::Error::invalid("cursor is not valid", "cursor");
    sql += " AND o.id < " + bind(*after);
  }
  sql += " ORDER BY o.id DESC LIMIT " + bind(static_cast<int64_t>(q.limit + 1));
  LM_ASSIGN_OR_RETURN(auto conn, store_.acquire(store::Access::kRead));
  LM_ASSIGN_OR_RETURN(auto rows, conn->query(sql, p));
  OrderPage page;
  for (size_t i = 0; i < rows.size() && i < static_cast<size_t>(q.limit); ++i) {
    page.items.push_back(order_from_row(rows.rows[i]));
  }
  if (rows.size() > static_cast<size_t>(q.limit)) {
    page.has_more = true;
    page.next_cursor = core::base64url_encode(
        "o:" + std::to_string(store::as_int(rows.rows[static_cast<size_t>(q.limit) - 1][0])));
  }
  return page;
}

core::Result<Order> OrderService::set_status(const Viewer& viewer, const std::string& id,
                                             const std::string& to) {
  if (!valid_status(to)) {
    return core::Error::invalid(
        "status must be one of pending, paid, shipped, delivered, cancelled", "status");
  }
  int64_t pk = 0;
  std::string from;
  int64_t total = 0;
  std::string reference;
  LM_TRY(store::with_transaction(store_, [&](store::Connection& conn) -> core::Result<void> {
    LM_ASSIGN_OR_RETURN(auto rows, conn.query("SELECT id, user_id, status, total_cents, "
                                              "payment_reference FROM orders WHERE public_id = $1",
                                              {id}));
    if (rows.empty() || (!viewer.admin && store::as_int(rows.rows[0][1]) != viewer.user_id)) {
      return core::Error::not_found("no order with id '" + id + "'");
    }
    pk = store::as_int(rows.rows[0][0]);
    from = store::as_string(rows.rows[0][2]);
    total = store::as_int(rows.rows[0][3]);
    reference = store::as_string(rows.rows[0][4]);
    if (!viewer.admin && to != "cancelled") {
      return core::Error::make(core::ErrorCode::kForbidden,
                               "customers can only cancel their orders", "forbidden");
    }
    if (!transition_allowed(from, to)) {
      return conflict("an order that is " + from + " cannot become " + to,
                      "invalid-status-transition");
    }
    const std::string ts = telemetry::utc_timestamp();
    // Conditional on the status read above: of two concurrent changes, one wins.
    LM_ASSIGN_OR_RETURN(int64_t n, conn.exec("UPDATE orders SET status = $2, updated_at = $3 WHERE "
                                             "id = $1 AND status = $4",
                                             {pk, to, ts, from}));
    if (n == 0) return conflict("the order changed meanwhile; reload it", "conflict");
    if (to == "cancelled") {
      LM_ASSIGN_OR_RETURN(auto lines, conn.query("SELECT book_id, quantity FROM order_lines WHERE "
                                                 "order_id = $1 AND book_id IS NOT NULL ORDER BY "
                                                 "book_id",
                                                 {pk}));
      if (!lines.empty()) {
        for (const auto& l : lines.rows) {
          LM_TRY(conn.exec("UPDATE books SET stock = stock + $2, updated_at = $3 WHERE id = $1",
                           {l[0], l[1], ts}));
        }
        LM_ASSIGN_OR_RETURN(int64_t seq, catalog::next_change_seq(conn));
        Params ids{seq};
        for (const auto& l : lines.rows) ids.push_back(l[0]);
        LM_TRY(conn.exec("UPDATE books SET change_seq = $1 WHERE id IN " +
                             store::placeholder_list(2, lines.size()),
                         ids));
      }
    }
    json payload = {{"order_id", id},
                    {"from", from},
                    {"to", to},
                    {"by", viewer.admin ? "admin" : "customer"},
                    {"by_user_id", viewer.user_id}};
    LM_TRY(
        conn.exec("INSERT INTO order_events (order_id, kind, payload, created_at) VALUES ($1, "
                  "'status_changed', $2, $3)",
                  {pk, payload.dump(), ts}));
    return core::ok();
  }));
  if (to == "cancelled" && from == "paid") {
    if (auto r = payments_.refund(reference, total); !r) {
      telemetry::log_error("payment_refund_failed",
                           {{"order_id", id}, {"error", r.error().message}});
    }
  }
  telemetry::log_info("order_status_changed", {{"order_id", id}, {"from", from}, {"to", to}});
  LM_ASSIGN_OR_RETURN(auto conn, store_.acquire(store::Access::kRead));
  return load(*conn, pk, true);
}

}  // namespace libromind::shop
