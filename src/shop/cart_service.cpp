#include "shop/cart_service.hpp"

#include <chrono>
#include <set>

#include "core/crypto.hpp"
#include "core/text.hpp"
#include "telemetry/log.hpp"

namespace libromind::shop {
namespace {

constexpr const char* kLineSelect =
    "SELECT b.id, b.ext_id, b.title, b.authors_text, b.cover_url, b.price_cents, b.currency, "
    "ci.quantity, b.stock FROM cart_items ci JOIN books b ON b.id = ci.book_id WHERE "
    "ci.cart_id = $1 ORDER BY ci.added_at, b.ext_id";

CartLine line_from_row(const std::vector<store::Value>& r) {
  CartLine l;
  l.book_id = store::as_string(r[1]);
  l.title = store::as_string(r[2]);
  l.authors = store::as_string(r[3]);
  if (!store::is_null(r[4])) l.cover_url = store::as_string(r[4]);
  l.unit_price_cents = store::as_int(r[5]);
  l.currency = store::as_string(r[6]);
  l.quantity = store::as_int(r[7]);
  l.stock = store::as_int(r[8]);
  l.line_total_cents = l.unit_price_cents * l.quantity;
  if (l.stock <= 0) {
    l.problem = "out_of_stock";
  } else if (l.stock < l.quantity) {
    l.problem = "insufficient_stock";
  }
  return l;
}

core::Error no_such_book(const std::string& id) {
  return core::Error::make(core::ErrorCode::kNotFound, "no book with id '" + id + "'", "not-found");
}

core::Result<void> check_quantity(int64_t q) {
  if (q < 1 || q > kMaxQuantity) {
    return core::Error::invalid("quantity must be between 1 and 99", "quantity");
  }
  return core::ok();
}

struct BookStock {
  int64_t pk = 0;
  int64_t stock = 0;
};

core::Result<BookStock> find_book(store::Connection& conn, const std::string& id) {
  LM_ASSIGN_OR_RETURN(auto rows, conn.query("SELECT id, stock FROM books WHERE ext_id = $1", {id}));
  if (rows.empty()) return no_such_book(id);
  return BookStock{store::as_int(rows.rows[0][0]), store::as_int(rows.rows[0][1])};
}

core::Result<void> check_stock(const std::string& id, int64_t wanted, int64_t stock) {
  if (wanted <= stock) return core::ok();
  auto e = core::Error::make(
      core::ErrorCode::kConflict,
      stock <= 0 ? "'" + id + "' is out of stock"
                 : "only " + std::to_string(stock) + " copies of '" + id + "' are in stock",
      "out-of-stock");
  e.field = "quantity";
  return e;
}

// Sets a line's quantity, inserting the line (within the 100-book limit) when it is new.
core::Result<void> write_line(store::Connection& conn, int64_t cart_id, int64_t book_pk,
                              int64_t quantity, bool exists) {
  if (exists) {
    LM_TRY(conn.exec("UPDATE cart_items SET quantity = $3 WHERE cart_id = $1 AND book_id = $2",
                     {cart_id, book_pk, quantity}));
    return core::ok();
  }
  LM_ASSIGN_OR_RETURN(auto count,
                      conn.query("SELECT COUNT(*) FROM cart_items WHERE cart_id = $1", {cart_id}));
  if (store::as_int(count.rows[0][0]) >= static_cast<int64_t>(kMaxCartLines)) {
    return core::Error::make(core::ErrorCode::kConflict, "a cart holds at most 100 different books",
                             "cart-full");
  }
  LM_TRY(
      conn.exec("INSERT INTO cart_items (cart_id, book_id, quantity, added_at) VALUES ($1, $2, "
                "$3, $4)",
                {cart_id, book_pk, quantity, telemetry::utc_timestamp_ms()}));
  return core::ok();
}

}  // namespace

Cart CartService::summarize(const std::vector<CartLine>& lines) {
  Cart c;
  c.items = lines;
  bool one_currency = true;
  bool flagged = false;
  for (const auto& l : lines) {
    c.item_count += l.quantity;
    c.subtotal_cents += l.line_total_cents;
    if (&l == &lines.front()) c.currency = l.currency;
    if (l.currency != c.currency) one_currency = false;
    if (!l.problem.empty()) flagged = true;
  }
  c.checkout_ready = !lines.empty() && one_currency && !flagged;
  return c;
}

core::Result<Cart> CartService::read(store::Connection& conn, int64_t cart_id) {
  LM_ASSIGN_OR_RETURN(auto rows, conn.query(kLineSelect, {cart_id}));
  std::vector<CartLine> lines;
  for (const auto& r : rows.rows) lines.push_back(line_from_row(r));
  return summarize(lines);
}

static std::string for_update(const store::Connection& conn, bool lock) {
  // Inside a write transaction the cart row is locked, so that concurrent changes of one cart
  // (two tabs adding at once, a checkout emptying it) run one after the other. SQLite has a
  // single writer and needs no row lock.
  return lock && conn.dialect() == store::Dialect::kPostgres ? " FOR UPDATE" : "";
}

core::Result<std::optional<int64_t>> CartService::find_cart(store::Connection& conn,
                                                            const CartOwner& owner, bool create,
                                                            std::optional<std::string>& new_token,
                                                            bool lock) {
  const std::string ts = telemetry::utc_timestamp();
  if (owner.user_id) {
    const std::string select = "SELECT id FROM carts WHERE user_id = $1" + for_update(conn, lock);
    LM_ASSIGN_OR_RETURN(auto rows, conn.query(select, {*owner.user_id}));
    if (!rows.empty()) return std::optional<int64_t>(store::as_int(rows.rows[0][0]));
    if (!create) return std::optional<int64_t>();
    // Two first adds at once: one inserts, the other waits for it and then finds its cart.
    LM_ASSIGN_OR_RETURN(auto ins, conn.query("INSERT INTO carts (user_id, created_at, updated_at, "
                                             "last_used_at) VALUES ($1, $2, $2, $3) ON CONFLICT "
                                             "(user_id) DO NOTHING RETURNING id",
                                             {*owner.user_id, ts, core::unix_seconds()}));
    if (!ins.empty()) return std::optional<int64_t>(store::as_int(ins.rows[0][0]));
    LM_ASSIGN_OR_RETURN(auto again, conn.query(select, {*owner.user_id}));
    if (again.empty()) return core::Error::unavailable("the cart could not be created; retry");
    return std::optional<int64_t>(store::as_int(again.rows[0][0]));
  }
  if (owner.token) {
    LM_ASSIGN_OR_RETURN(
        auto rows, conn.query("SELECT id FROM carts WHERE token_hash = $1" + for_update(conn, lock),
                              {core::sha256_hex(*owner.token)}));
    if (!rows.empty()) return std::optional<int64_t>(store::as_int(rows.rows[0][0]));
  }
  if (!create) return std::optional<int64_t>();
  // No cart, or a token we do not know (expired, or made up): a new anonymous cart.
  std::string token = core::random_token(32);
  LM_ASSIGN_OR_RETURN(auto ins, conn.query("INSERT INTO carts (token_hash, created_at, "
                                           "updated_at, last_used_at) VALUES ($1, $2, $2, $3) "
                                           "RETURNING id",
                                           {core::sha256_hex(token), ts, core::unix_seconds()}));
  new_token = token;
  return std::optional<int64_t>(store::as_int(ins.rows.at(0)[0]));
}

core::Result<Cart> CartService::get(const CartOwner& owner) {
  LM_ASSIGN_OR_RETURN(auto conn, store_.acquire(store::Access::kRead));
  std::optional<std::string> unused;
  LM_ASSIGN_OR_RETURN(auto id, find_cart(*conn, owner, false, unused, false));
  if (!id) return summarize({});
  return read(*conn, *id);
}

core::Result<Cart> CartService::mutate(
    const CartOwner& owner, bool create, bool must_exist,
    const std::function<core::Result<void>(store::Connection&, int64_t)>& fn) {
  Cart cart;
  LM_TRY(store::with_transaction(store_, [&](store::Connection& conn) -> core::Result<void> {
    std::optional<std::string> new_token;
    LM_ASSIGN_OR_RETURN(auto id, find_cart(conn, owner, create, new_token, true));
    if (!id) {
      if (must_exist) {
        return core::Error::make(core::ErrorCode::kNotFound, "the cart holds no such book",
                                 "not-found");
      }
      cart = summarize({});
      return core::ok();
    }
    LM_TRY(fn(conn, *id));
    LM_TRY(conn.exec("UPDATE carts SET updated_at = $2, last_used_at = $3 WHERE id = $1",
                     {*id, telemetry::utc_timestamp(), core::unix_seconds()}));
    LM_ASSIGN_OR_RETURN(cart, read(conn, *id));
    cart.new_token = new_token;
    return core::ok();
  }));
  return cart;
}

core::Result<Cart> CartService::add(const CartOwner& owner, const std::string& book_id,
                                    int64_t quantity) {
  LM_TRY(check_quantity(quantity));
  return mutate(
      owner, true, false, [&](store::Connection& conn, int64_t cart_id) -> core::Result<void> {
        LM_ASSIGN_OR_RETURN(auto book, find_book(conn, book_id));
        LM_ASSIGN_OR_RETURN(auto rows,
                            conn.query("SELECT quantity FROM cart_items WHERE cart_id = $1 "
                                       "AND book_id = $2",
                                       {cart_id, book.pk}));
        const int64_t have = rows.empty() ? 0 : store::as_int(rows.rows[0][0]);
        const int64_t want = have + quantity;
        if (want > kMaxQuantity) {
          return core::Error::make(core::ErrorCode::kConflict,
                                   "a cart holds at most 99 copies of a book (this one has " +
                                       std::to_string(have) + ")",
                                   "quantity-limit");
        }
        LM_TRY(check_stock(book_id, want, book.stock));
        return write_line(conn, cart_id, book.pk, want, !rows.empty());
      });
}

core::Result<Cart> CartService::set_quantity(const CartOwner& owner, const std::string& book_id,
                                             int64_t quantity) {
  LM_TRY(check_quantity(quantity));
  return mutate(owner, true, false,
                [&](store::Connection& conn, int64_t cart_id) -> core::Result<void> {
                  LM_ASSIGN_OR_RETURN(auto book, find_book(conn, book_id));
                  LM_ASSIGN_OR_RETURN(
                      auto rows, conn.query("SELECT quantity FROM cart_items WHERE cart_id = $1 "
                                            "AND book_id = $2",
                                            {cart_id, book.pk}));
                  // Lowering a quantity is always allowed; raising it needs the stock.
                  const int64_t have = rows.empty() ? 0 : store::as_int(rows.rows[0][0]);
                  if (quantity > have) LM_TRY(check_stock(book_id, quantity, book.stock));
                  return write_line(conn, cart_id, book.pk, quantity, !rows.empty());
                });
}

core::Result<Cart> CartService::remove(const CartOwner& owner, const std::string& book_id) {
  return mutate(
      owner, false, true, [&](store::Connection& conn, int64_t cart_id) -> core::Result<void> {
        LM_ASSIGN_OR_RETURN(int64_t n,
                            conn.exec("DELETE FROM cart_items WHERE cart_id = $1 AND book_id = "
                                      "(SELECT id FROM books WHERE ext_id = $2)",
                                      {cart_id, book_id}));
        if (n == 0) {
          return core::Error::make(core::ErrorCode::kNotFound,
                                   "the cart holds no book with id '" + book_id + "'", "not-found");
        }
        return core::ok();
      });
}

core::Result<Cart> CartService::clear(const CartOwner& owner) {
  return mutate(owner, false, false,
                [&](store::Connection& conn, int64_t cart_id) -> core::Result<void> {
                  LM_TRY(conn.exec("DELETE FROM cart_items WHERE cart_id = $1", {cart_id}));
                  return core::ok();
                });
}

core::Result<void> CartService::merge(const std::string& token, int64_t user_id) {
  return store::with_transaction(store_, [&](store::Connection& conn) -> core::Result<void> {
    std::optional<std::string> unused;
    LM_ASSIGN_OR_RETURN(auto to, find_cart(conn, CartOwner{user_id, {}}, true, unused, true));
    LM_ASSIGN_OR_RETURN(
        auto anon, conn.query("SELECT id FROM carts WHERE token_hash = $1" + for_update(conn, true),
                              {core::sha256_hex(token)}));
    if (anon.empty()) return core::ok();
    const int64_t from = store::as_int(anon.rows[0][0]);
    LM_ASSIGN_OR_RETURN(auto lines, conn.query("SELECT book_id, quantity, added_at FROM "
                                               "cart_items WHERE cart_id = $1 ORDER BY added_at",
                                               {from}));
    LM_ASSIGN_OR_RETURN(auto have,
                        conn.query("SELECT book_id FROM cart_items WHERE cart_id = $1", {*to}));
    std::set<int64_t> present;
    for (const auto& r : have.rows) present.insert(store::as_int(r[0]));
    size_t dropped = 0;
    for (const auto& l : lines.rows) {
      // The cart's limit of 100 different books holds after a merge too; the oldest lines of
      // the anonymous cart come first.
      if (!present.count(store::as_int(l[0])) && present.size() >= kMaxCartLines) {
        ++dropped;
        continue;
      }
      present.insert(store::as_int(l[0]));
      LM_TRY(
          conn.exec("INSERT INTO cart_items (cart_id, book_id, quantity, added_at) VALUES ($1, "
                    "$2, $3, $4) ON CONFLICT (cart_id, book_id) DO UPDATE SET quantity = "
                    "CASE WHEN cart_items.quantity + excluded.quantity > 99 THEN 99 ELSE "
                    "cart_items.quantity + excluded.quantity END",
                    {*to, l[0], l[1], l[2]}));
    }
    LM_TRY(conn.exec("DELETE FROM carts WHERE id = $1", {from}));
    telemetry::log_info("cart_merged",
                        {{"user_id", user_id}, {"lines", lines.size()}, {"dropped", dropped}});
    return core::ok();
  });
}

core::Result<std::optional<CartService::Snapshot>> CartService::load_user_cart(
    store::Connection& conn, int64_t user_id, bool lock) {
  LM_ASSIGN_OR_RETURN(
      auto cart,
      conn.query("SELECT id FROM carts WHERE user_id = $1" + for_update(conn, lock), {user_id}));
  if (cart.empty()) return std::optional<Snapshot>();
  Snapshot s;
  s.cart_id = store::as_int(cart.rows[0][0]);
  LM_ASSIGN_OR_RETURN(auto rows, conn.query(kLineSelect, {s.cart_id}));
  for (const auto& r : rows.rows) s.lines.push_back({store::as_int(r[0]), line_from_row(r)});
  return std::optional<Snapshot>(std::move(s));
}

}  // namespace libromind::shop
