// GET/DELETE /api/v1/cart, POST /api/v1/cart/items, PUT/DELETE /api/v1/cart/items/{book_id}.
// Signed-in callers use their own cart; others an anonymous cart named by a cart token
// (X-Cart-Token header or lm_cart cookie), created on the first add.
#include "core/text.hpp"
#include "http/handlers/params.hpp"
#include "http/handlers/shop_routes.hpp"

namespace libromind::http {

std::optional<std::string> cart_token(const Request& req) {
  std::optional<std::string> t;
  if (const auto* h = req.header("x-cart-token")) {
    t = std::string(core::trim(*h));
  } else {
    t = cookie(req, "lm_cart");
  }
  // Tokens we issue are 43 base64url characters; anything else cannot name a cart.
  if (t && (t->empty() || t->size() > 128 || !valid_public_id(*t))) return std::nullopt;
  return t;
}

namespace {

ojson cart_json(const shop::Cart& c) {
  ojson items = ojson::array();
  for (const auto& l : c.items) {
    items.push_back({{"book_id", l.book_id},
                     {"title", l.title},
                     {"authors", l.authors},
                     {"cover_url", l.cover_url ? ojson(*l.cover_url) : ojson(nullptr)},
                     {"unit_price_cents", l.unit_price_cents},
                     {"currency", l.currency},
                     {"quantity", l.quantity},
                     {"line_total_cents", l.line_total_cents},
                     {"stock", l.stock},
                     {"problem", l.problem.empty() ? ojson(nullptr) : ojson(l.problem)}});
  }
  ojson j = {{"items", std::move(items)},
             {"item_count", c.item_count},
             {"subtotal_cents", c.subtotal_cents},
             {"currency", c.currency},
             {"checkout_ready", c.checkout_ready}};
  if (c.new_token) j["cart_token"] = *c.new_token;
  return j;
}

struct CartDeps {
  shop::CartService& carts;
  const Authenticator& auth;
  ShopRouteOptions options;
};

core::Result<shop::CartOwner> owner_of(const CartDeps& d, const Request& req) {
  LM_ASSIGN_OR_RETURN(auto who, d.auth.optional(req));
  shop::CartOwner owner;
  if (who) {
    owner.user_id = who->user_id;
  } else {
    owner.token = cart_token(req);
  }
  return owner;
}

Response cart_response(const CartDeps& d, const shop::Cart& cart) {
  Response r = json_ok(200, cart_json(cart));
  if (cart.new_token) {
    r.set_header("Set-Cookie", "lm_cart=" + *cart.new_token +
                                   "; Path=/; Max-Age=2592000; HttpOnly; SameSite=Lax" +
                                   (d.options.secure_cookies ? "; Secure" : ""));
  }
  return r;
}

core::Result<std::string> book_id_of(Request& req) {
  const std::string& id = req.path_params["book_id"];
  if (id.empty() || id.size() > 100) return core::Error::invalid("invalid book id", "book_id");
  return id;
}

}  // namespace

void register_cart_routes(Router& router, shop::CartService& carts, const Authenticator& auth,
                          const ShopRouteOptions& options) {
  auto deps = std::make_shared<CartDeps>(CartDeps{carts, auth, options});

  router.add("GET", "/api/v1/cart", [deps](Request& req) {
    if (auto bad = reject_unknown_params(req, {})) return std::move(*bad);
    return guarded(req, [&]() -> core::Result<Response> {
      LM_ASSIGN_OR_RETURN(auto owner, owner_of(*deps, req));
      LM_ASSIGN_OR_RETURN(auto cart, deps->carts.get(owner));
      return cart_response(*deps, cart);
    });
  });

  router.add("DELETE", "/api/v1/cart", [deps](Request& req) {
    if (auto bad = reject_unknown_params(req, {})) return std::move(*bad);
    return guarded(req, [&]() -> core::Result<Response> {
      LM_ASSIGN_OR_RETURN(auto owner, owner_of(*deps, req));
      LM_ASSIGN_OR_RETURN(auto cart, deps->carts.clear(owner));
      return cart_response(*deps, cart);
    });
  });

  router.add("POST", "/api/v1/cart/items", [deps](Request& req) {
    if (auto bad = reject_unknown_params(req, {})) return std::move(*bad);
    return guarded(req, [&]() -> core::Result<Response> {
      LM_ASSIGN_OR_RETURN(auto body, json_body(req, {"book_id", "quantity"}));
      LM_ASSIGN_OR_RETURN(auto book_id, required_str(body, "book_id", 100));
      LM_ASSIGN_OR_RETURN(auto quantity, int_field(body, "quantity", 1, shop::kMaxQuantity));
      LM_ASSIGN_OR_RETURN(auto owner, owner_of(*deps, req));
      LM_ASSIGN_OR_RETURN(auto cart, deps->carts.add(owner, book_id, quantity.value_or(1)));
      return cart_response(*deps, cart);
    });
  });

  router.add("PUT", "/api/v1/cart/items/{book_id}", [deps](Request& req) {
    if (auto bad = reject_unknown_params(req, {})) return std::move(*bad);
    return guarded(req, [&]() -> core::Result<Response> {
      LM_ASSIGN_OR_RETURN(auto book_id, book_id_of(req));
      LM_ASSIGN_OR_RETURN(auto body, json_body(req, {"quantity"}));
      LM_ASSIGN_OR_RETURN(auto quantity, int_field(body, "quantity", 1, shop::kMaxQuantity));
      if (!quantity) return core::Error::invalid("quantity is required", "quantity");
      LM_ASSIGN_OR_RETURN(auto owner, owner_of(*deps, req));
      LM_ASSIGN_OR_RETURN(auto cart, deps->carts.set_quantity(owner, book_id, *quantity));
      return cart_response(*deps, cart);
    });
  });

  router.add("DELETE", "/api/v1/cart/items/{book_id}", [deps](Request& req) {
    if (auto bad = reject_unknown_params(req, {})) return std::move(*bad);
    return guarded(req, [&]() -> core::Result<Response> {
      LM_ASSIGN_OR_RETURN(auto book_id, book_id_of(req));
      LM_ASSIGN_OR_RETURN(auto owner, owner_of(*deps, req));
      LM_ASSIGN_OR_RETURN(auto cart, deps->carts.remove(owner, book_id));
      return cart_response(*deps, cart);
    });
  });
}

}  // namespace libromind::http
