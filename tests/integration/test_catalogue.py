"""Catalogue behaviour: filters, sorting, pagination, details, caching, compression, request
ids, security headers and CORS. Expectations are computed from sample-200.jsonl itself."""

import collections
import gzip
import json
import re
from urllib.parse import quote

import pytest

from conftest import CORS_ORIGIN

BOOKS = "/api/v1/books"


def walk(client, path, params="", limit=100, items_key="items", max_pages=500):
    """Follows next_cursor to the end; returns (items, pages)."""
    sep = "&" if params else ""
    target = f"{path}?{params}{sep}limit={limit}"
    items, pages = [], 0
    while True:
        page = client.get_json(target)
        pages += 1
        assert pages <= max_pages, "pagination does not end"
        items.extend(page[items_key])
        assert len(page[items_key]) <= limit
        if not page["has_more"]:
            assert page["next_cursor"] is None, page
            break
        assert page["next_cursor"], page
        assert len(page[items_key]) == limit, "a non-final page must be full"
        target = f"{path}?{params}{sep}limit={limit}&cursor={quote(page['next_cursor'], safe='')}"
    return items, pages


def ids(items):
    return [b["id"] for b in items]


def title_key(title: str) -> str:
    # Documented nowhere but observable: titles sort ASCII-case-insensitively, ignoring leading
    # punctuation and a leading English article. Only the ordering property is checked.
    t = "".join(c.lower() if c.isascii() else c for c in title)
    i = 0
    while i < len(t) and t[i].isascii() and not t[i].isalnum():
        i += 1
    t = t[i:]
    for art in ("the ", "a ", "an "):
        if t.startswith(art) and len(t) > len(art):
            t = t[len(art):]
            break
    return t


@pytest.fixture(scope="module")
def all_books(server):
    items, _ = walk(server.client, BOOKS, limit=100)
    return items


# ---- lists, filters and sorting ------------------------------------------------------------


def test_default_list_is_first_page_by_popularity(client, sample):
    page = client.get_json(BOOKS)
    assert len(page["items"]) == 20
    assert page["has_more"] is True
    top = sorted(sample, key=lambda b: -b["downloads"])[:20]
    assert ids(page["items"]) == ids(top)
    pops = [b["popularity"] for b in page["items"]]
    assert pops == sorted(pops, reverse=True)


def test_cursor_walk_visits_every_book_once(client, sample):
    items, pages = walk(client, BOOKS, limit=7)
    got = ids(items)
    assert len(got) == len(set(got)), "duplicates while paging"
    assert set(got) == {b["id"] for b in sample}
    assert pages == -(-200 // 7)


@pytest.mark.parametrize("sort,order", [
    ("popularity", None), ("popularity", "asc"), ("title", None), ("title", "desc"),
    ("year", None), ("year", "asc"), ("price", None), ("price", "desc"),
    ("rating", None), ("rating", "asc"),
])
def test_sort_and_order_walk(client, sample, sort, order):
    params = f"sort={sort}" + (f"&order={order}" if order else "")
    items, _ = walk(client, BOOKS, params, limit=33)
    got = ids(items)
    assert len(got) == 200 and len(set(got)) == 200
    default_desc = sort in ("popularity", "year", "rating")
    desc = (order == "desc") if order else default_desc
    if sort == "popularity":
        keys = [b["popularity"] for b in items]
    elif sort == "price":
        keys = [b["price_cents"] for b in items]
    elif sort == "title":
        keys = [title_key(b["title"]) for b in items]
    else:  # year and rating are null throughout the sample: nulls last, ordering by id only
        assert all(b[sort] is None for b in items)
        return
    assert keys == sorted(keys, reverse=desc), f"not sorted by {sort} {'desc' if desc else 'asc'}"


def test_title_sort_first_page(client):
    page = client.get_json(f"{BOOKS}?sort=title&limit=5")
    keys = [title_key(b["title"]) for b in page["items"]]
    assert keys == sorted(keys)


def test_filter_q_matches_title_and_author_case_insensitively(client, sample):
    def expected(term):
        t = term.lower()
        return {b["id"] for b in sample
                if t in b["title"].lower() or any(t in a.lower() for a in b["authors"])}

    for term in ["shelley", "SHELLEY", "Frankenstein", "dictionary", "nietzsche", "war"]:
        items, _ = walk(client, BOOKS, f"q={quote(term)}")
        assert set(ids(items)) == expected(term), term
    assert "pg-84" in ids(client.get_json(f"{BOOKS}?q=shelley")["items"])


def test_filter_q_does_not_match_across_fields(client):
    """`q` is a substring match on the title and on author names, each on its own: a string
    spanning the end of the title and the first author, or two authors, matches nothing."""
    # pg-2701 "Moby Dick; Or, The Whale" by "Melville, Herman"
    assert client.get_json(f"{BOOKS}?q=whale%20melville")["items"] == []
    # pg-1184 by "Dumas, Alexandre" and "Maquet, Auguste"
    assert client.get_json(f"{BOOKS}?q=alexandre%3B%20maquet")["items"] == []


def test_filter_q_case_insensitive_beyond_ascii(client):
    # pg-41360 by "Durkheim, Émile"; pg-8710 "The Doré Bible Gallery, ..."
    assert "pg-41360" in ids(client.get_json(f"{BOOKS}?q={quote('Émile')}")["items"])
    assert "pg-41360" in ids(client.get_json(f"{BOOKS}?q={quote('émile')}")["items"])
    assert "pg-8710" in ids(client.get_json(f"{BOOKS}?q={quote('doré')}")["items"])
    assert "pg-8710" in ids(client.get_json(f"{BOOKS}?q={quote('DORÉ')}")["items"])


def test_filter_q_with_space_and_plus(client, sample):
    want = {b["id"] for b in sample if "of the" in b["title"].lower()
            or any("of the" in a.lower() for a in b["authors"])}
    assert want
    for enc in ["of+the", "of%20the"]:
        items, _ = walk(client, BOOKS, f"q={enc}")
        assert set(ids(items)) == want, enc


def test_filter_q_no_match(client):
    page = client.get_json(f"{BOOKS}?q=zzqqxxnotatitle")
    assert page == {"items": [], "has_more": False, "next_cursor": None}


def test_filter_genre(client, sample):
    counts = collections.Counter(g for b in sample for g in b["genres"])
    for genre in ["Classics of Literature", "Gothic Fiction", "Science-Fiction & Fantasy",
                  "Monsters -- Fiction"]:
        want = {b["id"] for b in sample if genre in b["genres"]}
        items, _ = walk(client, BOOKS, f"genre={quote(genre)}")
        assert set(ids(items)) == want, genre
        assert len(items) == counts[genre]
        assert all(genre in b["genres"] for b in items)


def test_filter_unknown_genre_is_empty(client):
    assert client.get_json(f"{BOOKS}?genre=No%20Such%20Genre")["items"] == []


def test_filter_author(client, sample, frankenstein_author_id):
    items, _ = walk(client, BOOKS, f"author={frankenstein_author_id}")
    want = {b["id"] for b in sample if "Shelley, Mary Wollstonecraft" in b["authors"]}
    assert set(ids(items)) == want and "pg-84" in want
    assert client.get_json(f"{BOOKS}?author=999999999")["items"] == []


def test_filter_language(client, sample):
    langs = collections.Counter(b["language"] for b in sample)
    items, _ = walk(client, BOOKS, "language=en")
    assert len(items) == langs["en"]
    assert all(b["language"] == "en" for b in items)
    assert client.get_json(f"{BOOKS}?language=fr")["items"] == []
    assert client.get_json(f"{BOOKS}?language=pt-br")["items"] == []


def test_filter_years(client):
    # The sample has no years: any year bound excludes every book.
    for p in ["year_min=1800", "year_max=2000", "year_min=-5000&year_max=2100"]:
        assert client.get_json(f"{BOOKS}?{p}")["items"] == [], p


def test_filter_price(client, all_books):
    prices = sorted(b["price_cents"] for b in all_books)
    lo, hi = prices[50], prices[150]
    items, _ = walk(client, BOOKS, f"price_min={lo}&price_max={hi}")
    want = {b["id"] for b in all_books if lo <= b["price_cents"] <= hi}
    assert set(ids(items)) == want
    items, _ = walk(client, BOOKS, f"price_min={lo}")
    assert set(ids(items)) == {b["id"] for b in all_books if b["price_cents"] >= lo}
    items, _ = walk(client, BOOKS, f"price_max={lo}")
    assert set(ids(items)) == {b["id"] for b in all_books if b["price_cents"] <= lo}
    assert client.get_json(f"{BOOKS}?price_min={hi}&price_max={lo}")["items"] == [] or lo == hi
    assert client.get_json(f"{BOOKS}?price_min=100000000")["items"] == []


def test_filter_in_stock(client, all_books):
    yes, _ = walk(client, BOOKS, "in_stock=true")
    no, _ = walk(client, BOOKS, "in_stock=false")
    assert all(b["in_stock"] and b["stock"] > 0 for b in yes)
    assert all(not b["in_stock"] and b["stock"] == 0 for b in no)
    assert len(yes) + len(no) == 200
    assert set(ids(yes)) == {b["id"] for b in all_books if b["stock"] > 0}


def test_combined_filters_and_pagination(client, all_books):
    params = "q=the&in_stock=true&sort=price&order=desc"
    items, _ = walk(client, BOOKS, params, limit=3)
    want = [b for b in all_books if b["stock"] > 0 and (
        "the" in b["title"].lower() or any("the" in a["name"].lower() for a in b["authors"]))]
    assert set(ids(items)) == set(ids(want))
    assert len(ids(items)) == len(set(ids(items)))
    prices = [b["price_cents"] for b in items]
    assert prices == sorted(prices, reverse=True)


@pytest.mark.parametrize("limit", [1, 20, 55, 100])
def test_limit(client, limit):
    page = client.get_json(f"{BOOKS}?limit={limit}")
    assert len(page["items"]) == limit
    assert page["has_more"] is True


def test_cursor_from_another_query_is_rejected(client):
    cur = client.get_json(f"{BOOKS}?limit=5&sort=title")["next_cursor"]
    for other in ["sort=price", "sort=title&order=desc", "sort=title&q=a", ""]:
        sep = "&" if other else ""
        r = client.get(f"{BOOKS}?{other}{sep}limit=5&cursor={quote(cur, safe='')}")
        assert r.status == 400, (other, r)
        assert r.json()["type"] == "/problems/invalid-parameter"
    # The same query with another limit is still the same listing.
    r = client.get(f"{BOOKS}?sort=title&limit=7&cursor={quote(cur, safe='')}")
    assert r.status in (200, 400), r


@pytest.mark.parametrize("cursor", ["garbage", "eyJ9", "AAAA", "eyJmIjoiMDAifQ",
                                    "%2F%2F%2F", "x" * 512])
def test_malformed_cursor(client, cursor):
    r = client.get(f"{BOOKS}?cursor={cursor}")
    assert r.status == 400, r
    assert r.json()["type"] == "/problems/invalid-parameter"


def test_tampered_cursor(client):
    cur = client.get_json(f"{BOOKS}?limit=5")["next_cursor"]
    flipped = cur[:-2] + ("A" if cur[-2] != "A" else "B") + cur[-1]
    r = client.get(f"{BOOKS}?limit=5&cursor={quote(flipped, safe='')}")
    assert r.status in (200, 400), r


# ---- book detail ---------------------------------------------------------------------------


def test_book_detail_frankenstein(client, sample):
    b = client.get_json(f"{BOOKS}/pg-84")
    src = next(s for s in sample if s["id"] == "pg-84")
    assert b["id"] == "pg-84"
    assert b["title"] == src["title"] == "Frankenstein; Or, The Modern Prometheus"
    assert [a["name"] for a in b["authors"]] == ["Shelley, Mary Wollstonecraft"]
    assert b["genres"] == src["genres"]
    assert b["description"] == src["description"]
    assert b["popularity"] == src["downloads"]
    assert b["language"] == "en"
    assert b["cover_url"] == src["cover_url"]
    assert b["source"] == "project-gutenberg"
    assert b["year"] is None and b["isbn13"] is None and b["pages"] is None
    assert b["rating"] is None
    assert b["currency"] == "USD"
    assert b["in_stock"] == (b["stock"] > 0)
    assert b["change_seq"] >= 1


def test_book_detail_matches_list_summary(client, all_books):
    summary = next(b for b in all_books if b["id"] == "pg-84")
    detail = client.get_json(f"{BOOKS}/pg-84")
    for k, v in summary.items():
        assert detail[k] == v, k


def test_every_sample_book_has_a_detail(client, sample):
    for s in sample[::10]:
        b = client.get_json(f"{BOOKS}/{quote(s['id'])}")
        assert b["title"] == s["title"]
        assert [a["name"] for a in b["authors"]] == s["authors"]


def test_book_not_found(client):
    r = client.get(f"{BOOKS}/pg-999999999")
    assert r.status == 404, r
    body = r.json()
    assert body["type"] == "/problems/not-found"


def test_book_detail_rejects_query_parameters(client):
    r = client.get(f"{BOOKS}/pg-84?foo=1")
    assert r.status == 400, r
    assert r.json()["type"] == "/problems/unknown-parameter"


# ---- genres and authors --------------------------------------------------------------------


def test_genres_with_counts(client, sample):
    counts = collections.Counter(g for b in sample for g in b["genres"])
    items, _ = walk(client, "/api/v1/genres", limit=1000)
    got = {g["name"]: g["book_count"] for g in items}
    assert len(items) == len(got), "duplicate genre"
    assert got == dict(counts)
    order = [(-g["book_count"], g["name"]) for g in items]
    assert order == sorted(order), "genres not sorted by book_count desc, name asc"


def test_genres_pagination(client):
    full, _ = walk(client, "/api/v1/genres", limit=1000)
    paged, pages = walk(client, "/api/v1/genres", limit=37)
    assert [g["id"] for g in paged] == [g["id"] for g in full]
    assert pages > 1


def test_genres_default_limit_and_q(client, sample):
    page = client.get_json("/api/v1/genres")
    assert len(page["items"]) == 100 and page["has_more"] is True
    names = {g for b in sample for g in b["genres"]}
    want = {n for n in names if "fiction" in n.lower()}
    items, _ = walk(client, "/api/v1/genres", "q=FICTION", limit=1000)
    assert {g["name"] for g in items} == want
    assert client.get_json("/api/v1/genres?q=zzqqxx")["items"] == []


def test_genre_cursor_is_not_a_book_cursor(client):
    cur = client.get_json("/api/v1/genres?limit=5")["next_cursor"]
    r = client.get(f"{BOOKS}?cursor={quote(cur, safe='')}")
    assert r.status == 400, r


def test_author_with_books(client, sample, frankenstein_author_id):
    a = client.get_json(f"/api/v1/authors/{frankenstein_author_id}")
    assert a["id"] == frankenstein_author_id
    assert a["name"] == "Shelley, Mary Wollstonecraft"
    want = [s for s in sample if "Shelley, Mary Wollstonecraft" in s["authors"]]
    assert a["book_count"] == len(want)
    assert {b["id"] for b in a["books"]} == {s["id"] for s in want}


def test_author_books_pagination(client, sample):
    various = client.get_json(f"{BOOKS}?q=various&limit=100")["items"]
    aid = next(au["id"] for b in various for au in b["authors"] if au["name"] == "Various")
    want = {s["id"] for s in sample if "Various" in s["authors"]}
    a = client.get_json(f"/api/v1/authors/{aid}?limit=3")
    assert a["book_count"] == len(want) == 8
    books, target = list(a["books"]), None
    while a["has_more"]:
        target = f"/api/v1/authors/{aid}?limit=3&cursor={quote(a['next_cursor'], safe='')}"
        a = client.get_json(target)
        assert a["book_count"] == len(want)
        books.extend(a["books"])
    assert [b["id"] for b in books if True] and len(books) == len(want)
    assert {b["id"] for b in books} == want
    pops = [b["popularity"] for b in books]
    assert pops == sorted(pops, reverse=True)


def test_author_not_found(client):
    r = client.get("/api/v1/authors/999999999")
    assert r.status == 404, r
    assert r.json()["type"] == "/problems/not-found"


# ---- conditional requests ------------------------------------------------------------------


@pytest.mark.parametrize("target", [f"{BOOKS}?limit=10", f"{BOOKS}/pg-84", "/api/v1/genres"])
def test_etag_if_none_match_304(client, target):
    r1 = client.get(target)
    etag = r1.headers["etag"]
    r2 = client.get(target, headers={"If-None-Match": etag})
    assert r2.status == 304, r2
    assert r2.raw_body == b""
    assert r2.headers["etag"] == etag
    assert "content-length" not in r2.headers or r2.headers["content-length"] == "0"
    # weak comparison, lists and the wildcard
    weak = etag if etag.startswith("W/") else "W/" + etag
    for inm in [weak, f'"nope", {etag}', "*"]:
        r = client.get(target, headers={"If-None-Match": inm})
        assert r.status == 304, (inm, r)
    r3 = client.get(target, headers={"If-None-Match": '"something-else"'})
    assert r3.status == 200 and r3.body == r1.body


def test_etag_is_stable_and_distinguishes_representations(client):
    a = client.get(f"{BOOKS}?limit=10").headers["etag"]
    b = client.get(f"{BOOKS}?limit=10").headers["etag"]
    c = client.get(f"{BOOKS}?limit=11").headers["etag"]
    assert a == b != c


# ---- compression ---------------------------------------------------------------------------


def test_gzip_large_list(client):
    target = f"{BOOKS}?limit=100"
    plain = client.get(target)
    assert "content-encoding" not in plain.headers
    z = client.get(target, headers={"Accept-Encoding": "gzip"})
    assert z.status == 200
    assert z.headers.get("content-encoding") == "gzip"
    assert "accept-encoding" in z.headers.get("vary", "").lower()
    assert z.raw_body[:2] == b"\x1f\x8b"
    assert len(z.raw_body) < len(plain.raw_body)
    assert json.loads(gzip.decompress(z.raw_body)) == plain.json()
    assert int(z.headers["content-length"]) == len(z.raw_body)
    # the entity tag ignores the content coding
    assert z.headers["etag"].removeprefix("W/") == plain.headers["etag"].removeprefix("W/")


@pytest.mark.parametrize("ae", ["gzip, deflate, br", "br;q=1.0, gzip;q=0.8", "*"])
def test_gzip_accept_encoding_variants(client, ae):
    r = client.get(f"{BOOKS}?limit=50", headers={"Accept-Encoding": ae})
    assert r.headers.get("content-encoding") == "gzip", ae


@pytest.mark.parametrize("ae", [None, "identity", "br", "gzip;q=0", "deflate"])
def test_no_gzip_when_not_accepted(client, ae):
    r = client.get(f"{BOOKS}?limit=50", headers={"Accept-Encoding": ae})
    assert "content-encoding" not in r.headers, (ae, r.headers)
    assert r.raw_body[:1] == b"{"
    assert r.headers.get("vary") == "Accept-Encoding"


@pytest.mark.parametrize("target", ["/healthz", f"{BOOKS}?q=zzqqxx", f"{BOOKS}/nope-x",
                                    f"{BOOKS}?limit=0"])
def test_small_responses_not_gzipped(client, target):
    r = client.get(target, headers={"Accept-Encoding": "gzip"})
    assert len(r.raw_body) <= 1024
    assert "content-encoding" not in r.headers, r.headers


def test_gzip_304_has_no_body(client):
    target = f"{BOOKS}?limit=100"
    etag = client.get(target, headers={"Accept-Encoding": "gzip"}).headers["etag"]
    r = client.get(target, headers={"Accept-Encoding": "gzip", "If-None-Match": etag})
    assert r.status == 304 and r.raw_body == b""


# ---- request ids ---------------------------------------------------------------------------


@pytest.mark.parametrize("rid", ["abc", "A.b_c:d-1", "x" * 128, "0"])
def test_valid_request_id_echoed(client, rid):
    for target in [f"{BOOKS}?limit=1", f"{BOOKS}/nope-x", "/healthz"]:
        r = client.get(target, headers={"X-Request-Id": rid})
        assert r.headers["x-request-id"] == rid
        if r.status >= 400:
            assert r.json()["request_id"] == rid


def test_request_id_generated_when_absent(client):
    a = client.get("/healthz").headers["x-request-id"]
    b = client.get("/healthz").headers["x-request-id"]
    assert a and b and a != b
    assert re.fullmatch(r"[A-Za-z0-9._:-]{1,128}", a)


@pytest.mark.parametrize("rid", ["x" * 129, "x" * 200, "a b", "a/b", "ünï", "a;b", "<script>"])
def test_invalid_request_id_replaced(client, rid):
    r = client.get(f"{BOOKS}/nope-x", headers={"X-Request-Id": rid.encode("utf-8").decode("latin-1")})
    got = r.headers["x-request-id"]
    assert got != rid
    assert re.fullmatch(r"[A-Za-z0-9._:-]{1,128}", got)
    assert r.json()["request_id"] == got


# ---- security headers ----------------------------------------------------------------------


@pytest.mark.parametrize("method,target", [
    ("GET", f"{BOOKS}?limit=2"), ("GET", f"{BOOKS}/pg-84"), ("GET", f"{BOOKS}/nope-x"),
    ("GET", f"{BOOKS}?limit=0"), ("GET", "/no/such/route"), ("POST", BOOKS),
    ("GET", "/healthz"), ("GET", "/readyz"), ("GET", "/metrics"), ("GET", "/api/v1/genres"),
])
def test_security_headers(client, method, target):
    r = client.request(method, target, body=b"" if method == "POST" else None)
    assert r.headers.get("x-content-type-options") == "nosniff", r.headers
    assert r.headers.get("x-frame-options") == "DENY"
    assert "content-security-policy" in r.headers
    assert r.headers.get("referrer-policy") == "no-referrer"
    assert "server" not in r.headers or "/" not in r.headers["server"], "server version leaked"


# ---- CORS ----------------------------------------------------------------------------------


def test_cors_allowed_origin(client):
    r = client.get(f"{BOOKS}?limit=1", headers={"Origin": CORS_ORIGIN})
    assert r.status == 200
    assert r.headers.get("access-control-allow-origin") == CORS_ORIGIN
    assert "origin" in [v.strip().lower() for v in r.headers.get("vary", "").split(",")]


def test_cors_other_origin_gets_nothing(client):
    for origin in ["http://evil.example", "http://shop.example.evil", "null",
                   "https://shop.example"]:
        r = client.get(f"{BOOKS}?limit=1", headers={"Origin": origin})
        assert r.status == 200
        assert "access-control-allow-origin" not in r.headers, origin
    r = client.get(f"{BOOKS}?limit=1")
    assert "access-control-allow-origin" not in r.headers


def test_cors_preflight_allowed(client):
    r = client.request("OPTIONS", BOOKS, headers={
        "Origin": CORS_ORIGIN, "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "If-None-Match, X-Request-Id"})
    assert r.status == 204, r
    assert r.raw_body == b""
    methods = [m.strip() for m in r.headers.get("access-control-allow-methods", "").split(",")]
    assert "GET" in methods
    assert r.headers.get("access-control-allow-origin") == CORS_ORIGIN
    allowed_headers = r.headers.get("access-control-allow-headers", "").lower()
    assert "if-none-match" in allowed_headers and "x-request-id" in allowed_headers


def test_cors_preflight_other_origin_forbidden(client):
    r = client.request("OPTIONS", BOOKS, headers={
        "Origin": "http://evil.example", "Access-Control-Request-Method": "GET"})
    assert r.status == 403, r
    assert r.headers["content-type"].startswith("application/problem+json")
    assert "access-control-allow-origin" not in r.headers
    body = r.json()
    assert body["status"] == 403


def test_cors_error_responses_carry_allow_origin(client):
    r = client.get(f"{BOOKS}?limit=0", headers={"Origin": CORS_ORIGIN})
    assert r.status == 400
    assert r.headers.get("access-control-allow-origin") == CORS_ORIGIN


def test_foreign_author_cursor_rejected(client, frankenstein_author_id):
    various = client.get_json(f"{BOOKS}?q=various&limit=100")["items"]
    aid = next(au["id"] for b in various for au in b["authors"] if au["name"] == "Various")
    cur = client.get_json(f"/api/v1/authors/{aid}?limit=2")["next_cursor"]
    assert cur
    r = client.get(f"/api/v1/authors/{frankenstein_author_id}?limit=2&cursor={quote(cur, safe='')}")
    assert r.status == 400, r
    r = client.get(f"{BOOKS}?limit=2&cursor={quote(cur, safe='')}")
    assert r.status == 400, r


def test_foreign_genre_cursor_rejected(client):
    cur = client.get_json("/api/v1/genres?q=fiction&limit=2")["next_cursor"]
    assert cur
    r = client.get(f"/api/v1/genres?q=history&limit=2&cursor={quote(cur, safe='')}")
    assert r.status == 400, r
    assert client.get(f"/api/v1/genres?q=fiction&limit=2&cursor={quote(cur, safe='')}").status == 200


def test_head_content_length_matches_get(client):
    g = client.get(f"{BOOKS}/pg-84")
    h = client.request("HEAD", f"{BOOKS}/pg-84")
    if h.status == 200:
        assert h.headers.get("content-length") == g.headers.get("content-length")
        assert h.headers.get("etag") == g.headers.get("etag")
