"""Carts: anonymous carts named by a token (header or cookie), quantities and their limits,
merging into the user's cart at sign-in, and current prices and stock on every read."""

import re

import pytest

from shop_support import (PASSWORD, Shop, add_to_cart, assert_problem, call, checkout_body,
                          get_cart, line, login, set_quantity, unique)

CART = "/api/v1/cart"
TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{43}$")


@pytest.fixture(scope="module")
def shop(shop_server):
    return shop_server


@pytest.fixture
def book(shop):
    """A book of its own per test: price 1500, stock 50."""
    return shop.create_book(price_cents=1500, stock=50)


def new_anonymous_cart(shop, book_id, quantity=1):
    r = add_to_cart(shop.client, book_id, quantity)
    assert r.status == 200, r
    return r.json()["cart_token"]


# ---- anonymous carts ------------------------------------------------------------------------


def test_anonymous_add_creates_a_cart_with_token_and_cookie(shop, book):
    r = add_to_cart(shop.client, book["id"], 2)
    assert r.status == 200, r
    cart = r.json()
    token = cart["cart_token"]
    assert TOKEN_RE.match(token), token
    cookie = r.headers.get("set-cookie", "")
    parts = [p.strip() for p in cookie.split(";")]
    assert parts[0] == f"lm_cart={token}", cookie
    assert "HttpOnly" in parts and "SameSite=Lax" in parts and "Path=/" in parts, cookie
    assert any(p.startswith("Max-Age=") and int(p[8:]) > 0 for p in parts), cookie
    assert "Secure" not in parts  # only with --secure-cookies
    assert r.headers.get("cache-control") == "no-store"
    assert cart["items"] == [{
        "book_id": book["id"], "title": book["title"], "authors": "Tester, Tess",
        "cover_url": None, "unit_price_cents": 1500, "currency": "USD", "quantity": 2,
        "line_total_cents": 3000, "stock": 50, "problem": None}]
    assert cart["item_count"] == 2 and cart["subtotal_cents"] == 3000
    assert cart["currency"] == "USD" and cart["checkout_ready"] is True

    # the token names the cart; the response that made it is the only one carrying it
    again = get_cart(shop.client, cart_token=token)
    assert "cart_token" not in again
    assert again["items"] == cart["items"]
    r = add_to_cart(shop.client, book["id"], 1, cart_token=token)
    assert r.status == 200 and "cart_token" not in r.json() and "set-cookie" not in r.headers


def test_no_token_means_an_empty_cart_and_no_new_cart(shop):
    cart = get_cart(shop.client)
    assert cart == {"items": [], "item_count": 0, "subtotal_cents": 0, "currency": "USD",
                    "checkout_ready": False}
    r = call(shop.client, "GET", CART)
    assert "set-cookie" not in r.headers
    r = call(shop.client, "DELETE", CART)
    assert r.status == 200 and r.json()["items"] == [] and "set-cookie" not in r.headers


def test_cookie_names_the_cart_like_the_header(shop, book):
    token = new_anonymous_cart(shop, book["id"], 3)
    by_cookie = get_cart(shop.client, headers={"Cookie": f"theme=dark; lm_cart={token}; x=1"})
    assert [(i["book_id"], i["quantity"]) for i in by_cookie["items"]] == [(book["id"], 3)]
    # the cookie works for writes too
    r = add_to_cart(shop.client, book["id"], 1, headers={"Cookie": f"lm_cart={token}"})
    assert r.status == 200 and r.json()["items"][0]["quantity"] == 4
    assert "cart_token" not in r.json()
    # the header wins over the cookie
    other = new_anonymous_cart(shop, book["id"], 1)
    cart = get_cart(shop.client, headers={"X-Cart-Token": other, "Cookie": f"lm_cart={token}"})
    assert cart["items"][0]["quantity"] == 1


@pytest.mark.parametrize("token", ["made-up-token-" + "x" * 29, "bad token!", "ü" * 10,
                                   "x" * 129])
def test_unknown_or_malformed_cart_token_is_an_empty_cart(shop, book, token):
    assert get_cart(shop.client, headers={"X-Cart-Token": token})["items"] == []
    # adding makes a fresh cart with a token of the server's own
    r = add_to_cart(shop.client, book["id"], 1, headers={"X-Cart-Token": token})
    assert r.status == 200, r
    assert r.json()["cart_token"] != token and TOKEN_RE.match(r.json()["cart_token"])


# ---- quantities -----------------------------------------------------------------------------


def test_adding_the_same_book_twice_adds_up(shop, book):
    token = new_anonymous_cart(shop, book["id"], 2)
    r = add_to_cart(shop.client, book["id"], 3, cart_token=token)
    assert r.status == 200, r
    cart = r.json()
    assert len(cart["items"]) == 1
    assert cart["items"][0]["quantity"] == 5 and cart["items"][0]["line_total_cents"] == 7500
    # quantity defaults to 1
    r = add_to_cart(shop.client, book["id"], None, cart_token=token)
    assert r.status == 200 and r.json()["items"][0]["quantity"] == 6


def test_several_books_make_several_lines(shop):
    # (Line order is not documented: lines are ordered by the millisecond they were added, ties
    # by book id, so it is not asserted.)
    books = [shop.create_book(price_cents=100 * (i + 1), stock=10) for i in range(3)]
    token = new_anonymous_cart(shop, books[2]["id"])
    add_to_cart(shop.client, books[0]["id"], 2, cart_token=token)
    add_to_cart(shop.client, books[1]["id"], 3, cart_token=token)
    cart = get_cart(shop.client, cart_token=token)
    assert {i["book_id"]: i["quantity"] for i in cart["items"]} == {
        books[2]["id"]: 1, books[0]["id"]: 2, books[1]["id"]: 3}
    assert cart["item_count"] == 6
    assert cart["subtotal_cents"] == 300 + 2 * 100 + 3 * 200


def test_put_sets_the_quantity_idempotently(shop, book):
    token = new_anonymous_cart(shop, book["id"], 1)
    for _ in range(2):
        r = set_quantity(shop.client, book["id"], 4, cart_token=token)
        assert r.status == 200, r
        assert [(i["book_id"], i["quantity"]) for i in r.json()["items"]] == [(book["id"], 4)]
    # lowering is fine, and PUT makes a missing line
    assert set_quantity(shop.client, book["id"], 2, cart_token=token).json()["items"][0][
        "quantity"] == 2
    other = shop.create_book(stock=5)
    r = set_quantity(shop.client, other["id"], 5, cart_token=token)
    assert r.status == 200 and line(r.json(), other["id"])["quantity"] == 5


def test_put_without_a_cart_makes_one(shop, book):
    r = set_quantity(shop.client, book["id"], 2)
    assert r.status == 200, r
    assert TOKEN_RE.match(r.json()["cart_token"])
    assert r.headers.get("set-cookie", "").startswith("lm_cart=")


def test_delete_a_line(shop, book):
    other = shop.create_book(stock=5)
    token = new_anonymous_cart(shop, book["id"], 2)
    add_to_cart(shop.client, other["id"], 1, cart_token=token)
    r = call(shop.client, "DELETE", f"/api/v1/cart/items/{book['id']}",
             headers={"X-Cart-Token": token})
    assert r.status == 200, r
    assert [i["book_id"] for i in r.json()["items"]] == [other["id"]]
    # gone: a second delete is a 404, and so is a book that was never in the cart
    assert_problem(call(shop.client, "DELETE", f"/api/v1/cart/items/{book['id']}",
                        headers={"X-Cart-Token": token}), 404, "not-found")
    assert_problem(call(shop.client, "DELETE", "/api/v1/cart/items/no-such-book",
                        headers={"X-Cart-Token": token}), 404, "not-found")


def test_delete_cart_clears_it(shop, book):
    other = shop.create_book(stock=5)
    token = new_anonymous_cart(shop, book["id"], 2)
    add_to_cart(shop.client, other["id"], 1, cart_token=token)
    r = call(shop.client, "DELETE", CART, headers={"X-Cart-Token": token})
    assert r.status == 200, r
    assert r.json()["items"] == [] and r.json()["item_count"] == 0
    assert r.json()["checkout_ready"] is False
    assert get_cart(shop.client, cart_token=token)["items"] == []
    # the cart still exists: adding to it keeps the token
    r = add_to_cart(shop.client, book["id"], 1, cart_token=token)
    assert r.status == 200 and "cart_token" not in r.json()


@pytest.mark.parametrize("quantity", [0, 100, -1, "x", "2", 1.5, 2.0, True, [1], {"n": 1},
                                      99999999999999999999, 10 ** 30, -(10 ** 30)])
def test_bad_quantity_is_400(shop, book, quantity):
    r = call(shop.client, "POST", "/api/v1/cart/items",
             {"book_id": book["id"], "quantity": quantity})
    assert_problem(r, 400, "invalid-parameter", field="quantity")
    assert "set-cookie" not in r.headers
    assert_problem(set_quantity(shop.client, book["id"], quantity), 400, "invalid-parameter",
                   field="quantity")


def test_put_without_quantity_is_400(shop, book):
    r = call(shop.client, "PUT", f"/api/v1/cart/items/{book['id']}", {})
    assert_problem(r, 400, "invalid-parameter", field="quantity")


def test_missing_or_bad_book_id_is_400(shop):
    for body in ({}, {"book_id": None}, {"book_id": 84}, {"book_id": ""}, {"book_id": "x" * 101}):
        r = call(shop.client, "POST", "/api/v1/cart/items", body)
        assert r.status in (400, 404), (body, r)
        if r.status == 400:
            assert_problem(r, 400, field="book_id")


def test_more_than_the_stock_is_409(shop):
    book = shop.create_book(stock=3)
    r = add_to_cart(shop.client, book["id"], 4)
    body = assert_problem(r, 409, "out-of-stock")
    assert "set-cookie" not in r.headers  # nothing was made
    assert "3" in body["detail"]
    token = new_anonymous_cart(shop, book["id"], 3)
    assert_problem(add_to_cart(shop.client, book["id"], 1, cart_token=token), 409,
                   "out-of-stock")
    assert_problem(set_quantity(shop.client, book["id"], 5, cart_token=token), 409,
                   "out-of-stock")
    # the failed calls changed nothing; lowering is always allowed
    assert get_cart(shop.client, cart_token=token)["items"][0]["quantity"] == 3
    assert set_quantity(shop.client, book["id"], 2, cart_token=token).status == 200


def test_a_book_out_of_stock_cannot_be_added(shop):
    book = shop.create_book(stock=0)
    assert_problem(add_to_cart(shop.client, book["id"], 1), 409, "out-of-stock")
    assert_problem(set_quantity(shop.client, book["id"], 1), 409, "out-of-stock")


def test_unknown_book_is_404(shop):
    r = add_to_cart(shop.client, "no-such-book", 1)
    assert_problem(r, 404, "not-found")
    assert "set-cookie" not in r.headers
    assert_problem(set_quantity(shop.client, "no-such-book", 1), 404, "not-found")


def test_a_line_holds_at_most_99_copies(shop):
    book = shop.create_book(stock=500)
    token = new_anonymous_cart(shop, book["id"], 60)
    assert_problem(add_to_cart(shop.client, book["id"], 40, cart_token=token), 409,
                   "quantity-limit")
    assert get_cart(shop.client, cart_token=token)["items"][0]["quantity"] == 60
    r = add_to_cart(shop.client, book["id"], 39, cart_token=token)
    assert r.status == 200 and r.json()["items"][0]["quantity"] == 99
    assert_problem(add_to_cart(shop.client, book["id"], 1, cart_token=token), 409,
                   "quantity-limit")
    assert set_quantity(shop.client, book["id"], 99, cart_token=token).status == 200
    assert_problem(set_quantity(shop.client, book["id"], 100, cart_token=token), 400,
                   field="quantity")


# ---- signed-in carts and merging ------------------------------------------------------------


def test_signed_in_cart_follows_the_user(shop, book):
    user = shop.new_user("cart")
    r = add_to_cart(shop.client, book["id"], 2, token=user.token)
    assert r.status == 200, r
    assert "cart_token" not in r.json() and "set-cookie" not in r.headers
    # another session of the same user sees the same cart
    again = shop.sign_in(user.email)
    assert [(i["book_id"], i["quantity"]) for i in get_cart(shop.client, token=again.token)[
        "items"]] == [(book["id"], 2)]


def test_anonymous_cart_merges_into_the_users_cart_at_login(shop):
    a, b, c = (shop.create_book(stock=300) for _ in range(3))
    user = shop.new_user("merge")
    add_to_cart(shop.client, a["id"], 2, token=user.token)
    add_to_cart(shop.client, c["id"], 60, token=user.token)
    token = new_anonymous_cart(shop, a["id"], 3)
    add_to_cart(shop.client, b["id"], 1, cart_token=token)
    add_to_cart(shop.client, c["id"], 60, cart_token=token)

    r = login(shop.client, user.email, PASSWORD, headers={"X-Cart-Token": token})
    assert r.status == 200, r
    # the anonymous cart is used up: the cookie is cleared
    cookie = r.headers.get("set-cookie", "")
    assert cookie.startswith("lm_cart=;") and "Max-Age=0" in cookie, cookie
    cart = get_cart(shop.client, token=r.json()["access_token"])
    got = {i["book_id"]: i["quantity"] for i in cart["items"]}
    assert got == {a["id"]: 5, b["id"]: 1, c["id"]: 99}  # quantities add, capped at 99
    assert get_cart(shop.client, cart_token=token)["items"] == []


def test_merge_by_cookie_and_into_a_user_without_a_cart(shop, book):
    user = shop.new_user("merge2")
    token = new_anonymous_cart(shop, book["id"], 2)
    r = login(shop.client, user.email, PASSWORD, headers={"Cookie": f"lm_cart={token}"})
    assert r.status == 200, r
    cart = get_cart(shop.client, token=r.json()["access_token"])
    assert [(i["book_id"], i["quantity"]) for i in cart["items"]] == [(book["id"], 2)]


def test_login_with_an_unknown_cart_token_just_signs_in(shop, book):
    user = shop.new_user("merge3")
    add_to_cart(shop.client, book["id"], 1, token=user.token)
    r = login(shop.client, user.email, PASSWORD, headers={"X-Cart-Token": "z" * 43})
    assert r.status == 200, r
    cart = get_cart(shop.client, token=r.json()["access_token"])
    assert [(i["book_id"], i["quantity"]) for i in cart["items"]] == [(book["id"], 1)]


def test_failed_login_does_not_merge(shop, book):
    user = shop.new_user("merge4")
    token = new_anonymous_cart(shop, book["id"], 2)
    r = login(shop.client, user.email, "wrong password!", headers={"X-Cart-Token": token})
    assert_problem(r, 401, "invalid-credentials")
    assert get_cart(shop.client, cart_token=token)["items"][0]["quantity"] == 2
    assert get_cart(shop.client, token=user.token)["items"] == []


# ---- current prices and stock ---------------------------------------------------------------


def test_cart_shows_the_current_price(shop, book):
    token = new_anonymous_cart(shop, book["id"], 3)
    shop.patch_book(book["id"], price_cents=2222)
    cart = get_cart(shop.client, cart_token=token)
    assert cart["items"][0]["unit_price_cents"] == 2222
    assert cart["items"][0]["line_total_cents"] == 6666
    assert cart["subtotal_cents"] == 6666


def test_an_item_out_of_stock_is_flagged_never_dropped(shop, book):
    token = new_anonymous_cart(shop, book["id"], 2)
    shop.patch_book(book["id"], stock=0)
    cart = get_cart(shop.client, cart_token=token)
    assert len(cart["items"]) == 1
    assert cart["items"][0]["problem"] == "out_of_stock" and cart["items"][0]["stock"] == 0
    assert cart["items"][0]["quantity"] == 2
    assert cart["checkout_ready"] is False
    shop.patch_book(book["id"], stock=1)
    cart = get_cart(shop.client, cart_token=token)
    assert cart["items"][0]["problem"] == "insufficient_stock"
    assert cart["checkout_ready"] is False
    shop.patch_book(book["id"], stock=2)
    cart = get_cart(shop.client, cart_token=token)
    assert cart["items"][0]["problem"] is None and cart["checkout_ready"] is True


def test_a_flagged_line_can_still_be_lowered_or_removed(shop, book):
    token = new_anonymous_cart(shop, book["id"], 5)
    shop.patch_book(book["id"], stock=2)
    r = set_quantity(shop.client, book["id"], 2, cart_token=token)
    assert r.status == 200 and r.json()["items"][0]["problem"] is None
    shop.patch_book(book["id"], stock=0)
    r = call(shop.client, "DELETE", f"/api/v1/cart/items/{book['id']}",
             headers={"X-Cart-Token": token})
    assert r.status == 200 and r.json()["items"] == []


def test_a_cart_holds_at_most_100_books(shop):
    books = [shop.create_book(stock=5, id=unique("full-")) for _ in range(101)]
    token = new_anonymous_cart(shop, books[0]["id"])
    for b in books[1:100]:
        assert add_to_cart(shop.client, b["id"], 1, cart_token=token).status == 200
    assert_problem(add_to_cart(shop.client, books[100]["id"], 1, cart_token=token), 409,
                   "cart-full")
    assert_problem(set_quantity(shop.client, books[100]["id"], 1, cart_token=token), 409,
                   "cart-full")
    cart = get_cart(shop.client, cart_token=token)
    assert len(cart["items"]) == 100 and cart["item_count"] == 100
    # a book already in the cart can still get more copies
    assert add_to_cart(shop.client, books[5]["id"], 1, cart_token=token).status == 200


# ---- browsers: Secure cookies and CORS --------------------------------------------------------

ORIGIN = "http://shop.example"


@pytest.fixture(scope="module")
def browser_shop(shop):
    """A second server on the same database, as deployed behind HTTPS for a browser front end."""
    s = Shop.start(shop.store, "--secure-cookies", "true", "--cors-origins", ORIGIN,
                   url=shop.url, secret=shop.secret, kid=shop.kid)
    yield s
    s.kill()


def test_secure_cookies(browser_shop, shop):
    book = shop.create_book(stock=5)
    r = add_to_cart(browser_shop.client, book["id"], 1)
    assert r.status == 200, r
    parts = [p.strip() for p in r.headers["set-cookie"].split(";")]
    assert "Secure" in parts and "HttpOnly" in parts and "SameSite=Lax" in parts, parts


@pytest.mark.parametrize("method,target,headers", [
    ("POST", "/api/v1/cart/items", "Content-Type, X-Cart-Token"),
    ("PUT", "/api/v1/cart/items/pg-84", "Content-Type, X-Cart-Token"),
    ("DELETE", "/api/v1/cart", "X-Cart-Token"),
    ("POST", "/api/v1/orders", "Authorization, Content-Type, Idempotency-Key"),
    ("PATCH", "/api/v1/admin/books/pg-84", "Authorization, Content-Type"),
])
def test_cors_preflight_allows_the_shop_headers(browser_shop, method, target, headers):
    r = browser_shop.client.request("OPTIONS", target, headers={
        "Origin": ORIGIN, "Access-Control-Request-Method": method,
        "Access-Control-Request-Headers": headers})
    assert r.status == 204, r
    assert r.headers.get("access-control-allow-origin") == ORIGIN
    methods = {m.strip() for m in r.headers.get("access-control-allow-methods", "").split(",")}
    assert method in methods, methods
    allowed = {h.strip().lower() for h in r.headers.get("access-control-allow-headers",
                                                        "").split(",")}
    wanted = {h.strip().lower() for h in headers.split(",")}
    assert wanted <= allowed, wanted - allowed


def test_cors_exposes_the_shop_response_headers(browser_shop, shop):
    """A browser can read the new cart's token from the body, and the order's Location and
    Idempotent-Replayed only when they are exposed."""
    book = shop.create_book(stock=5)
    user = shop.new_user("browser")
    add_to_cart(browser_shop.client, book["id"], 1, token=user.token)
    r = call(browser_shop.client, "POST", "/api/v1/orders", checkout_body(), token=user.token,
             headers={"Origin": ORIGIN, "Idempotency-Key": unique("key-")})
    assert r.status == 201, r
    assert r.headers.get("access-control-allow-origin") == ORIGIN
    exposed = {h.strip().lower() for h in r.headers.get("access-control-expose-headers",
                                                        "").split(",")}
    assert {"location", "idempotent-replayed", "x-request-id"} <= exposed, exposed


def test_merge_never_makes_a_cart_of_more_than_100_books(shop):
    """A user's full cart (100 books) and an anonymous cart with one more: the merged cart
    still holds at most 100 books (and reads back within the contract's maxItems)."""
    books = [shop.create_book(stock=5, id=unique("mfull-")) for _ in range(101)]
    user = shop.new_user("mergefull")
    for b in books[:100]:
        assert add_to_cart(shop.client, b["id"], 1, token=user.token).status == 200
    token = new_anonymous_cart(shop, books[100]["id"])
    r = login(shop.client, user.email, PASSWORD, headers={"X-Cart-Token": token})
    assert r.status in (200, 409), r
    n = int(shop.scalar("SELECT COUNT(*) FROM cart_items ci JOIN carts c ON c.id = ci.cart_id "
                        f"WHERE c.user_id = {user.id}"))
    assert n <= 100, f"the merged cart holds {n} books"
    cart = get_cart(shop.client, token=user.token)  # validated against maxItems: 100
    assert len(cart["items"]) <= 100
