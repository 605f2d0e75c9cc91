"""Bad input on every route: strict parameters, encodings, hostile strings, protocol abuse.

Every response is also validated against the contract by the client (problem documents,
content type, X-Request-Id, Cache-Control: no-store)."""

import json
import socket
import threading
import time
from urllib.parse import quote

import pytest

from lm_support import CONTRACT, parse_raw_response, raw_exchange, raw_response

BOOKS = "/api/v1/books"
BAD_400 = {"/problems/invalid-parameter", "/problems/unknown-parameter",
           "/problems/malformed-request"}


@pytest.fixture(scope="module")
def routes(frankenstein_author_id):
    """Concrete target per documented route, with the query parameters it accepts."""
    return {
        BOOKS: ["q", "genre", "author", "language", "year_min", "year_max", "price_min",
                "price_max", "in_stock", "sort", "order", "limit", "cursor"],
        f"{BOOKS}/pg-84": [],
        "/api/v1/genres": ["q", "limit", "cursor"],
        f"/api/v1/authors/{frankenstein_author_id}": ["limit", "cursor"],
        "/healthz": [],
        "/readyz": [],
        "/metrics": [],
    }


def assert_problem(r, status, types=None):
    assert r.status == status, r
    assert r.headers.get("content-type", "").startswith("application/problem+json"), r
    body = r.json()
    if types is not None:
        types = {types} if isinstance(types, str) else types
        assert body["type"] in types, body
    return body


def q(target, query):
    return f"{target}{'&' if '?' in target else '?'}{query}"


# ---- strict parameters ---------------------------------------------------------------------


@pytest.mark.parametrize("query", ["bogus=1", "Limit=5", "bogus", "page=2", "offset=0",
                                   "q%5B%5D=x"])
def test_unknown_parameter_every_route(client, routes, query):
    wrong = []
    for target in routes:
        r = client.get(q(target, query))
        body = assert_problem(r, 400)
        name = query.split("=")[0]
        assert name.replace("%5B%5D", "[]") in json.dumps(body), body
        if body["type"] != "/problems/unknown-parameter":
            wrong.append((target, body["type"]))
    assert wrong == [], f"unknown parameter {query!r} not typed unknown-parameter on: {wrong}"


def test_unknown_parameter_next_to_valid_ones(client):
    r = client.get(f"{BOOKS}?limit=5&sort=title&color=red")
    assert_problem(r, 400, "/problems/unknown-parameter")


def test_empty_parameter_name(client, routes):
    for target in routes:
        r = client.get(q(target, "=x"))
        assert_problem(r, 400, BAD_400)


def test_repeated_parameter_every_route(client, routes):
    values = {"q": "a", "genre": "Novels", "author": "1", "language": "en", "year_min": "1",
              "year_max": "2000", "price_min": "1", "price_max": "5000", "in_stock": "true",
              "sort": "title", "order": "asc", "limit": "5", "cursor": "abc"}
    for target, params in routes.items():
        for p in params:
            v = values[p]
            r = client.get(q(target, f"{p}={v}&{p}={v}"))
            body = assert_problem(r, 400, "/problems/invalid-parameter")
            assert p in json.dumps(body), (target, p, body)


BOOK_BAD_VALUES = [
    "limit=abc", "limit=0", "limit=101", "limit=-1", "limit=99999999999999999999", "limit=",
    "limit=1.5", "limit=1e2", "limit=0x10", "limit=%205", "limit=5%20", "limit=5abc",
    "year_min=1.5", "year_min=-5001", "year_max=2101", "year_min=abc", "year_max=",
    "in_stock=yes", "in_stock=", "in_stock=1", "in_stock=TRUE",
    "sort=bogus", "sort=", "sort=POPULARITY", "sort=popularity%20",
    "order=up", "order=", "order=ASC",
    "author=0", "author=x", "author=-3", "author=1.0", "author=99999999999999999999",
    "author=9223372036854775808",
    "price_min=-1", "price_max=-1", "price_min=100000001", "price_max=1.99", "price_min=abc",
    "language=EN", "language=e", "language=en_US", "language=english-x", "language=1n",
    "language=en%20", "language=", "cursor=",
]


@pytest.mark.parametrize("query", BOOK_BAD_VALUES)
def test_books_bad_values(client, query):
    r = client.get(f"{BOOKS}?{query}")
    body = assert_problem(r, 400, "/problems/invalid-parameter")
    name = query.split("=")[0]
    assert name in json.dumps(body), body
    if "errors" in body:
        assert any(e["field"] == name for e in body["errors"]), body


@pytest.mark.parametrize("query", ["limit=0", "limit=1001", "limit=abc", "limit=-1",
                                   "limit=99999999999999999999", "cursor="])
def test_genres_bad_values(client, query):
    r = client.get(f"/api/v1/genres?{query}")
    assert_problem(r, 400, "/problems/invalid-parameter")


@pytest.mark.parametrize("query", ["limit=0", "limit=101", "limit=x", "cursor=%2A%2A%2A"])
def test_author_bad_values(client, frankenstein_author_id, query):
    r = client.get(f"/api/v1/authors/{frankenstein_author_id}?{query}")
    assert_problem(r, 400, "/problems/invalid-parameter")


def test_boundary_values_accepted(client):
    for query in ["limit=1", "limit=100", "year_min=-5000", "year_max=2100", "price_min=0",
                  "price_max=100000000", "author=1", "language=pt-br", "language=abcdefgh",
                  "in_stock=false", "order=desc", "sort=rating", "q=", "genre="]:
        r = client.get(f"{BOOKS}?{query}")
        assert r.status == 200, (query, r)
    assert client.get("/api/v1/genres?limit=1000").status == 200
    assert client.get("/api/v1/genres?limit=1").status == 200


# ---- sizes ---------------------------------------------------------------------------------


def test_oversized_values(client):
    assert client.get(f"{BOOKS}?q={'a' * 200}").status == 200
    assert_problem(client.get(f"{BOOKS}?q={'a' * 201}"), 400, "/problems/invalid-parameter")
    # 200 characters, more bytes: the limit is in characters
    assert client.get(f"{BOOKS}?q={quote('é' * 200)}").status == 200
    assert_problem(client.get(f"{BOOKS}?q={quote('é' * 201)}"), 400, BAD_400)
    assert_problem(client.get(f"/api/v1/genres?q={'a' * 201}"), 400, BAD_400)
    assert client.get(f"{BOOKS}?genre={'g' * 500}").status == 200
    assert_problem(client.get(f"{BOOKS}?genre={'g' * 501}"), 400, BAD_400)
    assert_problem(client.get(f"{BOOKS}?cursor={'c' * 600}"), 400, BAD_400)
    assert_problem(client.get(f"/api/v1/genres?cursor={'c' * 600}"), 400, BAD_400)
    for p in ["q", "genre", "language", "cursor", "limit", "sort", "author"]:
        r = client.get(f"{BOOKS}?{p}={'x' * 3000}")
        assert_problem(r, 400, BAD_400)
    # a 3000-character parameter name
    assert_problem(client.get(f"{BOOKS}?{'k' * 3000}=1"), 400, BAD_400)


def test_many_parameters(client):
    query = "&".join(f"p{i}=1" for i in range(500))
    assert_problem(client.get(f"{BOOKS}?{query}"), 400, BAD_400)


def test_very_long_target_within_header_limit(client):
    r = client.get(f"{BOOKS}?q={'a' * 10000}")
    assert r.status in (400, 414, 431), r
    assert r.status != 500


# ---- encodings -----------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["%C3%28", "%FF", "%C0%AF", "%ED%A0%80", "%F8%88%80%80%80",
                                   "abc%E2%82"])
def test_invalid_utf8_in_query(client, value):
    for target in [f"{BOOKS}?q=", f"{BOOKS}?genre=", "/api/v1/genres?q=", f"{BOOKS}?cursor="]:
        r = client.get(target + value)
        assert_problem(r, 400, BAD_400)


def test_invalid_utf8_in_parameter_name(client):
    assert_problem(client.get(f"{BOOKS}?%FF=1"), 400, BAD_400)


@pytest.mark.parametrize("value", ["%ZZ", "%", "%4", "a%G1", "%%", "%-1"])
def test_bad_percent_escapes(client, value):
    for target in [f"{BOOKS}?q=", f"{BOOKS}?genre=", "/api/v1/genres?q="]:
        assert_problem(client.get(target + value), 400, BAD_400)
    assert_problem(client.get(f"{BOOKS}?{value}=1"), 400, BAD_400)


@pytest.mark.parametrize("value", ["%00", "a%0Ab", "%0D%0A", "%1F", "%7F", "a%09b", "%1B%5B31m"])
def test_control_characters(client, value):
    for target in [f"{BOOKS}?q=", f"{BOOKS}?genre=", "/api/v1/genres?q=", f"{BOOKS}?cursor="]:
        assert_problem(client.get(target + value), 400, BAD_400)


def test_valid_unicode_search(client):
    r = client.get(f"{BOOKS}?q={quote('Müller ñ 日本 😀')}")
    assert r.status == 200, r
    assert r.json()["items"] == []


# ---- SQL and LIKE metacharacters -----------------------------------------------------------

SQL_PAYLOADS = [
    "'", "''", "\"", "' OR '1'='1", "' OR 1=1 --", "'; DROP TABLE books; --",
    "\"; DROP TABLE books; --", "1; SELECT pg_sleep(2)", "' UNION SELECT NULL,NULL --",
    "%", "_", "\\", "%%", "%' --", "\\%", "a_b", ")", "(", "*", "$1", "?", ";", "--", "/*",
    "pg-84' OR 'x'='x", "0x27", "\\'", "`", "[", "]", "^", "$",
]


def _matches(book, text):
    t = text.lower()
    return t in book["title"].lower() or any(t in a["name"].lower() for a in book["authors"])


@pytest.mark.parametrize("payload", SQL_PAYLOADS)
def test_sql_metacharacters_in_q(client, payload):
    r = client.get(f"{BOOKS}?q={quote(payload, safe='')}&limit=100")
    assert r.status == 200, r
    items = r.json()["items"]
    # literal substring semantics: LIKE wildcards must not leak through
    assert all(_matches(b, payload) for b in items), (payload, [b["title"] for b in items][:5])
    r = client.get(f"/api/v1/genres?q={quote(payload, safe='')}&limit=1000")
    assert r.status == 200, r
    assert all(payload.lower() in g["name"].lower() for g in r.json()["items"]), payload


@pytest.mark.parametrize("payload", SQL_PAYLOADS)
def test_sql_metacharacters_in_other_filters(client, payload):
    enc = quote(payload, safe="")
    r = client.get(f"{BOOKS}?genre={enc}")
    assert r.status == 200, r
    assert r.json()["items"] == []
    r = client.get(f"{BOOKS}?language={enc}")
    assert_problem(r, 400, "/problems/invalid-parameter")
    r = client.get(f"{BOOKS}?cursor={enc}")
    assert_problem(r, 400, "/problems/invalid-parameter")
    r = client.get(f"/api/v1/genres?cursor={enc}")
    assert_problem(r, 400, "/problems/invalid-parameter")
    r = client.get(f"{BOOKS}/{enc}")
    assert r.status in (400, 404), r
    assert r.status != 500


def test_like_wildcards_are_literal(client):
    """`%` and `_` match nothing in the sample (no title or author contains them)."""
    for payload in ["%", "_", "%%", "_%_", "\\"]:
        r = client.get(f"{BOOKS}?q={quote(payload, safe='')}")
        assert r.json()["items"] == [], payload


def test_books_table_intact_after_injection_attempts(client, sample):
    for payload in ["'; DROP TABLE books; --", "'); DELETE FROM books; --",
                    "x'; UPDATE books SET title='pwned'; --"]:
        client.get(f"{BOOKS}?q={quote(payload, safe='')}")
        client.get(f"{BOOKS}?genre={quote(payload, safe='')}")
        client.get(f"{BOOKS}/{quote(payload, safe='')}")
    total, cursor = 0, None
    while True:
        page = client.get_json(f"{BOOKS}?limit=100" + (f"&cursor={quote(cursor, safe='')}"
                                                       if cursor else ""))
        total += len(page["items"])
        assert all(b["title"] != "pwned" for b in page["items"])
        if not page["has_more"]:
            break
        cursor = page["next_cursor"]
    assert total == len(sample) == 200
    assert client.get_json(f"{BOOKS}/pg-84")["title"].startswith("Frankenstein")


# ---- path parameters -----------------------------------------------------------------------


@pytest.mark.parametrize("path_id", ["%FF", "a%20b", "x" * 101, "%00", "%C3%28", "a%2Fb",
                                     "..%2F..%2Fetc%2Fpasswd", "%ZZ", "%", "pg-84%0A", "a+b",
                                     "%27%20OR%201%3D1", "%E2%80%AE", "pg-84;", "pg*"])
def test_invalid_book_id(client, path_id):
    r = client.get(f"{BOOKS}/{path_id}")
    assert r.status in (400, 404), r
    assert r.headers["content-type"].startswith("application/problem+json")


def test_book_id_length_limit(client):
    r = client.get(f"{BOOKS}/{'x' * 100}")
    assert_problem(r, 404, "/problems/not-found")
    r = client.get(f"{BOOKS}/{'x' * 101}")
    assert r.status in (400, 404), r


@pytest.mark.parametrize("author", ["0", "-1", "abc", "1.5", "99999999999999999999", "%FF",
                                    "1%20", "0x1", "%27"])
def test_invalid_author_id(client, author):
    r = client.get(f"/api/v1/authors/{author}")
    assert r.status in (400, 404), r
    assert r.headers["content-type"].startswith("application/problem+json")


# ---- routing -------------------------------------------------------------------------------


@pytest.mark.parametrize("target", ["/", "/api", "/api/v1", "/api/v1/nope", "/api/v2/books",
                                    "/api/v1/books/pg-84/extra", "/API/V1/BOOKS",
                                    "/api/v1/authors", "/api/v1/genres/1", "/healthz/x",
                                    "/metrics.json", "/index.html",
                                    "/api/v1/authors/1/books"])
def test_unknown_route(client, target):
    r = client.get(target)
    assert_problem(r, 404, "/problems/not-found")


def test_unknown_route_with_query(client):
    assert_problem(client.get("/nope?bogus=1&x=%FF"), 404, "/problems/not-found")


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH"])
def test_wrong_method_every_route(client, routes, method):
    for target in routes:
        r = client.request(method, target, body=b"{}", headers={
            "Content-Type": "application/json"})
        assert_problem(r, 405, "/problems/method-not-allowed")
        allow = [m.strip() for m in r.headers.get("allow", "").split(",")]
        assert "GET" in allow, r.headers
        assert method not in allow


def test_unknown_method_token(client):
    r = client.request("FOO", f"{BOOKS}")
    assert r.status in (400, 405, 501), r
    assert r.headers["content-type"].startswith("application/problem+json")


# ---- protocol limits -----------------------------------------------------------------------


def test_header_too_large(server):
    req = (b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * (20 * 1024) +
           b"\r\nConnection: close\r\n\r\n")
    data = raw_exchange(server.port, req)
    status, headers, body = parse_raw_response(data)
    assert status == 431, data[:300]
    resp = raw_response(status, headers, body)
    CONTRACT.check("GET", "/healthz", resp)
    assert json.loads(body)["type"] == "/problems/header-too-large"
    assert server.client.get("/healthz").status == 200


def test_many_headers_just_under_limit(client):
    hdrs = {f"X-H{i}": "v" * 100 for i in range(100)}  # ~11 KiB
    r = client.get("/healthz", headers=hdrs)
    assert r.status == 200, r


def test_payload_too_large(server):
    """POST with a 2 MiB body: 413 (the body limit is checked first) or 405 (the route does
    not take POST); either way a problem document and the server keeps serving."""
    for target in [BOOKS, "/healthz"]:
        head = (f"POST {target} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                f"Content-Length: {2 * 1024 * 1024}\r\n\r\n").encode()
        with socket.create_connection(("127.0.0.1", server.port), timeout=5) as s:
            s.sendall(head)
            try:
                s.sendall(b"x" * 65536)
            except OSError:
                pass
            data = b""
            try:
                while True:
                    chunk = s.recv(65536)
                    if not chunk:
                        break
                    data += chunk
                    if b"\r\n\r\n" in data:
                        _, headers, _ = parse_raw_response(data)
                        if len(data.partition(b"\r\n\r\n")[2]) >= int(
                                headers.get("content-length", 0)):
                            break
            except (socket.timeout, ConnectionResetError):
                pass
        status, headers, body = parse_raw_response(data)
        assert status in (413, 405), data[:300]
        resp = raw_response(status, headers, body, method="POST")
        CONTRACT.check("POST", target, resp)
        if status == 413:
            assert json.loads(body)["type"] == "/problems/payload-too-large"
    assert server.client.get("/healthz").status == 200


def test_small_body_on_get_is_tolerated(client):
    r = client.request("GET", "/healthz", body=b"hello")
    assert r.status in (200, 400), r


@pytest.mark.parametrize("raw", [
    b"GARBAGE\r\n\r\n",
    b"GET\r\n\r\n",
    b"GET /healthz HTTP/9.9\r\nHost: x\r\n\r\n",
    b"GET /healthz HTTP/1.1\r\nHost: x\r\nBad Header Line\r\n\r\n",
    b"GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",
    b"GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
    b"GET /hea lthz HTTP/1.1\r\nHost: x\r\n\r\n",
    b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 40 + b"\r\n\r\n",
    b"GET /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n\r\n",
])
def test_malformed_request_then_keeps_serving(server, raw):
    data = raw_exchange(server.port, raw, timeout=3)
    if data:  # answering with nothing and closing is acceptable for non-HTTP bytes
        status, headers, body = parse_raw_response(data)
        assert status == 400, data[:300]
        resp = raw_response(status, headers, body)
        CONTRACT.check("GET", "/", resp)
        assert json.loads(body)["type"] == "/problems/malformed-request"
    assert server.client.get("/healthz").status == 200


def test_malformed_request_line_gets_400(server):
    data = raw_exchange(server.port, b"THIS IS NOT HTTP\r\n\r\n", timeout=3)
    status, headers, body = parse_raw_response(data)
    assert status == 400
    assert headers.get("content-type", "").startswith("application/problem+json")
    assert server.client.get("/healthz").status == 200


def test_stalled_clients_do_not_block_others(server):
    stalled = []
    try:
        for i in range(8):
            s = socket.create_connection(("127.0.0.1", server.port), timeout=5)
            if i % 2:
                s.sendall(b"GET /api/v1/books?limit=100 HTTP/1.1\r\nHost: x\r\n")
            else:
                s.sendall(b"POST /api/v1/books HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n"
                          b"\r\nabc")
            stalled.append(s)
        time.sleep(0.1)
        results = []

        def fetch():
            t0 = time.monotonic()
            r = server.client.get(f"{BOOKS}?limit=100")
            results.append((r.status, time.monotonic() - t0))

        threads = [threading.Thread(target=fetch) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(10)
        assert len(results) == 4, "requests blocked behind stalled clients"
        assert all(st == 200 and dt < 3 for st, dt in results), results
    finally:
        for s in stalled:
            s.close()


def test_keep_alive_pipelined_requests(server):
    req = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n" * 2 + \
        b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    data = raw_exchange(server.port, req, timeout=5)
    assert data.count(b"HTTP/1.1 200") == 3, data[:500]


# ---- last: nothing in this session produced a server error ---------------------------------


def test_zz_no_server_errors_recorded(client):
    text = client.get("/metrics").text()
    # /readyz answers 503 while the server starts (the search index is being built); that is
    # readiness, not an error.
    bad = [line for line in text.splitlines()
           if line.startswith("libromind_http_requests_total") and 'status="5' in line
           and 'route="/readyz"' not in line]
    assert bad == [], bad


def test_http10_and_connection_close_end_the_connection(server):
    for req in [b"GET /healthz HTTP/1.0\r\n\r\n",
                b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"]:
        t0 = time.monotonic()
        data = raw_exchange(server.port, req, timeout=5)
        assert time.monotonic() - t0 < 2, "server kept the connection open"
        status, _, body = parse_raw_response(data)
        assert status == 200 and body == b'{"status":"ok"}'


def test_absolute_form_target(client):
    r = client.get(f"http://127.0.0.1:{client.port}/healthz", validate=False)
    assert r.status in (200, 400, 404), r
    assert r.status != 500
