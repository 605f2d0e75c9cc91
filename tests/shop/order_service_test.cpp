// Checkout and orders on both stores: stock goes down exactly once per order and never below
// zero, a declined card changes nothing, idempotency keys make retries safe, concurrent
// checkouts never oversell, states move only along the allowed transitions.
#include "shop/order_service.hpp"

#include <atomic>
#include <set>
#include <thread>

#include "shop/cart_service.hpp"
#include "shop_fixture.hpp"

namespace libromind::shop {
namespace {

using testing::ShopTest;

constexpr const char* kApproved = "4242424242424242";
constexpr const char* kDeclined = "4000000000000002";

class OrderServiceTest : public ShopTest {
 protected:
  void SetUp() override {
    ShopTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    carts_ = std::make_unique<CartService>(*store_);
    orders_ = std::make_unique<OrderService>(*store_, payments_);
    user_ = make_user("a@example.org");
  }
  void reset_services() override {
    orders_.reset();
    carts_.reset();
  }

  CheckoutRequest request(int64_t user, const std::string& key, const char* card = kApproved,
                          const std::string& fingerprint = "fp-1") {
    CheckoutRequest r;
    r.user_id = user;
    r.idempotency_key = key;
    r.fingerprint = fingerprint;
    r.shipping = {"Ann Reader", "1 Main St", "", "Town", "12345", "US"};
    r.card = {card, 12, 2040, "123"};
    return r;
  }

  void fill(int64_t user, const std::string& book, int64_t qty) {
    auto c = carts_->add(CartOwner{user, {}}, book, qty);
    ASSERT_TRUE(c) << c.error().message;
  }

  TestPaymentProvider payments_;
  std::unique_ptr<CartService> carts_;
  std::unique_ptr<OrderService> orders_;
  int64_t user_ = 0;
};

TEST_P(OrderServiceTest, checkout_decrements_stock_records_prices_paid_and_clears_the_cart) {
  fill(user_, "b-1", 2);
  fill(user_, "b-2", 1);
  const int64_t seq_before = scalar("SELECT change_seq FROM store_meta");
  auto placed = orders_->checkout(request(user_, "k1"));
  ASSERT_TRUE(placed) << placed.error().message;
  const Order& o = placed->order;
  EXPECT_FALSE(placed->replayed);
  EXPECT_EQ(o.status, "paid");
  EXPECT_EQ(o.total_cents, 2 * 1000 + 2500);
  EXPECT_EQ(o.item_count, 3);
  ASSERT_EQ(o.lines.size(), 2u);
  EXPECT_EQ(o.lines[0].book_id, "b-1");
  EXPECT_EQ(o.lines[0].unit_price_cents, 1000);
  EXPECT_EQ(o.card_last4, "4242");
  EXPECT_EQ(o.shipping.city, "Town");
  ASSERT_EQ(o.events.size(), 1u);
  EXPECT_EQ(o.events[0].kind, "order_placed");
  EXPECT_EQ(stock("b-1"), 8);
  EXPECT_EQ(stock("b-2"), 2);
  EXPECT_TRUE(carts_->get(CartOwner{user_, {}})->items.empty());
  // The change sequence moved and the books carry it (the search index follows it).
  const int64_t seq_after = scalar("SELECT change_seq FROM store_meta");
  EXPECT_GT(seq_after, seq_before);
  EXPECT_EQ(scalar("SELECT change_seq FROM books WHERE ext_id = 'b-1'"), seq_after);
  // The order-placed event is in the same store, for the e-mail sender.
  EXPECT_EQ(scalar("SELECT COUNT(*) FROM order_events WHERE kind = 'order_placed'"), 1);
}

TEST_P(OrderServiceTest, prices_paid_survive_later_price_changes) {
  fill(user_, "b-1", 1);
  auto placed = orders_->checkout(request(user_, "k1"));
  ASSERT_TRUE(placed);
  exec("UPDATE books SET price_cents = 9999 WHERE ext_id = 'b-1'");
  auto again = orders_->get({user_, false}, placed->order.id);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->lines[0].unit_price_cents, 1000);
  EXPECT_EQ(again->total_cents, 1000);
}

TEST_P(OrderServiceTest, declined_card_leaves_stock_and_cart_as_they_were) {
  fill(user_, "b-1", 2);
  auto r = orders_->checkout(request(user_, "k1", kDeclined));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, core::ErrorCode::kPaymentRequired);
  EXPECT_EQ(r.error().type, "payment-declined");
  EXPECT_EQ(stock("b-1"), 10);
  EXPECT_EQ(carts_->get(CartOwner{user_, {}})->items.at(0).quantity, 2);
  EXPECT_EQ(scalar("SELECT COUNT(*) FROM orders"), 0);
  // The key was not used up by the declined attempt: a good card then works with it.
  EXPECT_TRUE(orders_->checkout(request(user_, "k1", kApproved, "fp-2")));
}

TEST_P(OrderServiceTest, unavailable_payment_provider_is_retryable_and_changes_nothing) {
  fill(user_, "b-1", 1);
  auto r = orders_->checkout(request(user_, "k1", "4000000000000119"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, core::ErrorCode::kUnavailable);
  EXPECT_EQ(stock("b-1"), 10);
}

TEST_P(OrderServiceTest, same_key_and_body_return_the_same_order_once) {
  fill(user_, "b-1", 1);
  auto first = orders_->checkout(request(user_, "k1"));
  ASSERT_TRUE(first);
  auto second = orders_->checkout(request(user_, "k1"));
  ASSERT_TRUE(second) << second.error().message;
  EXPECT_TRUE(second->replayed);
  EXPECT_EQ(second->order.id, first->order.id);
  EXPECT_EQ(stock("b-1"), 9);
  EXPECT_EQ(scalar("SELECT COUNT(*) FROM orders"), 1);
}

TEST_P(OrderServiceTest, same_key_with_another_body_is_unprocessable) {
  fill(user_, "b-1", 1);
  ASSERT_TRUE(orders_->checkout(request(user_, "k1")));
  fill(user_, "b-1", 1);
  auto r = orders_->checkout(request(user_, "k1", kApproved, "fp-other"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, core::ErrorCode::kUnprocessable);
  EXPECT_EQ(r.error().type, "idempotency-key-reused");
  EXPECT_EQ(stock("b-1"), 9);
}

TEST_P(OrderServiceTest, keys_belong_to_their_user) {
  int64_t other = make_user("b@example.org");
  fill(user_, "b-1", 1);
  fill(other, "b-1", 1);
  auto a = orders_->checkout(request(user_, "same-key"));
  auto b = orders_->checkout(request(other, "same-key"));
  ASSERT_TRUE(a);
  ASSERT_TRUE(b) << b.error().message;
  EXPECT_NE(a->order.id, b->order.id);
}

TEST_P(OrderServiceTest, empty_cart_short_stock_and_price_changes_are_conflicts) {
  auto empty = orders_->checkout(request(user_, "k0"));
  ASSERT_FALSE(empty);
  EXPECT_EQ(empty.error().type, "cart-empty");

  fill(user_, "b-2", 3);
  exec("UPDATE books SET stock = 2 WHERE ext_id = 'b-2'");
  auto short_stock = orders_->checkout(request(user_, "k1"));
  ASSERT_FALSE(short_stock);
  EXPECT_EQ(short_stock.error().type, "out-of-stock");
  EXPECT_EQ(stock("b-2"), 2);

  exec("UPDATE books SET stock = 3 WHERE ext_id = 'b-2'");
  auto req = request(user_, "k2");
  req.expected_total_cents = 1;
  auto changed = orders_->checkout(req);
  ASSERT_FALSE(changed);
  EXPECT_EQ(changed.error().type, "price-changed");
  req.expected_total_cents = 7500;
  EXPECT_TRUE(orders_->checkout(req));
}

TEST_P(OrderServiceTest, mixed_currencies_cannot_check_out) {
  fill(user_, "b-1", 1);
  fill(user_, "b-4", 1);
  auto r = orders_->checkout(request(user_, "k1"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().type, "mixed-currency");
}

TEST_P(OrderServiceTest, fifty_concurrent_checkouts_for_ten_copies_make_exactly_ten_orders) {
  std::vector<int64_t> users;
  for (int i = 0; i < 50; ++i) {
    users.push_back(make_user("racer" + std::to_string(i) + "@example.org"));
    fill(users.back(), "b-1", 1);
  }
  ASSERT_EQ(stock("b-1"), 10);
  std::atomic<int> ok{0}, out_of_stock{0}, other{0};
  std::vector<std::thread> threads;
  for (int64_t u : users) {
    threads.emplace_back([&, u] {
      auto r = orders_->checkout(request(u, "race"));
      if (r) {
        ++ok;
      } else if (r.error().type == "out-of-stock") {
        ++out_of_stock;
      } else {
        ++other;
        ADD_FAILURE() << r.error().message;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 10);
  EXPECT_EQ(out_of_stock.load(), 40);
  EXPECT_EQ(other.load(), 0);
  EXPECT_EQ(stock("b-1"), 0);
  EXPECT_EQ(scalar("SELECT COUNT(*) FROM orders"), 10);
  EXPECT_EQ(scalar("SELECT COALESCE(SUM(quantity), 0) FROM order_lines"), 10);
}

TEST_P(OrderServiceTest, the_same_key_sent_concurrently_makes_one_order) {
  fill(user_, "b-1", 1);
  std::vector<std::string> ids(10);
  std::atomic<int> failed{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 10; ++i) {
    threads.emplace_back([&, i] {
      auto r = orders_->checkout(request(user_, "once"));
      if (r) {
        ids[static_cast<size_t>(i)] = r->order.id;
      } else {
        ++failed;
      }
    });
  }
  for (auto& t : threads) t.join();
  std::set<std::string> distinct;
  for (const auto& id : ids) {
    if (!id.empty()) distinct.insert(id);
  }
  EXPECT_EQ(distinct.size(), 1u);
  EXPECT_EQ(failed.load(), 0) << "every retry returns the order";
  EXPECT_EQ(scalar("SELECT COUNT(*) FROM orders"), 1);
  EXPECT_EQ(stock("b-1"), 9);
}

TEST_P(OrderServiceTest, customers_see_only_their_orders_and_admins_see_all) {
  int64_t other = make_user("b@example.org");
  fill(user_, "b-1", 1);
  fill(other, "b-1", 1);
  auto mine = orders_->checkout(request(user_, "k1"));
  auto theirs = orders_->checkout(request(other, "k1"));
  ASSERT_TRUE(mine && theirs);
  auto not_mine = orders_->get({user_, false}, theirs->order.id);
  ASSERT_FALSE(not_mine);
  EXPECT_EQ(not_mine.error().code, core::ErrorCode::kNotFound);
  EXPECT_EQ(not_mine.error().message, "no order with id '" + theirs->order.id + "'")
      << "another user's order reads like a missing one";
  EXPECT_EQ(orders_->get({user_, false}, "ord_nope").error().code, core::ErrorCode::kNotFound);
  auto list = orders_->list({user_, false}, {});
  ASSERT_TRUE(list);
  ASSERT_EQ(list->items.size(), 1u);
  EXPECT_EQ(list->items[0].id, mine->order.id);
  auto all = orders_->list({999, true}, {});
  ASSERT_TRUE(all);
  EXPECT_EQ(all->items.size(), 2u);
  OrderQuery q;
  q.user_id = other;
  EXPECT_EQ(orders_->list({999, true}, q)->items.at(0).id, theirs->order.id);
}

TEST_P(OrderServiceTest, order_lists_page_newest_first) {
  for (int i = 0; i < 5; ++i) {
    fill(user_, "b-5", 1);
    ASSERT_TRUE(orders_->checkout(request(user_, "k" + std::to_string(i))));
  }
  OrderQuery q;
  q.limit = 2;
  std::vector<std::string> seen;
  for (int page = 0; page < 5; ++page) {
    auto p = orders_->list({user_, false}, q);
    ASSERT_TRUE(p) << p.error().message;
    for (const auto& o : p->items) seen.push_back(o.created_at + o.id);
    if (!p->has_more) break;
    q.cursor = p->next_cursor;
  }
  EXPECT_EQ(seen.size(), 5u);
  q.cursor = "garbage";
  EXPECT_EQ(orders_->list({user_, false}, q).error().code, core::ErrorCode::kInvalidArgument);
}

TEST_P(OrderServiceTest, cancelling_restocks_and_customers_may_only_cancel) {
  fill(user_, "b-1", 3);
  auto placed = orders_->checkout(request(user_, "k1"));
  ASSERT_TRUE(placed);
  EXPECT_EQ(stock("b-1"), 7);
  auto ship = orders_->set_status({user_, false}, placed->order.id, "shipped");
  ASSERT_FALSE(ship);
  EXPECT_EQ(ship.error().code, core::ErrorCode::kForbidden);
  auto cancelled = orders_->set_status({user_, false}, placed->order.id, "cancelled");
  ASSERT_TRUE(cancelled) << cancelled.error().message;
  EXPECT_EQ(cancelled->status, "cancelled");
  EXPECT_EQ(stock("b-1"), 10);
  ASSERT_EQ(cancelled->events.size(), 2u);
  EXPECT_EQ(cancelled->events[1].kind, "status_changed");
  // Cancelling twice does not restock twice.
  EXPECT_FALSE(orders_->set_status({user_, false}, placed->order.id, "cancelled"));
  EXPECT_EQ(stock("b-1"), 10);
}

TEST_P(OrderServiceTest, admins_move_orders_along_the_allowed_transitions_only) {
  int64_t admin = make_user("admin@example.org", "admin");
  fill(user_, "b-1", 1);
  auto placed = orders_->checkout(request(user_, "k1"));
  ASSERT_TRUE(placed);
  const Viewer a{admin, true};
  EXPECT_TRUE(orders_->set_status(a, placed->order.id, "shipped"));
  auto back = orders_->set_status(a, placed->order.id, "paid");
  ASSERT_FALSE(back);
  EXPECT_EQ(back.error().type, "invalid-status-transition");
  EXPECT_FALSE(orders_->set_status(a, placed->order.id, "cancelled")) << "shipped is final-ish";
  EXPECT_TRUE(orders_->set_status(a, placed->order.id, "delivered"));
  EXPECT_FALSE(orders_->set_status(a, placed->order.id, "bogus"));
  EXPECT_EQ(orders_->set_status(a, "ord_missing", "paid").error().code, core::ErrorCode::kNotFound);
}

TEST(OrderTransitions, follow_the_documented_state_machine) {
  EXPECT_TRUE(transition_allowed("pending", "paid"));
  EXPECT_TRUE(transition_allowed("pending", "cancelled"));
  EXPECT_TRUE(transition_allowed("paid", "shipped"));
  EXPECT_TRUE(transition_allowed("paid", "cancelled"));
  EXPECT_TRUE(transition_allowed("shipped", "delivered"));
  EXPECT_FALSE(transition_allowed("shipped", "cancelled"));
  EXPECT_FALSE(transition_allowed("delivered", "paid"));
  EXPECT_FALSE(transition_allowed("cancelled", "paid"));
  EXPECT_FALSE(transition_allowed("paid", "paid"));
}

TEST(Cards, are_checked_by_luhn_expiry_and_cvc) {
  EXPECT_TRUE(normalize_card({"4242 4242-4242 4242", 1, 2030, "123"}, 2026, 12));
  EXPECT_EQ(normalize_card({"4242 4242-4242 4242", 1, 2030, "123"}, 2026, 12)->number,
            "4242424242424242");
  EXPECT_FALSE(normalize_card({"4242424242424241", 1, 2030, "123"}, 2026, 12));
  EXPECT_FALSE(normalize_card({"42424242x2424242", 1, 2030, "123"}, 2026, 12));
  EXPECT_FALSE(normalize_card({"4242424242424242", 11, 2026, "123"}, 2026, 12));
  EXPECT_TRUE(normalize_card({"4242424242424242", 12, 2026, "123"}, 2026, 12));
  EXPECT_FALSE(normalize_card({"4242424242424242", 13, 2030, "123"}, 2026, 12));
  EXPECT_FALSE(normalize_card({"4242424242424242", 1, 2030, "12"}, 2026, 12));
  EXPECT_FALSE(normalize_card({"4242424242424242", 1, 2030, "12a"}, 2026, 12));
}

TEST(Addresses, are_trimmed_checked_and_the_country_upper_cased) {
  auto a = normalize_address({" Ann ", "1 Main St", "", "Town", "123", "gb"});
  ASSERT_TRUE(a);
  EXPECT_EQ(a->name, "Ann");
  EXPECT_EQ(a->country, "GB");
  EXPECT_FALSE(normalize_address({"", "1 Main St", "", "Town", "123", "GB"}));
  EXPECT_FALSE(normalize_address({"Ann", "1 Main\nSt", "", "Town", "123", "GB"}));
  EXPECT_FALSE(normalize_address({"Ann", "1 Main St", "", "Town", "123", "GBR"}));
  EXPECT_FALSE(normalize_address({"Ann", "1 Main St", "", std::string(101, 'x'), "123", "GB"}));
}

INSTANTIATE_TEST_SUITE_P(Stores, OrderServiceTest, store::testing::all_backends(),
                         store::testing::backend_test_name);

}  // namespace
}  // namespace libromind::shop
