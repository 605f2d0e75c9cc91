"""Racing checkouts: stock is never oversold or driven negative, and one idempotency key makes
one order however many times it is sent at once. Final state is read from the store itself,
not through the response cache."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from shop_support import Shop, add_to_cart, checkout, checkout_body, unique


@pytest.fixture(scope="module")
def shop(store):
    s = Shop.start(store, "--blocking-threads", "8", "--store-pool-size", "8")
    yield s
    s.kill()


def race(n, fn):
    """Runs fn(i) for i in range(n) on n threads released together; returns the results."""
    barrier = threading.Barrier(n)
    results = [None] * n

    def run(i):
        barrier.wait(30)
        try:
            results[i] = fn(i)
        except Exception as e:  # noqa: BLE001 - reported by the caller
            results[i] = e

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not any(t.is_alive() for t in threads), "a request did not finish"
    return results


def test_concurrent_checkouts_never_oversell(shop):
    book = shop.create_book(price_cents=1000, stock=100)
    with ThreadPoolExecutor(8) as pool:
        users = list(pool.map(lambda i: shop.new_user("racer"), range(50)))
    for u in users:
        r = add_to_cart(shop.client, book["id"], 1, token=u.token)
        assert r.status == 200, r
    shop.patch_book(book["id"], stock=10)

    results = race(50, lambda i: checkout(shop.client, users[i].token, unique("race-")))
    errors = [r for r in results if isinstance(r, Exception)]
    assert not errors, errors[:3]
    statuses = sorted(r.status for r in results)
    won = [r for r in results if r.status == 201]
    lost = [r for r in results if r.status != 201]
    assert len(won) == 10, statuses
    assert len(lost) == 40, statuses
    for r in lost:
        assert r.status == 409 and r.json()["type"] == "/problems/out-of-stock", r

    assert shop.stock(book["id"]) == 0
    assert int(shop.scalar(f"SELECT MIN(stock) FROM books WHERE ext_id = '{book['id']}'")) >= 0
    sold = shop.scalar("SELECT COALESCE(SUM(l.quantity), 0) FROM order_lines l "
                       f"WHERE l.book_ext_id = '{book['id']}'")
    assert int(sold) == 10
    assert len({r.json()["id"] for r in won}) == 10
    # the losers keep their (now flagged) cart line; the winners' carts are empty
    winners = {r.json()["user"]["id"] for r in won}
    for u in users:
        cart = shop.client.get("/api/v1/cart", headers=u.auth).json()
        if u.id in winners:
            assert cart["items"] == []
        else:
            assert cart["items"][0]["problem"] == "out_of_stock" and not cart["checkout_ready"]


def test_one_idempotency_key_sent_concurrently_makes_one_order(shop):
    book = shop.create_book(price_cents=1000, stock=100)
    user = shop.new_user("retrier")
    assert add_to_cart(shop.client, book["id"], 2, token=user.token).status == 200
    key = unique("same-")
    body = checkout_body()

    results = race(10, lambda i: checkout(shop.client, user.token, key, body))
    errors = [r for r in results if isinstance(r, Exception)]
    assert not errors, errors[:3]
    orders = shop.sql(f"SELECT public_id FROM orders WHERE user_id = {user.id}")
    assert len(orders) == 1, orders
    ok = [r for r in results if r.status == 201]
    assert ok, [r.status for r in results]
    assert {r.json()["id"] for r in ok} == {orders[0][0]}
    assert sum(1 for r in ok if "idempotent-replayed" not in r.headers) <= 1
    assert shop.stock(book["id"]) == 98
    # every request carried the key of an order that was made: each is answered with it
    assert [r.status for r in results] == [201] * 10, [
        (r.status, r.json().get("type")) for r in results if r.status != 201]


def test_concurrent_adds_to_one_line_all_count(shop):
    """Adds to a line that exists already: none is lost (no read-then-write of quantity)."""
    book = shop.create_book(price_cents=100, stock=500)
    user = shop.new_user("adder")
    assert add_to_cart(shop.client, book["id"], 1, token=user.token).status == 200
    results = race(20, lambda i: add_to_cart(shop.client, book["id"], 3, token=user.token))
    assert not [r for r in results if isinstance(r, Exception)]
    statuses = [r.status for r in results]
    cart = shop.client.get("/api/v1/cart", headers=user.auth).json()
    assert (statuses, cart["items"][0]["quantity"]) == ([200] * 20, 61), [
        r.json().get("detail") for r in results if r.status != 200][:3]


def test_concurrent_first_adds_make_one_cart(shop):
    """A signed-in user's first adds, sent at once: one cart is made and every add lands."""
    books = [shop.create_book(price_cents=100, stock=50) for _ in range(10)]
    user = shop.new_user("adder")
    results = race(10, lambda i: add_to_cart(shop.client, books[i]["id"], 1, token=user.token))
    assert not [r for r in results if isinstance(r, Exception)]
    statuses = [r.status for r in results]
    cart = shop.client.get("/api/v1/cart", headers=user.auth).json()
    assert (statuses, len(cart["items"])) == ([200] * 10, 10), [
        r.json().get("detail") for r in results if r.status != 200][:3]
    assert int(shop.scalar(f"SELECT COUNT(*) FROM carts WHERE user_id = {user.id}")) == 1


def test_concurrent_adds_of_a_new_line_all_count(shop):
    """The same book added at once to an existing cart that does not hold it yet."""
    other, book = shop.create_book(stock=50), shop.create_book(price_cents=100, stock=500)
    user = shop.new_user("adder")
    assert add_to_cart(shop.client, other["id"], 1, token=user.token).status == 200
    results = race(10, lambda i: add_to_cart(shop.client, book["id"], 2, token=user.token))
    assert not [r for r in results if isinstance(r, Exception)]
    statuses = [r.status for r in results]
    cart = shop.client.get("/api/v1/cart", headers=user.auth).json()
    qty = [i["quantity"] for i in cart["items"] if i["book_id"] == book["id"]]
    assert (statuses, qty) == ([200] * 10, [20]), [
        r.json().get("detail") for r in results if r.status != 200][:3]


def test_concurrent_cancels_restock_once(shop):
    book = shop.create_book(price_cents=100, stock=10)
    user = shop.new_user("canceller")
    assert add_to_cart(shop.client, book["id"], 4, token=user.token).status == 200
    order = checkout(shop.client, user.token, unique("key-")).json()
    assert shop.stock(book["id"]) == 6
    results = race(8, lambda i: shop.client.request(
        "POST", f"/api/v1/orders/{order['id']}/cancel", headers=user.auth))
    assert not [r for r in results if isinstance(r, Exception)]
    statuses = sorted(r.status for r in results)
    assert statuses.count(200) == 1, statuses
    for r in results:
        if r.status != 200:
            assert r.status == 409 and r.json()["type"] in (
                "/problems/invalid-status-transition", "/problems/conflict"), r
    assert shop.stock(book["id"]) == 10
    n = shop.scalar("SELECT COUNT(*) FROM order_events e JOIN orders o ON o.id = e.order_id "
                    f"WHERE o.public_id = '{order['id']}' AND e.kind = 'status_changed'")
    assert int(n) == 1


def test_concurrent_refreshes_of_one_token(shop):
    """One refresh token sent at once by several clients: at most one gets a session, the
    others are a reuse, and the reuse ends the session (the winner's new token too)."""
    from shop_support import login, refresh
    user = shop.new_user("refresher")
    tok = login(shop.client, user.email).json()["refresh_token"]
    results = race(6, lambda i: refresh(shop.client, tok))
    assert not [r for r in results if isinstance(r, Exception)]
    won = [r for r in results if r.status == 200]
    assert len(won) <= 1, [r.status for r in results]
    for r in results:
        if r.status != 200:
            assert r.status == 401, r
    assert any(r.status == 401 and r.json()["type"] == "/problems/refresh-token-reused"
               for r in results)
    for r in won:
        assert refresh(shop.client, r.json()["refresh_token"]).status == 401


def test_concurrent_registrations_of_one_email(shop):
    from shop_support import register, unique_email
    email = unique_email("twin")
    results = race(6, lambda i: register(shop.client, email, f"passphrase number {i}"))
    assert not [r for r in results if isinstance(r, Exception)]
    statuses = sorted(r.status for r in results)
    assert statuses == [201] + [409] * 5, statuses
    for r in results:
        if r.status == 409:
            assert r.json()["type"] == "/problems/email-taken", r
    assert int(shop.scalar(f"SELECT COUNT(*) FROM users WHERE email = '{email}'")) == 1
