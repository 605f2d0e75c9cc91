// Checkout and orders. A checkout authorizes the payment, then in one transaction re-reads the
// cart, decrements stock with conditional updates (never below zero, on either store), writes
// the order with the prices paid, records the `order_placed` event (the outbox of the order
// e-mail), clears the cart and moves the change sequence. Anything that goes wrong before the
// commit voids the authorization and leaves stock and cart as they were. An idempotency key
// makes a retried checkout return the order it already made.
//
//   shop::OrderService orders(store, payments);
//   LM_ASSIGN_OR_RETURN(auto placed, orders.checkout(request));  // placed.replayed on a retry
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/result.hpp"
#include "jobs/queue.hpp"
#include "shop/payment.hpp"
#include "store/store.hpp"

namespace libromind::shop {

struct Address {
  std::string name;
  std::string line1;
  std::string line2;
  std::string city;
  std::string postal_code;
  std::string country;  // ISO 3166-1 alpha-2, upper case
};

// Each field trimmed, valid UTF-8 without control characters, within its length; country two
// letters. Errors name the field ("shipping.city").
core::Result<Address> normalize_address(Address address);

struct CheckoutRequest {
  int64_t user_id = 0;
  std::string idempotency_key;  // 1..128 printable ASCII characters
  std::string fingerprint;      // a hash of the request body: same key + other body -> 422
  Address shipping;
  Card card;  // normalized
  std::optional<int64_t> expected_total_cents;
};

struct OrderLine {
  std::string book_id;
  std::string title;
  int64_t unit_price_cents = 0;
  int64_t quantity = 0;
  int64_t line_total_cents = 0;
};

struct OrderEvent {
  std::string kind;     // order_placed, status_changed
  std::string payload;  // JSON
  std::string created_at;
};

struct Order {
  std::string id;  // public id ("ord_...")
  int64_t user_id = 0;
  std::string user_email;
  std::string status;
  int64_t total_cents = 0;
  std::string currency;
  int64_t item_count = 0;
  Address shipping;
  std::string payment_provider;
  std::string payment_reference;
  std::string card_last4;
  std::vector<OrderLine> lines;
  std::vector<OrderEvent> events;
  std::string created_at;
  std::string updated_at;
};

struct Placed {
  Order order;
  bool replayed = false;  // the idempotency key had made this order before
};

// Who is looking: customers see their own orders, admins see all.
struct Viewer {
  int64_t user_id = 0;
  bool admin = false;
};

struct OrderPage {
  std::vector<Order> items;  // without lines and events
  bool has_more = false;
  std::optional<std::string> next_cursor;
};

struct OrderQuery {
  std::optional<std::string> status;
  std::optional<int64_t> user_id;  // admins only
  int limit = 20;
  std::optional<std::string> cursor;
};

bool valid_status(std::string_view s);
// pending -> paid | cancelled; paid -> shipped | cancelled; shipped -> delivered.
bool transition_allowed(std::string_view from, std::string_view to);

class OrderService {
 public:
  OrderService(store::Store& store, PaymentProvider& payments);

  core::Result<Placed> checkout(const CheckoutRequest& request);
  // Unknown ids and other users' orders are both "not found".
  core::Result<Order> get(const Viewer& viewer, const std::string& id);
  core::Result<OrderPage> list(const Viewer& viewer, const OrderQuery& query);
  // A customer may cancel their own order while it is pending or paid; an admin may move any
  // order along transition_allowed(). Cancelling restocks and refunds.
  core::Result<Order> set_status(const Viewer& viewer, const std::string& id,
                                 const std::string& status);
  // The order by its internal id, with lines and events (for jobs; no viewer check).
  core::Result<Order> get_by_pk(int64_t pk);
  // From now on every new order enqueues its confirmation e-mail (send_email) in its own
  // transaction; `queue` is woken after the commit.
  void enable_confirmation_emails(jobs::Queue* queue) {
    emails_ = true;
    queue_ = queue;
  }

 private:
  core::Result<Placed> attempt(const CheckoutRequest& request);
  core::Result<std::optional<Placed>> find_by_key(store::Connection& conn,
                                                  const CheckoutRequest& req);
  core::Result<Order> load(store::Connection& conn, int64_t pk, bool with_details);
  // Writes the order in one transaction; returns its internal id.
  core::Result<int64_t> place(const CheckoutRequest& req, const std::string& fingerprint_lines,
                              const Authorization& auth, int64_t total_cents,
                              const std::string& currency);

  store::Store& store_;
  PaymentProvider& payments_;
  bool emails_ = false;
  jobs::Queue* queue_ = nullptr;
};

}  // namespace libromind::shop
