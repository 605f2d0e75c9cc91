"""Admin catalogue writes: create (with and without id), field validation listing every bad
field, replace, price/stock patches, delete; the public catalogue follows (through its response
cache), carts lose deleted books, orders keep them."""

import re

import pytest

from shop_support import (add_to_cart, assert_problem, call, checkout, get_cart, line,
                          poll_book, unique)

ADMIN_BOOKS = "/api/v1/admin/books"


@pytest.fixture(scope="module")
def shop(shop_server):
    return shop_server


def admin_call(shop, method, target, body=None):
    return call(shop.client, method, target, body, token=shop.admin.token)


def full_record(book_id=None, **over):
    rec = {"title": "The Test of Time", "authors": ["Wells, H. G.", "Tester, Tess"],
           "description": "  A book made by the integration tests.  ",
           "genres": ["Science fiction", "Tests"], "year": 1895,
           "isbn13": "978-0-306-40615-7", "pages": 120, "rating": 4.25, "downloads": 77,
           "language": "EN", "cover_url": "https://example.org/cover.jpg",
           "price_cents": 1999, "currency": "EUR", "stock": 12, "source": "integration tests"}
    if book_id is not None:
        rec["id"] = book_id
    rec.update(over)
    return rec


def test_create_a_book(shop):
    bid = unique("new-")
    # the public catalogue has never heard of it (and may cache that)
    assert shop.client.get(f"/api/v1/books/{bid}").status == 404
    r = admin_call(shop, "POST", ADMIN_BOOKS, full_record(bid, isbn13=None))
    assert r.status == 201, r
    assert r.headers["location"] == f"/api/v1/books/{bid}"
    b = r.json()
    assert b["id"] == bid and b["title"] == "The Test of Time"
    assert [a["name"] for a in b["authors"]] == ["Wells, H. G.", "Tester, Tess"]
    assert sorted(b["genres"]) == ["Science fiction", "Tests"]
    assert b["description"] == "A book made by the integration tests."
    assert (b["year"], b["pages"], b["rating"], b["popularity"]) == (1895, 120, 4.25, 77)
    assert b["language"] == "en"  # normalised, as in an import
    assert (b["price_cents"], b["currency"], b["stock"], b["in_stock"]) == (1999, "EUR", 12, True)
    assert b["source"] == "integration tests"
    got = poll_book(shop.client, bid, lambda r: r.status == 200)
    assert got.status == 200, got
    assert got.json() == b
    # and it is found by the list endpoints too
    listed = shop.client.get_json("/api/v1/books?q=The%20Test%20of%20Time&limit=100")
    assert bid in [x["id"] for x in listed["items"]]


def test_create_with_isbn(shop):
    r = admin_call(shop, "POST", ADMIN_BOOKS, full_record(unique("isbn-")))
    assert r.status == 201, r
    assert r.json()["isbn13"] == "9780306406157"
    # the same ISBN on another book is a conflict
    r = admin_call(shop, "POST", ADMIN_BOOKS, full_record(unique("isbn-")))
    assert_problem(r, 409, "isbn-taken")


def test_create_without_id_makes_one(shop):
    r = admin_call(shop, "POST", ADMIN_BOOKS, {"title": "Anonymous Work"})
    assert r.status == 201, r
    b = r.json()
    assert re.fullmatch(r"lm-[A-Za-z0-9_-]+", b["id"]), b["id"]
    assert r.headers["location"] == f"/api/v1/books/{b['id']}"
    # price and stock are synthetic when left out, as in an import
    assert b["price_cents"] >= 0 and b["stock"] >= 0 and b["currency"] == "USD"
    assert b["authors"] == [] and b["genres"] == []
    other = admin_call(shop, "POST", ADMIN_BOOKS, {"title": "Anonymous Work", "id": None})
    assert other.status == 201 and other.json()["id"] != b["id"]


def test_duplicate_id_is_409(shop):
    bid = unique("dup-")
    assert admin_call(shop, "POST", ADMIN_BOOKS, {"id": bid, "title": "First"}).status == 201
    assert_problem(admin_call(shop, "POST", ADMIN_BOOKS, {"id": bid, "title": "Second"}), 409,
                   "book-exists")
    # a sample book too
    assert_problem(admin_call(shop, "POST", ADMIN_BOOKS, {"id": "pg-84", "title": "Again"}), 409,
                   "book-exists")
    assert poll_book(shop.client, bid, lambda r: r.status == 200).json()["title"] == "First"


def test_invalid_fields_are_all_listed(shop):
    bad = {"id": "bad id!", "title": "   ", "year": 99999, "rating": 7.5, "pages": 0,
           "downloads": -1, "language": "english!", "cover_url": "ftp://example.org/x.jpg",
           "currency": "usd", "price_cents": -5, "stock": -1, "isbn13": "12345",
           "authors": [""], "genres": ["ok", 5], "source": "s" * 101}
    r = admin_call(shop, "POST", ADMIN_BOOKS, bad)
    body = assert_problem(r, 400, "invalid-book")
    fields = {e["field"] for e in body["errors"]}
    expected = {"id", "title", "year", "rating", "pages", "downloads", "language", "cover_url",
                "currency", "price_cents", "stock", "isbn13", "authors[0]", "genres[1]", "source"}
    assert expected <= fields, sorted(expected - fields)
    assert all(e["message"] for e in body["errors"])


@pytest.mark.parametrize("body,field", [
    ({"id": "t-1"}, "title"),
    ({"title": 5}, "title"),
    ({"title": "x", "year": "1900"}, "year"),
    ({"title": "x", "authors": "Austen, Jane"}, "authors"),
    ({"title": "x", "rating": "good"}, "rating"),
    ({"title": "x", "stock": 1.5}, "stock"),
    ({"title": "x" * 1001}, "title"),
    ({"title": "x", "description": "d" * 20001}, "description"),
    ({"title": "x", "isbn13": "9780306406158"}, "isbn13"),
])
def test_one_invalid_field(shop, body, field):
    body = dict(body)
    body.setdefault("id", unique("bad-"))
    r = admin_call(shop, "POST", ADMIN_BOOKS, body)
    assert_problem(r, 400, "invalid-book", field=field)
    assert shop.client.get(f"/api/v1/books/{body['id']}").status == 404


def test_put_replaces_every_field(shop):
    b = shop.create_book(price_cents=500, stock=5, year=1900, pages=300)
    r = admin_call(shop, "PUT", f"{ADMIN_BOOKS}/{b['id']}",
                   {"title": "Replaced Title", "authors": ["New, Author"], "price_cents": 700,
                    "stock": 9})
    assert r.status == 200, r
    got = r.json()
    assert got["id"] == b["id"] and got["title"] == "Replaced Title"
    assert [a["name"] for a in got["authors"]] == ["New, Author"]
    assert got["genres"] == [] and got["year"] is None and got["pages"] is None
    assert (got["price_cents"], got["stock"]) == (700, 9)
    assert got["change_seq"] > b["change_seq"]
    assert got["created_at"] == b["created_at"]
    pub = poll_book(shop.client, b["id"], lambda r: r.json()["title"] == "Replaced Title")
    assert pub.json() == got
    # the body's id may repeat the path's, never another
    assert admin_call(shop, "PUT", f"{ADMIN_BOOKS}/{b['id']}",
                      {"id": b["id"], "title": "Same Id"}).status == 200
    assert_problem(admin_call(shop, "PUT", f"{ADMIN_BOOKS}/{b['id']}",
                              {"id": "pg-84", "title": "Hijack"}), 400)
    assert_problem(admin_call(shop, "PUT", f"{ADMIN_BOOKS}/{b['id']}", {"authors": []}), 400,
                   "invalid-book", field="title")


def test_put_unknown_book_is_404(shop):
    assert_problem(admin_call(shop, "PUT", f"{ADMIN_BOOKS}/no-such-book", {"title": "x"}), 404,
                   "not-found")
    assert_problem(admin_call(shop, "PUT", f"{ADMIN_BOOKS}/bad%20id", {"title": "x"}), 404,
                   "not-found")


def test_patch_price_and_stock(shop):
    b = shop.create_book(price_cents=500, stock=5)
    r = admin_call(shop, "PATCH", f"{ADMIN_BOOKS}/{b['id']}", {"price_cents": 650})
    assert r.status == 200, r
    p1 = r.json()
    assert (p1["price_cents"], p1["stock"]) == (650, 5)
    assert p1["change_seq"] > b["change_seq"]
    p2 = admin_call(shop, "PATCH", f"{ADMIN_BOOKS}/{b['id']}", {"stock": 0}).json()
    assert (p2["price_cents"], p2["stock"], p2["in_stock"]) == (650, 0, False)
    assert p2["change_seq"] > p1["change_seq"]
    p3 = admin_call(shop, "PATCH", f"{ADMIN_BOOKS}/{b['id']}",
                    {"price_cents": 0, "stock": 1000000}).json()
    assert (p3["price_cents"], p3["stock"]) == (0, 1000000)
    assert p3["title"] == b["title"]  # nothing else changes
    pub = poll_book(shop.client, b["id"], lambda r: r.json()["stock"] == 1000000)
    assert pub.json()["stock"] == 1000000 and pub.json()["change_seq"] == p3["change_seq"]


@pytest.mark.parametrize("body,field", [({}, None), ({"price_cents": -1}, "price_cents"),
                                        ({"price_cents": 100000001}, "price_cents"),
                                        ({"stock": 1000001}, "stock"), ({"stock": "5"}, "stock"),
                                        ({"stock": 1.5}, "stock"), ({"price_cents": None}, None),
                                        ({"title": "x"}, "title")])
def test_patch_bad_bodies_are_400(shop, body, field):
    r = admin_call(shop, "PATCH", f"{ADMIN_BOOKS}/pg-84", body)
    assert_problem(r, 400, field=field)


def test_patch_unknown_book_is_404(shop):
    assert_problem(admin_call(shop, "PATCH", f"{ADMIN_BOOKS}/no-such-book", {"stock": 1}), 404,
                   "not-found")


def test_delete_a_book(shop):
    b = shop.create_book()
    assert poll_book(shop.client, b["id"], lambda r: r.status == 200).status == 200
    r = admin_call(shop, "DELETE", f"{ADMIN_BOOKS}/{b['id']}")
    assert r.status == 204, r
    got = poll_book(shop.client, b["id"], lambda r: r.status == 404)
    assert_problem(got, 404, "not-found")
    assert_problem(admin_call(shop, "DELETE", f"{ADMIN_BOOKS}/{b['id']}"), 404, "not-found")
    assert_problem(admin_call(shop, "PATCH", f"{ADMIN_BOOKS}/{b['id']}", {"stock": 1}), 404)
    # the id can be used again
    assert admin_call(shop, "POST", ADMIN_BOOKS, {"id": b["id"], "title": "Reborn"}).status == 201
    assert poll_book(shop.client, b["id"],
                     lambda r: r.status == 200).json()["title"] == "Reborn"


def test_deleted_book_leaves_carts_but_orders_keep_it(shop):
    gone, kept = shop.create_book(price_cents=800, stock=10), shop.create_book(price_cents=300,
                                                                              stock=10)
    user = shop.new_user("deleted")
    add_to_cart(shop.client, gone["id"], 2, token=user.token)
    r = checkout(shop.client, user.token, unique("key-"))
    assert r.status == 201, r
    order = r.json()
    add_to_cart(shop.client, gone["id"], 1, token=user.token)
    add_to_cart(shop.client, kept["id"], 1, token=user.token)
    anon = add_to_cart(shop.client, gone["id"], 1).json()["cart_token"]

    assert admin_call(shop, "DELETE", f"{ADMIN_BOOKS}/{gone['id']}").status == 204
    cart = get_cart(shop.client, token=user.token)
    assert line(cart, gone["id"]) is None and line(cart, kept["id"]) is not None
    assert cart["subtotal_cents"] == 300 and cart["checkout_ready"] is True
    assert get_cart(shop.client, cart_token=anon)["items"] == []

    again = shop.client.get(f"/api/v1/orders/{order['id']}", headers=user.auth)
    assert again.status == 200, again
    assert again.json()["lines"] == order["lines"]
    assert again.json()["total_cents"] == 1600
    # cancelling that order restocks what still exists and does not fail on the deleted book
    r = call(shop.client, "POST", f"/api/v1/orders/{order['id']}/cancel", token=user.token)
    assert r.status == 200 and r.json()["status"] == "cancelled", r
    assert r.json()["lines"] == order["lines"]
