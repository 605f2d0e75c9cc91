"""Contract: every documented route exists and answers per api/openapi.yaml.

Every response in every test is validated by lm_support.Contract (through Client); this module
adds the route walk and a few header checks that apply to whole groups of responses.
"""

import re
from urllib.parse import urlencode

import pytest

from lm_support import CONTRACT


def fill_template(template: str, book_id: str, author_id: int) -> str:
    def repl(m):
        name = m.group(1)
        if template.startswith("/api/v1/authors"):
            return str(author_id)
        if template.startswith("/api/v1/orders") or template.startswith("/api/v1/admin/orders"):
            return "ord_contract0000"
        if template.startswith("/api/v1/feedback"):
            return "fb_contract0000"
        assert name in ("id", "book_id"), name
        return book_id
    return re.sub(r"\{([^}]+)\}", repl, template)


def needs_auth(op: dict) -> bool:
    """True when the operation cannot be called anonymously: it has `security` requirements
    and none of them is the empty alternative `{}`."""
    security = op.get("security")
    if not security:
        return False
    return all(req for req in security)


def test_every_documented_operation_exists(client, frankenstein_author_id):
    """Every public GET answers 2xx. (Writes, and reads that need a token, are exercised by the
    shop tests; the walk over secured operations is below.)"""
    ops = list(CONTRACT.operations())
    assert ops, "spec has no operations"
    walked = 0
    for template, method, op in ops:
        if method != "get" or needs_auth(op):
            continue
        target = fill_template(template, "pg-84", frankenstein_author_id)
        required = [p for p in op.get("parameters", [])
                    if "$ref" not in p and p.get("in") == "query" and p.get("required")]
        if required:
            # Each required query parameter documents an example value to call it with.
            target += "?" + urlencode({p["name"]: p["example"] for p in required})
        r = client.request(method.upper(), target)
        assert r.status not in (404, 405), f"{method.upper()} {target}: {r}"
        assert 200 <= r.status < 300, f"{op['operationId']}: {r}"
        walked += 1
    assert walked >= 8  # books, book, genres, author, cart, healthz, readyz, metrics


def secured_operations():
    return [(t, m, op) for t, m, op in CONTRACT.operations() if needs_auth(op)]


def test_spec_secures_the_personal_and_admin_operations():
    secured = {(t, m) for t, m, _ in secured_operations()}
    assert ("/api/v1/me", "get") in secured
    assert ("/api/v1/orders", "post") in secured
    assert ("/api/v1/admin/books", "post") in secured
    assert ("/api/v1/admin/feedback/stats", "get") in secured
    # the cart works anonymously, the catalogue and sign-in need nothing
    for t, m in [("/api/v1/cart", "get"), ("/api/v1/cart/items", "post"),
                 ("/api/v1/books", "get"), ("/api/v1/auth/login", "post")]:
        assert (t, m) not in secured, (t, m)


@pytest.mark.parametrize("template,method", [(t, m) for t, m, _ in secured_operations()],
                         ids=[op["operationId"] for _, _, op in secured_operations()])
def test_secured_operation_without_a_token_is_401(client, frankenstein_author_id, template,
                                                  method):
    """Each operation that needs a token, called without one: 401 (or a documented 403/404)
    with WWW-Authenticate, and nothing happens (this is the read-only session server)."""
    op = CONTRACT.paths[template][method]
    assert "401" in op["responses"], f"{op['operationId']} does not document 401"
    target = fill_template(template, "pg-84", frankenstein_author_id)
    has_body = "requestBody" in op
    r = client.request(method.upper(), target,
                       headers={"Content-Type": "application/json"} if has_body else None,
                       body=b"{}" if has_body else None)
    assert r.status == 401 or (r.status in (403, 404) and str(r.status) in op["responses"]), r
    if r.status == 401:
        assert r.json()["type"] == "/problems/unauthenticated", r
        assert r.headers.get("www-authenticate") == 'Bearer realm="libromind"', r.headers
    assert client.get("/api/v1/books/pg-84").status == 200


def test_spec_lists_the_expected_routes():
    templates = set(CONTRACT.paths)
    assert {"/api/v1/books", "/api/v1/books/{id}", "/api/v1/genres", "/api/v1/authors/{id}",
            "/healthz", "/readyz", "/metrics"} <= templates
    assert {"/api/v1/auth/register", "/api/v1/auth/login", "/api/v1/auth/refresh",
            "/api/v1/auth/logout", "/api/v1/me", "/api/v1/cart", "/api/v1/cart/items",
            "/api/v1/cart/items/{book_id}", "/api/v1/orders", "/api/v1/orders/{id}",
            "/api/v1/orders/{id}/cancel", "/api/v1/admin/orders/{id}", "/api/v1/feedback",
            "/api/v1/feedback/{id}", "/api/v1/admin/feedback/stats", "/api/v1/admin/books",
            "/api/v1/admin/books/{id}"} <= templates
    assert {"/api/v1/search", "/api/v1/books/{id}/similar", "/api/v1/suggest",
            "/api/v1/search/status"} <= templates


CATALOGUE_READS = ["/api/v1/books", "/api/v1/books?limit=100", "/api/v1/books/pg-84",
                   "/api/v1/genres", "/api/v1/genres?limit=1000"]


@pytest.mark.parametrize("target", CATALOGUE_READS)
def test_catalogue_reads_carry_cache_headers(client, target):
    r = client.get(target)
    assert r.status == 200, r
    assert r.headers.get("cache-control") == "public, max-age=30"
    assert re.fullmatch(r'(W/)?"[\x21\x23-\x7e]*"', r.headers.get("etag", "")), r.headers
    assert r.headers.get("vary") == "Accept-Encoding"


def test_author_read_carries_cache_headers(client, frankenstein_author_id):
    r = client.get(f"/api/v1/authors/{frankenstein_author_id}")
    assert r.status == 200, r
    assert r.headers.get("cache-control") == "public, max-age=30"
    assert "etag" in r.headers


@pytest.mark.parametrize("target", ["/healthz", "/readyz", "/metrics"])
def test_operations_endpoints_are_not_cacheable(client, target):
    r = client.get(target)
    assert r.status == 200, r
    assert r.headers.get("cache-control") == "no-store"
    assert "etag" not in r.headers


@pytest.mark.parametrize("target", ["/api/v1/books?limit=0", "/api/v1/books/nope-404",
                                    "/api/v1/nothing-here", "/api/v1/genres?x=1"])
def test_errors_are_not_cacheable(client, target):
    r = client.get(target)
    assert r.status >= 400
    assert r.headers.get("cache-control") == "no-store"
    assert "etag" not in r.headers


def test_head_requests_follow_get(client):
    """HEAD is implied for GET routes by HTTP semantics; the spec's Allow example is
    `GET, HEAD`. A HEAD must at least not be a server error and carry no body."""
    r = client.request("HEAD", "/api/v1/books/pg-84")
    assert r.status in (200, 405), r
    assert r.raw_body == b""
    if r.status == 405:
        assert "allow" in r.headers
