"""Checkout and orders: the full checkout, idempotency keys, declined and unavailable payments,
card validation, price and stock checks, order lists and their visibility, cancellation with
restocking, admin status changes and the order's event history."""

import time

import pytest

from shop_support import (DECLINED_CARDS, GOOD_CARD, SHIPPING, UNAVAILABLE_CARD, add_to_cart,
                          assert_problem, call, checkout, checkout_body, get_cart, poll_book,
                          unique)

ORDERS = "/api/v1/orders"


@pytest.fixture(scope="module")
def shop(shop_server):
    return shop_server


@pytest.fixture
def buyer(shop):
    return shop.new_user("buyer")


def fill_cart(shop, user, *specs):
    """specs: (price_cents, stock, quantity); returns the books."""
    books = []
    for price, stock, qty in specs:
        b = shop.create_book(price_cents=price, stock=stock)
        r = add_to_cart(shop.client, b["id"], qty, token=user.token)
        assert r.status == 200, r
        books.append(b)
    return books


def place(shop, user, *specs, key=None):
    books = fill_cart(shop, user, *specs)
    r = checkout(shop.client, user.token, key or unique("key-"))
    assert r.status == 201, r
    return r.json(), books


def count_orders(shop, user_id):
    return int(shop.scalar(f"SELECT COUNT(*) FROM orders WHERE user_id = {user_id}"))


# ---- checkout -------------------------------------------------------------------------------


def test_full_checkout(shop, buyer):
    b1, b2 = fill_cart(shop, buyer, (1500, 10, 2), (250, 5, 1))
    # warm the catalogue cache, so that the poll below proves invalidation
    assert poll_book(shop.client, b1["id"], lambda r: r.status == 200).json()["stock"] == 10
    r = checkout(shop.client, buyer.token, unique("key-"))
    assert r.status == 201, r
    assert "idempotent-replayed" not in r.headers
    order = r.json()
    assert r.headers["location"] == f"/api/v1/orders/{order['id']}"
    assert order["status"] == "paid"
    assert order["user"] == {"id": buyer.id, "email": buyer.email}
    assert order["lines"] == [
        {"book_id": b1["id"], "title": b1["title"], "unit_price_cents": 1500, "quantity": 2,
         "line_total_cents": 3000},
        {"book_id": b2["id"], "title": b2["title"], "unit_price_cents": 250, "quantity": 1,
         "line_total_cents": 250}]
    assert order["total_cents"] == 3250 and order["item_count"] == 3
    assert order["currency"] == "USD"
    assert order["payment"]["provider"] == "test" and order["payment"]["card_last4"] == "4242"
    assert GOOD_CARD not in r.text()  # the card number is never echoed
    assert order["shipping"] == {**SHIPPING, "line2": "", "country": "GB"}
    assert [e["kind"] for e in order["events"]] == ["order_placed"]
    assert order["events"][0]["details"]["total_cents"] == 3250
    assert r.headers.get("cache-control") == "no-store"

    # the cart is empty, the stock is down by the quantities (store and, soon, the cache)
    assert get_cart(shop.client, token=buyer.token)["items"] == []
    assert shop.stock(b1["id"]) == 8 and shop.stock(b2["id"]) == 4
    r1 = poll_book(shop.client, b1["id"], lambda r: r.json()["stock"] == 8)
    assert r1.json()["stock"] == 8 and r1.json()["change_seq"] > b1["change_seq"], r1
    assert poll_book(shop.client, b2["id"], lambda r: r.json()["stock"] == 4).json()["stock"] == 4

    # and the order reads back the same
    got = shop.client.get(r.headers["location"], headers=buyer.auth)
    assert got.status == 200 and got.json() == order


def test_checkout_pays_the_current_price(shop, buyer):
    (b,) = fill_cart(shop, buyer, (1000, 5, 2))
    shop.patch_book(b["id"], price_cents=1200)
    r = checkout(shop.client, buyer.token, unique("key-"))
    assert r.status == 201, r
    assert r.json()["lines"][0]["unit_price_cents"] == 1200 and r.json()["total_cents"] == 2400
    # later price changes do not touch the order
    shop.patch_book(b["id"], price_cents=9999)
    again = shop.client.get(f"{ORDERS}/{r.json()['id']}", headers=buyer.auth).json()
    assert again["lines"][0]["unit_price_cents"] == 1200 and again["total_cents"] == 2400


def test_card_number_spaces_and_hyphens_are_ignored(shop, buyer):
    fill_cart(shop, buyer, (100, 5, 1))
    r = checkout(shop.client, buyer.token, unique("key-"), number="4242 4242-4242 4242")
    assert r.status == 201, r
    assert r.json()["payment"]["card_last4"] == "4242"


# ---- idempotency ----------------------------------------------------------------------------


def test_same_key_and_body_replays_the_order(shop, buyer):
    (b,) = fill_cart(shop, buyer, (700, 10, 3))
    key = unique("key-")
    first = checkout(shop.client, buyer.token, key)
    assert first.status == 201, first
    second = checkout(shop.client, buyer.token, key)
    assert second.status == 201, second
    assert second.headers.get("idempotent-replayed") == "true"
    assert second.json()["id"] == first.json()["id"]
    assert second.headers["location"] == first.headers["location"]
    assert second.json()["lines"] == first.json()["lines"]
    assert shop.stock(b["id"]) == 7  # decremented once
    assert count_orders(shop, buyer.id) == 1
    # still a replay after the cart was refilled: the key made its order already
    add_to_cart(shop.client, b["id"], 1, token=buyer.token)
    third = checkout(shop.client, buyer.token, key)
    assert third.status == 201 and third.json()["id"] == first.json()["id"]
    assert shop.stock(b["id"]) == 7
    assert len(get_cart(shop.client, token=buyer.token)["items"]) == 1


def test_same_key_with_another_body_is_422(shop, buyer):
    fill_cart(shop, buyer, (700, 10, 1))
    key = unique("key-")
    assert checkout(shop.client, buyer.token, key).status == 201
    for body in (checkout_body(shipping={**SHIPPING, "name": "Someone Else"}),
                 checkout_body(expected_total_cents=700),
                 checkout_body(cvc="999")):
        assert_problem(checkout(shop.client, buyer.token, key, body), 422,
                       "idempotency-key-reused")
    assert count_orders(shop, buyer.id) == 1


def test_keys_are_per_user(shop, buyer):
    other = shop.new_user("buyer")
    key = unique("key-")
    fill_cart(shop, buyer, (100, 5, 1))
    fill_cart(shop, other, (100, 5, 1))
    a = checkout(shop.client, buyer.token, key)
    b = checkout(shop.client, other.token, key)
    assert a.status == 201 and b.status == 201, (a, b)
    assert a.json()["id"] != b.json()["id"]
    assert "idempotent-replayed" not in b.headers


def test_missing_idempotency_key_is_400(shop, buyer):
    (b,) = fill_cart(shop, buyer, (100, 5, 1))
    assert_problem(checkout(shop.client, buyer.token, None), 400, "idempotency-key-required")
    assert shop.stock(b["id"]) == 5
    assert len(get_cart(shop.client, token=buyer.token)["items"]) == 1


@pytest.mark.parametrize("key", ["k" * 129, "has space", "tab\tkey", "é-key"])
def test_malformed_idempotency_key_is_400(shop, buyer, key):
    fill_cart(shop, buyer, (100, 5, 1))
    r = call(shop.client, "POST", ORDERS, checkout_body(), token=buyer.token,
             headers={"Idempotency-Key": key.encode("utf-8").decode("latin-1")})
    assert_problem(r, 400, "invalid-parameter")
    assert count_orders(shop, buyer.id) == 0


def test_longest_idempotency_key_is_accepted(shop, buyer):
    fill_cart(shop, buyer, (100, 5, 1))
    assert checkout(shop.client, buyer.token, "K" * 128).status == 201


# ---- payment --------------------------------------------------------------------------------


@pytest.mark.parametrize("number", sorted(DECLINED_CARDS))
def test_declined_card_is_402_and_changes_nothing(shop, buyer, number):
    (b,) = fill_cart(shop, buyer, (900, 6, 2))
    before = get_cart(shop.client, token=buyer.token)
    body = assert_problem(checkout(shop.client, buyer.token, unique("key-"), number=number), 402,
                          "payment-declined")
    assert DECLINED_CARDS[number] in body["detail"]
    assert number not in body["detail"]
    assert shop.stock(b["id"]) == 6
    assert get_cart(shop.client, token=buyer.token) == before
    assert count_orders(shop, buyer.id) == 0
    # another card on the same cart goes through
    r = checkout(shop.client, buyer.token, unique("key-"))
    assert r.status == 201 and shop.stock(b["id"]) == 4


def test_unknown_test_card_is_declined(shop, buyer):
    fill_cart(shop, buyer, (100, 5, 1))
    assert_problem(checkout(shop.client, buyer.token, unique("key-"), number="5555555555554444"),
                   402, "payment-declined")


def test_payment_provider_unavailable_is_503(shop, buyer):
    (b,) = fill_cart(shop, buyer, (900, 6, 2))
    r = checkout(shop.client, buyer.token, unique("key-"), number=UNAVAILABLE_CARD)
    assert r.status == 503, r
    assert int(r.headers["retry-after"]) >= 1
    assert shop.stock(b["id"]) == 6
    assert get_cart(shop.client, token=buyer.token)["item_count"] == 2
    assert count_orders(shop, buyer.id) == 0
    # the provider's own problem type, as the contract lists it for 503
    assert_problem(r, 503, "payment-unavailable")


@pytest.mark.parametrize("number", ["4242424242424241", "4242", "4242424242424242424242",
                                    "4242x42424242424", "", "0000000000000000000a", "   "])
def test_invalid_card_number_is_400(shop, buyer, number):
    (b,) = fill_cart(shop, buyer, (100, 5, 1))
    assert_problem(checkout(shop.client, buyer.token, unique("key-"), number=number), 400,
                   "invalid-parameter", field="payment.card_number")
    assert shop.stock(b["id"]) == 5


def test_expired_card_is_400(shop, buyer):
    fill_cart(shop, buyer, (100, 5, 1))
    now = time.gmtime()
    last_year = checkout_body(exp_year=now.tm_year - 1)
    assert_problem(checkout(shop.client, buyer.token, unique("key-"), last_year), 400,
                   "invalid-parameter", field="payment.exp_year")
    if now.tm_mon > 1:
        last_month = checkout_body(exp_year=now.tm_year, exp_month=now.tm_mon - 1)
        assert_problem(checkout(shop.client, buyer.token, unique("key-"), last_month), 400,
                       field="payment.exp_year")
    # this month is still good
    this_month = checkout_body(exp_year=now.tm_year, exp_month=now.tm_mon)
    assert checkout(shop.client, buyer.token, unique("key-"), this_month).status == 201


@pytest.mark.parametrize("field,value", [("exp_month", 0), ("exp_month", 13), ("exp_year", 1999),
                                         ("exp_year", 2201), ("exp_year", 2100), ("cvc", "12"),
                                         ("cvc", "12345"), ("cvc", "12a"), ("cvc", 123)])
def test_bad_card_fields_are_400(shop, buyer, field, value):
    fill_cart(shop, buyer, (100, 5, 1))
    body = checkout_body()
    body["payment"][field] = value
    r = checkout(shop.client, buyer.token, unique("key-"), body)
    assert_problem(r, 400, "invalid-parameter")
    assert r.json()["errors"][0]["field"].startswith("payment."), r.json()


@pytest.mark.parametrize("field,value", [("name", ""), ("name", "   "), ("line1", ""),
                                         ("city", "x" * 101), ("postal_code", "1" * 21),
                                         ("country", "GBR"), ("country", "1A"), ("country", ""),
                                         ("name", "bad\u0007bell"), ("line2", "y" * 201)])
def test_bad_shipping_fields_are_400(shop, buyer, field, value):
    fill_cart(shop, buyer, (100, 5, 1))
    body = checkout_body()
    body["shipping"][field] = value
    assert_problem(checkout(shop.client, buyer.token, unique("key-"), body), 400,
                   "invalid-parameter", field=f"shipping.{field}")


def test_missing_shipping_field_is_400(shop, buyer):
    fill_cart(shop, buyer, (100, 5, 1))
    for f in ("name", "line1", "city", "postal_code", "country"):
        body = checkout_body()
        del body["shipping"][f]
        assert_problem(checkout(shop.client, buyer.token, unique("key-"), body), 400,
                       field=f"shipping.{f}")


# ---- cart checks ----------------------------------------------------------------------------


def test_empty_cart_is_409(shop, buyer):
    assert_problem(checkout(shop.client, buyer.token, unique("key-")), 409, "cart-empty")
    # and after a checkout emptied it
    place(shop, buyer, (100, 5, 1))
    assert_problem(checkout(shop.client, buyer.token, unique("key-")), 409, "cart-empty")


def test_expected_total_mismatch_is_409(shop, buyer):
    (b,) = fill_cart(shop, buyer, (1234, 5, 2))
    assert_problem(checkout(shop.client, buyer.token, unique("key-"),
                            expected_total_cents=2000), 409, "price-changed")
    assert shop.stock(b["id"]) == 5
    r = checkout(shop.client, buyer.token, unique("key-"), expected_total_cents=2468)
    assert r.status == 201, r
    assert r.json()["total_cents"] == 2468


def test_price_change_after_review_is_caught(shop, buyer):
    (b,) = fill_cart(shop, buyer, (1000, 5, 1))
    total = get_cart(shop.client, token=buyer.token)["subtotal_cents"]
    shop.patch_book(b["id"], price_cents=1100)
    assert_problem(checkout(shop.client, buyer.token, unique("key-"),
                            expected_total_cents=total), 409, "price-changed")


def test_stock_gone_since_adding_is_409(shop, buyer):
    (b,) = fill_cart(shop, buyer, (100, 3, 3))
    shop.patch_book(b["id"], stock=2)
    assert_problem(checkout(shop.client, buyer.token, unique("key-")), 409, "out-of-stock")
    assert shop.stock(b["id"]) == 2
    assert get_cart(shop.client, token=buyer.token)["items"][0]["quantity"] == 3


# ---- lists ----------------------------------------------------------------------------------


def test_order_list_shows_only_own_orders(shop):
    a, b = shop.new_user("lista"), shop.new_user("listb")
    oa1, _ = place(shop, a, (100, 5, 1))
    oa2, _ = place(shop, a, (200, 5, 2))
    ob, _ = place(shop, b, (300, 5, 1))

    r = shop.client.get(ORDERS, headers=a.auth)
    assert r.status == 200, r
    page = r.json()
    assert [o["id"] for o in page["items"]] == [oa2["id"], oa1["id"]]  # newest first
    assert page["has_more"] is False and page["next_cursor"] is None
    assert all(o["user"]["id"] == a.id for o in page["items"])
    s = page["items"][0]
    assert "lines" not in s and s["total_cents"] == 400 and s["item_count"] == 2
    assert r.headers.get("cache-control") == "no-store"
    assert [o["id"] for o in shop.client.get(ORDERS, headers=b.auth).json()["items"]] == [ob["id"]]

    # paging
    p1 = shop.client.get(f"{ORDERS}?limit=1", headers=a.auth).json()
    assert [o["id"] for o in p1["items"]] == [oa2["id"]] and p1["has_more"] is True
    p2 = shop.client.get(f"{ORDERS}?limit=1&cursor={p1['next_cursor']}", headers=a.auth).json()
    assert [o["id"] for o in p2["items"]] == [oa1["id"]] and p2["has_more"] is False

    # the admin sees everybody's, and can filter by user
    admin = shop.admin
    everyone = {o["id"] for o in shop.client.get(f"{ORDERS}?limit=100",
                                                 headers=admin.auth).json()["items"]}
    assert {oa1["id"], oa2["id"], ob["id"]} <= everyone
    only_a = shop.client.get(f"{ORDERS}?user={a.id}", headers=admin.auth).json()
    assert [o["id"] for o in only_a["items"]] == [oa2["id"], oa1["id"]]

    # a customer may not use ?user=, not even with their own id
    assert_problem(shop.client.get(f"{ORDERS}?user={b.id}", headers=a.auth), 403, "forbidden")
    assert_problem(shop.client.get(f"{ORDERS}?user={a.id}", headers=a.auth), 403, "forbidden")


def test_order_list_filters_by_status(shop):
    u = shop.new_user("status")
    o1, _ = place(shop, u, (100, 5, 1))
    o2, _ = place(shop, u, (100, 5, 1))
    assert call(shop.client, "POST", f"{ORDERS}/{o1['id']}/cancel", token=u.token).status == 200
    got = shop.client.get(f"{ORDERS}?status=cancelled", headers=u.auth).json()
    assert [o["id"] for o in got["items"]] == [o1["id"]]
    got = shop.client.get(f"{ORDERS}?status=paid", headers=u.auth).json()
    assert [o["id"] for o in got["items"]] == [o2["id"]]
    assert shop.client.get(f"{ORDERS}?status=shipped", headers=u.auth).json()["items"] == []


@pytest.mark.parametrize("query", ["status=lost", "status=", "limit=0", "limit=101", "limit=x",
                                   "user=0", "user=x", "cursor=%2A%2A", "cursor=", "cursor=bzow",
                                   "cursor=bzp4", "cursor=eDo1",
                                   "limit=1&limit=2"])
def test_order_list_bad_parameters_are_400(shop, query):
    r = shop.client.get(f"{ORDERS}?{query}", headers=shop.admin.auth)
    assert_problem(r, 400, "invalid-parameter")


def test_unknown_order_is_404(shop, buyer):
    for oid in ("ord_doesnotexist", "x", "a" * 64, "a" * 65, "ord%24x"):
        assert_problem(shop.client.get(f"{ORDERS}/{oid}", headers=buyer.auth), 404, "not-found")
        assert_problem(call(shop.client, "POST", f"{ORDERS}/{oid}/cancel", token=buyer.token),
                       404, "not-found")


# ---- cancellation and status changes --------------------------------------------------------


def test_customer_cancels_own_paid_order(shop, buyer):
    order, (b1, b2) = place(shop, buyer, (500, 10, 3), (700, 4, 4))
    assert shop.stock(b1["id"]) == 7 and shop.stock(b2["id"]) == 0
    r = call(shop.client, "POST", f"{ORDERS}/{order['id']}/cancel", token=buyer.token)
    assert r.status == 200, r
    got = r.json()
    assert got["status"] == "cancelled"
    assert got["lines"] == order["lines"]  # what was bought is kept
    assert shop.stock(b1["id"]) == 10 and shop.stock(b2["id"]) == 4
    assert poll_book(shop.client, b2["id"],
                     lambda r: r.json()["stock"] == 4).json()["stock"] == 4
    ev = got["events"]
    assert [e["kind"] for e in ev] == ["order_placed", "status_changed"]
    assert ev[1]["details"]["from"] == "paid" and ev[1]["details"]["to"] == "cancelled"
    assert ev[1]["details"]["by"] == "customer"
    # twice is an invalid transition, and stock is restored only once
    assert_problem(call(shop.client, "POST", f"{ORDERS}/{order['id']}/cancel",
                        token=buyer.token), 409, "invalid-status-transition")
    assert shop.stock(b1["id"]) == 10


def test_admin_moves_an_order_along_its_states(shop, buyer):
    order, (b,) = place(shop, buyer, (500, 10, 2))
    admin = shop.admin
    path = f"/api/v1/admin/orders/{order['id']}"
    r = call(shop.client, "PATCH", path, {"status": "shipped"}, token=admin.token)
    assert r.status == 200 and r.json()["status"] == "shipped", r
    # a shipped order cannot be cancelled, by the customer or the admin
    assert_problem(call(shop.client, "POST", f"{ORDERS}/{order['id']}/cancel", token=buyer.token),
                   409, "invalid-status-transition")
    assert_problem(call(shop.client, "PATCH", path, {"status": "cancelled"}, token=admin.token),
                   409, "invalid-status-transition")
    r = call(shop.client, "PATCH", path, {"status": "delivered"}, token=admin.token)
    assert r.status == 200 and r.json()["status"] == "delivered", r
    for to in ("paid", "pending", "shipped", "cancelled", "delivered"):
        assert_problem(call(shop.client, "PATCH", path, {"status": to}, token=admin.token), 409,
                       "invalid-status-transition")
    assert shop.stock(b["id"]) == 8  # never restocked

    events = shop.client.get(f"{ORDERS}/{order['id']}", headers=buyer.auth).json()["events"]
    assert [e["kind"] for e in events] == ["order_placed", "status_changed", "status_changed"]
    assert [(e["details"]["from"], e["details"]["to"]) for e in events[1:]] == [
        ("paid", "shipped"), ("shipped", "delivered")]
    assert all(e["details"]["by"] == "admin" for e in events[1:])
    stamps = [e["at"] for e in events]
    assert stamps == sorted(stamps)


def test_admin_cancels_a_paid_order_and_restocks(shop, buyer):
    order, (b,) = place(shop, buyer, (500, 10, 2))
    r = call(shop.client, "PATCH", f"/api/v1/admin/orders/{order['id']}",
             {"status": "cancelled"}, token=shop.admin.token)
    assert r.status == 200 and r.json()["status"] == "cancelled", r
    assert shop.stock(b["id"]) == 10


def test_admin_status_bad_values(shop, buyer):
    order, _ = place(shop, buyer, (500, 10, 1))
    path = f"/api/v1/admin/orders/{order['id']}"
    for body in ({"status": "lost"}, {"status": ""}, {"status": 5}, {}, {"status": None}):
        assert_problem(call(shop.client, "PATCH", path, body, token=shop.admin.token), 400)
    assert_problem(call(shop.client, "PATCH", "/api/v1/admin/orders/ord_nope",
                        {"status": "shipped"}, token=shop.admin.token), 404, "not-found")
    assert shop.client.get(f"{ORDERS}/{order['id']}", headers=buyer.auth).json()["status"] \
        == "paid"


def test_customer_cannot_patch_admin_orders(shop, buyer):
    order, _ = place(shop, buyer, (500, 10, 1))
    for status in ("shipped", "cancelled"):
        assert_problem(call(shop.client, "PATCH", f"/api/v1/admin/orders/{order['id']}",
                            {"status": status}, token=buyer.token), 403, "forbidden")
    assert shop.client.get(f"{ORDERS}/{order['id']}", headers=buyer.auth).json()["status"] \
        == "paid"


def test_admin_reads_any_order(shop, buyer):
    order, _ = place(shop, buyer, (500, 10, 1))
    r = shop.client.get(f"{ORDERS}/{order['id']}", headers=shop.admin.auth)
    assert r.status == 200 and r.json()["id"] == order["id"]
    assert r.json()["user"] == {"id": buyer.id, "email": buyer.email}


def test_mixed_currencies_cannot_be_checked_out(shop, buyer):
    usd = shop.create_book(price_cents=1000, stock=5, currency="USD")
    eur = shop.create_book(price_cents=900, stock=5, currency="EUR")
    add_to_cart(shop.client, usd["id"], 1, token=buyer.token)
    add_to_cart(shop.client, eur["id"], 1, token=buyer.token)
    cart = get_cart(shop.client, token=buyer.token)
    assert cart["checkout_ready"] is False
    assert all(i["problem"] is None for i in cart["items"])
    assert_problem(checkout(shop.client, buyer.token, unique("key-")), 409, "mixed-currency")
    assert shop.stock(usd["id"]) == 5 and shop.stock(eur["id"]) == 5


def test_an_order_in_another_currency(shop, buyer):
    eur = shop.create_book(price_cents=450, stock=5, currency="EUR")
    add_to_cart(shop.client, eur["id"], 2, token=buyer.token)
    cart = get_cart(shop.client, token=buyer.token)
    assert cart["currency"] == "EUR" and cart["checkout_ready"] is True
    r = checkout(shop.client, buyer.token, unique("key-"))
    assert r.status == 201, r
    assert r.json()["currency"] == "EUR" and r.json()["total_cents"] == 900
