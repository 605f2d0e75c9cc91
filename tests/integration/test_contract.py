"""Contract: every documented route exists and answers per api/openapi.yaml.

Every response in every test is validated by lm_support.Contract (through Client); this module
adds the route walk and a few header checks that apply to whole groups of responses.
"""

import re

import pytest

from lm_support import CONTRACT


def fill_template(template: str, book_id: str, author_id: int) -> str:
    def repl(m):
        name = m.group(1)
        if template.startswith("/api/v1/authors"):
            return str(author_id)
        assert name == "id"
        return book_id
    return re.sub(r"\{([^}]+)\}", repl, template)


def test_every_documented_operation_exists(client, frankenstein_author_id):
    ops = list(CONTRACT.operations())
    assert ops, "spec has no operations"
    for template, method, op in ops:
        target = fill_template(template, "pg-84", frankenstein_author_id)
        r = client.request(method.upper(), target)
        assert r.status not in (404, 405), f"{method.upper()} {target}: {r}"
        assert 200 <= r.status < 300, f"{op['operationId']}: {r}"


def test_spec_lists_the_expected_routes():
    templates = set(CONTRACT.paths)
    assert {"/api/v1/books", "/api/v1/books/{id}", "/api/v1/genres", "/api/v1/authors/{id}",
            "/healthz", "/readyz", "/metrics"} <= templates


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
