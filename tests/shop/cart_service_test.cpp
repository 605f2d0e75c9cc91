// Carts on both stores: adding twice adds up, setting a quantity is idempotent, limits hold,
// current prices and stock show, flagged lines stay, anonymous carts merge at login.
#include "shop/cart_service.hpp"

#include "shop_fixture.hpp"

namespace libromind::shop {
namespace {

using testing::ShopTest;

class CartServiceTest : public ShopTest {
 protected:
  void SetUp() override {
    ShopTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    carts_ = std::make_unique<CartService>(*store_);
    user_ = make_user("a@example.org");
  }
  void reset_services() override { carts_.reset(); }

  Cart must(core::Result<Cart> r) {
    EXPECT_TRUE(r) << (r ? "" : r.error().message);
    return r ? *r : Cart{};
  }

  CartOwner me() const { return CartOwner{user_, {}}; }

  std::unique_ptr<CartService> carts_;
  int64_t user_ = 0;
};

TEST_P(CartServiceTest, adding_a_book_twice_increases_its_quantity) {
  must(carts_->add(me(), "b-1", 2));
  Cart c = must(carts_->add(me(), "b-1", 3));
  ASSERT_EQ(c.items.size(), 1u);
  EXPECT_EQ(c.items[0].quantity, 5);
  EXPECT_EQ(c.items[0].line_total_cents, 5000);
  EXPECT_EQ(c.subtotal_cents, 5000);
  EXPECT_EQ(c.item_count, 5);
  EXPECT_TRUE(c.checkout_ready);
}

TEST_P(CartServiceTest, setting_a_quantity_is_idempotent) {
  must(carts_->set_quantity(me(), "b-1", 4));
  Cart c = must(carts_->set_quantity(me(), "b-1", 4));
  ASSERT_EQ(c.items.size(), 1u);
  EXPECT_EQ(c.items[0].quantity, 4);
  c = must(carts_->set_quantity(me(), "b-1", 1));
  EXPECT_EQ(c.items[0].quantity, 1);
}

TEST_P(CartServiceTest, quantities_stay_within_1_to_99_and_the_stock) {
  EXPECT_EQ(carts_->add(me(), "b-5", 0).error().code, core::ErrorCode::kInvalidArgument);
  EXPECT_EQ(carts_->add(me(), "b-5", 100).error().code, core::ErrorCode::kInvalidArgument);
  must(carts_->add(me(), "b-5", 60));
  auto over = carts_->add(me(), "b-5", 40);
  ASSERT_FALSE(over);
  EXPECT_EQ(over.error().type, "quantity-limit");
  auto short_stock = carts_->add(me(), "b-2", 4);
  ASSERT_FALSE(short_stock);
  EXPECT_EQ(short_stock.error().type, "out-of-stock");
  EXPECT_EQ(carts_->add(me(), "b-3", 1).error().type, "out-of-stock");
  // Nothing of the refused adds was written.
  Cart c = must(carts_->get(me()));
  ASSERT_EQ(c.items.size(), 1u);
  EXPECT_EQ(c.items[0].quantity, 60);
}

TEST_P(CartServiceTest, unknown_books_are_not_found) {
  EXPECT_EQ(carts_->add(me(), "nope", 1).error().code, core::ErrorCode::kNotFound);
  EXPECT_EQ(carts_->remove(me(), "b-1").error().code, core::ErrorCode::kNotFound);
}

TEST_P(CartServiceTest, remove_and_clear) {
  must(carts_->add(me(), "b-1", 1));
  must(carts_->add(me(), "b-2", 1));
  Cart c = must(carts_->remove(me(), "b-1"));
  ASSERT_EQ(c.items.size(), 1u);
  EXPECT_EQ(c.items[0].book_id, "b-2");
  c = must(carts_->clear(me()));
  EXPECT_TRUE(c.items.empty());
  EXPECT_FALSE(c.checkout_ready);
}

TEST_P(CartServiceTest, shows_current_prices_and_flags_lines_that_lost_their_stock) {
  must(carts_->add(me(), "b-1", 2));
  must(carts_->add(me(), "b-2", 3));
  exec("UPDATE books SET price_cents = 1100 WHERE ext_id = 'b-1'");
  exec("UPDATE books SET stock = 1 WHERE ext_id = 'b-2'");
  Cart c = must(carts_->get(me()));
  ASSERT_EQ(c.items.size(), 2u);
  EXPECT_EQ(c.items[0].unit_price_cents, 1100);
  EXPECT_EQ(c.items[1].problem, "insufficient_stock");
  EXPECT_EQ(c.items[1].stock, 1);
  EXPECT_FALSE(c.checkout_ready);
  exec("UPDATE books SET stock = 0 WHERE ext_id = 'b-2'");
  c = must(carts_->get(me()));
  ASSERT_EQ(c.items.size(), 2u) << "a sold-out line is flagged, not dropped";
  EXPECT_EQ(c.items[1].problem, "out_of_stock");
  // Lowering the quantity of a flagged line is allowed.
  exec("UPDATE books SET stock = 1 WHERE ext_id = 'b-2'");
  c = must(carts_->set_quantity(me(), "b-2", 1));
  EXPECT_TRUE(c.checkout_ready);
}

TEST_P(CartServiceTest, mixed_currencies_are_not_ready_for_checkout) {
  must(carts_->add(me(), "b-1", 1));
  Cart c = must(carts_->add(me(), "b-4", 1));
  EXPECT_FALSE(c.checkout_ready);
}

TEST_P(CartServiceTest, an_anonymous_cart_gets_a_token_and_is_found_by_it) {
  Cart c = must(carts_->add(CartOwner{}, "b-1", 1));
  ASSERT_TRUE(c.new_token);
  EXPECT_GE(c.new_token->size(), 43u);
  CartOwner anon{{}, c.new_token};
  c = must(carts_->add(anon, "b-1", 1));
  EXPECT_FALSE(c.new_token) << "an existing cart keeps its token";
  EXPECT_EQ(c.items[0].quantity, 2);
  // The token is stored only as a hash.
  EXPECT_EQ(scalar("SELECT COUNT(*) FROM carts WHERE token_hash = $1", {*anon.token}), 0);
  // A made-up token names no cart: reading gives an empty cart, adding makes a new one.
  CartOwner forged{{}, std::string("forged-token")};
  EXPECT_TRUE(must(carts_->get(forged)).items.empty());
  EXPECT_TRUE(must(carts_->add(forged, "b-1", 1)).new_token);
}

TEST_P(CartServiceTest, an_anonymous_cart_merges_into_the_users_cart) {
  must(carts_->add(me(), "b-1", 2));
  Cart anon = must(carts_->add(CartOwner{}, "b-1", 3));
  must(carts_->add(CartOwner{{}, anon.new_token}, "b-2", 1));
  ASSERT_TRUE(carts_->merge(*anon.new_token, user_));
  Cart c = must(carts_->get(me()));
  ASSERT_EQ(c.items.size(), 2u);
  EXPECT_EQ(c.items[0].quantity, 5);
  EXPECT_EQ(c.items[1].book_id, "b-2");
  EXPECT_TRUE(must(carts_->get(CartOwner{{}, anon.new_token})).items.empty());
  EXPECT_TRUE(carts_->merge("unknown", user_));
}

TEST_P(CartServiceTest, two_users_never_share_a_cart) {
  int64_t other = make_user("b@example.org");
  must(carts_->add(me(), "b-1", 1));
  must(carts_->add(CartOwner{other, {}}, "b-2", 2));
  EXPECT_EQ(must(carts_->get(me())).items.at(0).book_id, "b-1");
  EXPECT_EQ(must(carts_->get(CartOwner{other, {}})).items.at(0).book_id, "b-2");
}

INSTANTIATE_TEST_SUITE_P(Stores, CartServiceTest, store::testing::all_backends(),
                         store::testing::backend_test_name);

}  // namespace
}  // namespace libromind::shop
