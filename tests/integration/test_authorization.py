"""Who may see and change what: other users' orders, votes and carts are invisible (404, not
403), customers get 403 on every admin route, and every signed-in route needs a token."""

import pytest

from shop_support import (add_to_cart, assert_problem, call, checkout, get_cart, line, unique)


@pytest.fixture(scope="module")
def shop(shop_server):
    return shop_server


@pytest.fixture(scope="module")
def world(shop):
    """Two customers, each with an order, a vote and a cart line of their own."""
    a, b = shop.new_user("alice"), shop.new_user("bob")
    books = {k: shop.create_book(price_cents=1000, stock=50) for k in
             ("a_order", "b_order", "a_cart", "b_cart", "anon")}
    out = {"a": a, "b": b, "books": books}
    for who, user in (("a", a), ("b", b)):
        assert add_to_cart(shop.client, books[f"{who}_order"]["id"], 1, token=user.token).status \
            == 200
        r = checkout(shop.client, user.token, unique("key-"))
        assert r.status == 201, r
        out[f"{who}_order"] = r.json()["id"]
        r = call(shop.client, "POST", "/api/v1/feedback",
                 {"request_id": f"req-{who}", "book_id": "pg-84", "vote": "up"}, token=user.token)
        assert r.status == 201, r
        out[f"{who}_vote"] = r.json()["id"]
        assert add_to_cart(shop.client, books[f"{who}_cart"]["id"], 2, token=user.token).status \
            == 200
    return out


# ---- other users' things --------------------------------------------------------------------


def test_another_users_order_is_404(shop, world):
    a, b = world["a"], world["b"]
    r = shop.client.get(f"/api/v1/orders/{world['b_order']}", headers=a.auth)
    missing = shop.client.get("/api/v1/orders/ord_nothinghere", headers=a.auth)
    assert_problem(r, 404, "not-found")
    assert_problem(missing, 404, "not-found")
    # indistinguishable from a missing order (apart from the id quoted in the detail)
    assert r.json()["title"] == missing.json()["title"]
    # the owner sees it
    assert shop.client.get(f"/api/v1/orders/{world['b_order']}", headers=b.auth).status == 200


def test_another_users_order_cannot_be_cancelled(shop, world):
    a, b = world["a"], world["b"]
    r = call(shop.client, "POST", f"/api/v1/orders/{world['b_order']}/cancel", token=a.token)
    assert_problem(r, 404, "not-found")
    assert shop.client.get(f"/api/v1/orders/{world['b_order']}", headers=b.auth).json()[
        "status"] == "paid"


def test_order_list_never_shows_another_users_orders(shop, world):
    a = world["a"]
    ids = {o["id"] for o in shop.client.get("/api/v1/orders?limit=100",
                                            headers=a.auth).json()["items"]}
    assert world["a_order"] in ids and world["b_order"] not in ids


def test_another_users_vote_is_404(shop, world):
    a, b = world["a"], world["b"]
    assert_problem(shop.client.get(f"/api/v1/feedback/{world['b_vote']}", headers=a.auth), 404,
                   "not-found")
    assert_problem(call(shop.client, "DELETE", f"/api/v1/feedback/{world['b_vote']}",
                        token=a.token), 404, "not-found")
    assert shop.client.get(f"/api/v1/feedback/{world['b_vote']}", headers=b.auth).status == 200
    mine = shop.client.get("/api/v1/feedback", headers=a.auth).json()["items"]
    assert {v["id"] for v in mine} == {world["a_vote"]}
    # the same (request, book) pair voted by another user is that user's own vote
    assert shop.client.get("/api/v1/feedback?request_id=req-b", headers=a.auth).json()[
        "items"] == []


def test_carts_are_separate(shop, world):
    a, b, books = world["a"], world["b"], world["books"]
    ca = get_cart(shop.client, token=a.token)
    cb = get_cart(shop.client, token=b.token)
    assert [i["book_id"] for i in ca["items"]] == [books["a_cart"]["id"]]
    assert [i["book_id"] for i in cb["items"]] == [books["b_cart"]["id"]]
    # a change to one is not seen in the other
    r = call(shop.client, "DELETE", f"/api/v1/cart/items/{books['b_cart']['id']}", token=a.token)
    assert_problem(r, 404, "not-found")
    assert line(get_cart(shop.client, token=b.token), books["b_cart"]["id"])["quantity"] == 2


def test_a_cart_token_is_ignored_with_a_bearer_token(shop, world):
    a, books = world["a"], world["books"]
    r = add_to_cart(shop.client, books["anon"]["id"], 3)
    anon = r.json()["cart_token"]
    for headers in ({"X-Cart-Token": anon}, {"Cookie": f"lm_cart={anon}"}):
        cart = get_cart(shop.client, token=a.token, headers=headers)
        assert line(cart, books["anon"]["id"]) is None, cart
        assert line(cart, books["a_cart"]["id"]) is not None
    # writes go to the user's cart, never the anonymous one
    r = add_to_cart(shop.client, books["anon"]["id"], 1, token=a.token, cart_token=anon)
    assert r.status == 200 and "cart_token" not in r.json()
    assert line(r.json(), books["anon"]["id"])["quantity"] == 1
    r = call(shop.client, "DELETE", "/api/v1/cart", token=a.token,
             headers={"X-Cart-Token": anon})
    assert r.status == 200 and r.json()["items"] == []
    anon_cart = get_cart(shop.client, cart_token=anon)
    assert [(i["book_id"], i["quantity"]) for i in anon_cart["items"]] == [
        (books["anon"]["id"], 3)]
    # restore a's cart line for the other tests
    add_to_cart(shop.client, books["a_cart"]["id"], 2, token=a.token)


def test_a_users_cart_is_not_reachable_by_a_cart_token(shop, world):
    """The user's cart has no token; guessing one only makes a new anonymous cart."""
    cart = get_cart(shop.client, cart_token=f"user-{world['a'].id}")
    assert cart["items"] == []


# ---- admin routes ---------------------------------------------------------------------------


def admin_routes(world):
    book = world["books"]["a_order"]["id"]
    return [
        ("POST", "/api/v1/admin/books", {"id": unique("forbidden-"), "title": "Nope"}),
        ("PUT", f"/api/v1/admin/books/{book}", {"title": "Replaced by a customer"}),
        ("PATCH", f"/api/v1/admin/books/{book}", {"price_cents": 1}),
        ("DELETE", f"/api/v1/admin/books/{book}", None),
        ("PATCH", f"/api/v1/admin/orders/{world['a_order']}", {"status": "shipped"}),
        ("GET", "/api/v1/admin/feedback/stats", None),
    ]


ADMIN_ROUTE_IDS = ["create_book", "replace_book", "patch_book", "delete_book",
                   "set_order_status", "feedback_stats"]


@pytest.mark.parametrize("i", range(len(ADMIN_ROUTE_IDS)), ids=ADMIN_ROUTE_IDS)
def test_customers_get_403_on_admin_routes(shop, world, i):
    method, target, body = admin_routes(world)[i]
    r = call(shop.client, method, target, body, token=world["a"].token)
    assert_problem(r, 403, "forbidden")
    # nothing changed
    book = world["books"]["a_order"]
    got = shop.client.get(f"/api/v1/books/{book['id']}")
    assert got.status == 200 and got.json()["title"] == book["title"]
    assert got.json()["price_cents"] == book["price_cents"]
    assert shop.client.get(f"/api/v1/orders/{world['a_order']}", headers=world["a"].auth).json()[
        "status"] == "paid"


@pytest.mark.parametrize("i", range(len(ADMIN_ROUTE_IDS)), ids=ADMIN_ROUTE_IDS)
def test_admin_routes_without_a_token_are_401(shop, world, i):
    method, target, body = admin_routes(world)[i]
    assert_problem(call(shop.client, method, target, body), 401, "unauthenticated")


def test_a_forged_admin_token_is_refused_but_a_signed_one_is_trusted(shop, world):
    """Roles live in the signed token: a customer cannot make one (see test_auth for tampered
    tokens), and the server trusts one signed with its key."""
    a = world["a"]
    r = shop.client.get("/api/v1/admin/feedback/stats",
                        headers={"Authorization": f"Bearer {shop.token_for(a.id, 'admin')}"})
    assert r.status == 200, r


# ---- signed-in routes without a token -------------------------------------------------------


def signed_in_routes(world):
    return [
        ("GET", "/api/v1/me", None),
        ("GET", "/api/v1/orders", None),
        ("POST", "/api/v1/orders", {"shipping": {}, "payment": {}}),
        ("GET", f"/api/v1/orders/{world['a_order']}", None),
        ("GET", "/api/v1/orders/ord_missing", None),
        ("POST", f"/api/v1/orders/{world['a_order']}/cancel", None),
        ("GET", "/api/v1/feedback", None),
        ("POST", "/api/v1/feedback", {"request_id": "r", "book_id": "pg-84", "vote": "up"}),
        ("GET", f"/api/v1/feedback/{world['a_vote']}", None),
        ("DELETE", f"/api/v1/feedback/{world['a_vote']}", None),
        ("GET", "/api/v1/admin/feedback/stats", None),
        ("PATCH", f"/api/v1/admin/orders/{world['a_order']}", {"status": "cancelled"}),
        ("POST", "/api/v1/admin/books", {"title": "x", "id": "x-1"}),
        ("DELETE", "/api/v1/admin/books/pg-84", None),
    ]


SIGNED_IN_IDS = ["me", "list_orders", "checkout", "get_order", "get_missing_order",
                 "cancel_order", "list_votes", "vote", "get_vote", "delete_vote",
                 "feedback_stats", "set_order_status", "create_book", "delete_book"]


@pytest.mark.parametrize("i", range(len(SIGNED_IN_IDS)), ids=SIGNED_IN_IDS)
def test_signed_in_routes_need_a_token(shop, world, i):
    method, target, body = signed_in_routes(world)[i]
    assert_problem(call(shop.client, method, target, body), 401, "unauthenticated")
    # a cart token is no substitute
    anon = add_to_cart(shop.client, world["books"]["anon"]["id"], 1).json()["cart_token"]
    assert_problem(call(shop.client, method, target, body, headers={"X-Cart-Token": anon}), 401,
                   "unauthenticated")
    # and nothing happened
    assert shop.client.get(f"/api/v1/orders/{world['a_order']}", headers=world["a"].auth).json()[
        "status"] == "paid"
    assert shop.client.get(f"/api/v1/feedback/{world['a_vote']}",
                           headers=world["a"].auth).status == 200
    assert shop.client.get("/api/v1/books/pg-84").status == 200


@pytest.mark.parametrize("target", ["/api/v1/me", "/api/v1/orders", "/api/v1/cart",
                                    "/api/v1/feedback"])
def test_personal_responses_are_not_cacheable(shop, world, target):
    r = shop.client.get(target, headers=world["a"].auth)
    assert r.status == 200, r
    assert r.headers.get("cache-control") == "no-store"
    assert "etag" not in r.headers
