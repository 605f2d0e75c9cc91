// Carts: one server-side cart per signed-in user, and anonymous carts identified by an opaque
// cart token (256 bits, stored only as its SHA-256) that merge into the user's cart at login.
// A cart always shows current prices and stock; a line that can no longer be bought as it
// stands is flagged (`out_of_stock`, `insufficient_stock`), never dropped.
//
//   shop::CartService carts(store);
//   shop::CartOwner me{.user_id = 7};
//   LM_ASSIGN_OR_RETURN(auto cart, carts.add(me, "pg-84", 1));
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/result.hpp"
#include "store/store.hpp"

namespace libromind::shop {

inline constexpr int kMaxQuantity = 99;
inline constexpr size_t kMaxCartLines = 100;

// Who a cart belongs to: a user, or the holder of an anonymous cart token (possibly none yet).
struct CartOwner {
  std::optional<int64_t> user_id;
  std::optional<std::string> token;  // the raw token the client sent
};

struct CartLine {
  std::string book_id;  // public id
  std::string title;
  std::string authors;
  std::optional<std::string> cover_url;
  int64_t unit_price_cents = 0;
  std::string currency;
  int64_t quantity = 0;
  int64_t line_total_cents = 0;
  int64_t stock = 0;
  // Empty when the line can be bought as it is; "out_of_stock" or "insufficient_stock".
  std::string problem;
};

struct Cart {
  std::vector<CartLine> items;
  int64_t item_count = 0;  // copies
  int64_t subtotal_cents = 0;
  std::string currency = "USD";
  bool checkout_ready = false;  // not empty, no flagged line, one currency
  // Set when this call created an anonymous cart: the client keeps it and sends it back.
  std::optional<std::string> new_token;
};

class CartService {
 public:
  explicit CartService(store::Store& store) : store_(store) {}

  core::Result<Cart> get(const CartOwner& owner);
  // Adds `quantity` copies (a book already in the cart gets more). Creates the cart when there
  // is none (an anonymous one with a new token). The line may hold at most 99 copies and no
  // more than the stock.
  core::Result<Cart> add(const CartOwner& owner, const std::string& book_id, int64_t quantity);
  // Sets the quantity of a line (idempotent; creates the line when missing).
  core::Result<Cart> set_quantity(const CartOwner& owner, const std::string& book_id,
                                  int64_t quantity);
  core::Result<Cart> remove(const CartOwner& owner, const std::string& book_id);
  core::Result<Cart> clear(const CartOwner& owner);
  // Moves an anonymous cart's lines into the user's cart (quantities add up, capped at 99) and
  // deletes the anonymous cart. Unknown tokens are ignored.
  core::Result<void> merge(const std::string& token, int64_t user_id);

  // The cart of a user read inside the caller's transaction (checkout), with its internal id;
  // `lock` holds the cart row until the transaction ends (PostgreSQL).
  struct Snapshot {
    int64_t cart_id = 0;
    struct Line {
      int64_t book_pk = 0;
      CartLine line;
    };
    std::vector<Line> lines;
  };
  static core::Result<std::optional<Snapshot>> load_user_cart(store::Connection& conn,
                                                              int64_t user_id, bool lock);
  static Cart summarize(const std::vector<CartLine>& lines);

 private:
  // The cart id of the owner, creating the cart when `create` (nullopt when none and !create).
  core::Result<std::optional<int64_t>> find_cart(store::Connection& conn, const CartOwner& owner,
                                                 bool create, std::optional<std::string>& new_token,
                                                 bool lock);
  core::Result<Cart> read(store::Connection& conn, int64_t cart_id);
  core::Result<Cart> mutate(
      const CartOwner& owner, bool create, bool must_exist,
      const std::function<core::Result<void>(store::Connection&, int64_t)>& fn);

  store::Store& store_;
};

}  // namespace libromind::shop
