"""Bulk catalogue uploads over the real binary on both stores: POST /api/v1/admin/imports streams
the file to disk and queues an import_file job, which the server's worker runs; the books land in
one transaction with their embedding jobs, become searchable, and the import reports its rows,
embeddings and row errors (also as Server-Sent Events). Bad files get clear errors and import
nothing by default; a second run of the job changes nothing."""

from __future__ import annotations

import http.client
import json
import os
import time
from urllib.parse import quote

import pytest

from shop_support import Shop, assert_problem, call, unique

IMPORTS = "/api/v1/admin/imports"


@pytest.fixture(scope="module")
def shop(store):
    s = Shop.start(store, "--embed-in-background", "true", "--embed-threads", "2",
                   "--upload-max-mb", "2")
    yield s
    s.kill()


def book(prefix: str, **fields) -> dict:
    b = {"id": unique(prefix), "title": f"Upload {unique('title')}", "authors": ["Loader, Lee"],
         "genres": ["Uploads"], "description": "A book that came in a bulk upload.",
         "language": "en", "price_cents": 999, "stock": 4}
    b.update(fields)
    return b


def jsonl(books: list[dict]) -> bytes:
    return "".join(json.dumps(b) + "\n" for b in books).encode()


def upload(shop: Shop, body: bytes, content_type: str = "application/x-ndjson", *,
           token: str | None = "admin", query: str = ""):
    tok = shop.admin.token if token == "admin" else token
    headers = {"Content-Type": content_type}
    if tok:
        headers["Authorization"] = f"Bearer {tok}"
    return shop.client.request("POST", IMPORTS + query, headers=headers, body=body)


def get_import(shop: Shop, import_id: int) -> dict:
    r = call(shop.client, "GET", f"{IMPORTS}/{import_id}", token=shop.admin.token)
    assert r.status == 200, r
    return r.json()


def wait_complete(shop: Shop, import_id: int, timeout: float = 120.0) -> dict:
    deadline = time.monotonic() + timeout
    imp = None
    while time.monotonic() < deadline:
        imp = get_import(shop, import_id)
        if imp["complete"]:
            return imp
        time.sleep(0.2)
    raise AssertionError(f"import {import_id} did not complete: {imp}")


def search_ids(shop: Shop, q: str, mode: str = "hybrid") -> list[str]:
    switch = {"hybrid": "", "dense": "&lexical=false", "lexical": "&dense=false"}[mode]
    r = shop.client.get(f"/api/v1/search?q={quote(q)}{switch}&limit=10")
    assert r.status == 200, r
    return [i["book"]["id"] for i in r.json()["items"]]


def test_an_upload_is_accepted_imported_embedded_and_searchable(shop):
    books = [book("up-"), book("up-"), book("up-")]
    r = upload(shop, jsonl(books), query="?file_name=" + quote("new books.jsonl"))
    assert r.status == 202, r
    imp = r.json()
    assert r.headers["location"] == f"{IMPORTS}/{imp['id']}"
    assert imp["state"] in ("queued", "running", "succeeded")
    assert imp["file_name"] == "new books.jsonl" and imp["format"] == "jsonl"
    assert imp["bytes"] == len(jsonl(books))
    done = wait_complete(shop, imp["id"])
    assert done["state"] == "succeeded", done
    assert done["rows"] == {"read": 3, "imported": 3, "inserted": 3, "updated": 0,
                            "unchanged": 0, "failed": 0}
    assert done["embeddings"] == {"total": 3, "done": 3}
    assert done["errors"] == [] and done["error"] is None
    assert done["finished_at"] is not None and done["job_id"] is not None
    for b in books:
        got = shop.client.get(f"/api/v1/books/{b['id']}")
        assert got.status == 200 and got.json()["title"] == b["title"]
    # Searchable by its title, in the lexical and the vector index.
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and books[0]["id"] not in search_ids(shop, books[0]["title"],
                                                                           "dense"):
        time.sleep(0.2)
    assert books[0]["id"] in search_ids(shop, books[0]["title"], "dense")
    assert books[0]["id"] in search_ids(shop, books[0]["title"], "lexical")
    # The upload is not kept once its job is done.
    assert not [f for f in os.listdir(shop.server._upload_dir) if f.startswith("import-")]


def test_a_csv_upload_imports_like_the_command_line(shop):
    bid = unique("csv-")
    body = ("id,title,authors,genres,description,price_cents,stock\n"
            f'{bid},"A Title, With a Comma","Comma, Carla; Dot, Dan",Essays,"Said ""so"".",1250,2\n'
            ).encode()
    r = upload(shop, body, "text/csv; charset=utf-8")
    assert r.status == 202, r
    done = wait_complete(shop, r.json()["id"])
    assert done["state"] == "succeeded" and done["format"] == "csv", done
    b = shop.client.get_json(f"/api/v1/books/{bid}")
    assert b["title"] == "A Title, With a Comma"
    assert b["description"] == 'Said "so".'
    assert b["price_cents"] == 1250


def test_a_bad_row_imports_nothing_and_reports_the_line(shop):
    good = book("ab-")
    body = jsonl([good]) + b'{"id": "ab-bad", "title": "Bad year", "year": "soon"}\n' + \
        b'{"id": "ab-worse", "authors": ["No Title"]}\n'
    r = upload(shop, body)
    assert r.status == 202, r
    done = wait_complete(shop, r.json()["id"])
    assert done["state"] == "failed", done
    assert done["rows"]["read"] == 3 and done["rows"]["failed"] == 2
    assert done["rows"]["imported"] == 0
    assert [e["line"] for e in done["errors"]] == [2, 3]
    assert done["errors"][0]["field"] == "year"
    assert "nothing was imported" in done["error"] and "on_error=skip" in done["error"]
    assert done["embeddings"] == {"total": 0, "done": 0}
    assert shop.client.get(f"/api/v1/books/{good['id']}").status == 404


def test_skip_imports_the_good_rows_and_reports_the_rest(shop):
    good = book("sk-")
    body = jsonl([good]) + b'{"id": "sk-bad", "title": ""}\n'
    r = upload(shop, body, query="?on_error=skip")
    assert r.status == 202, r
    done = wait_complete(shop, r.json()["id"])
    assert done["state"] == "succeeded" and done["on_error"] == "skip", done
    assert done["rows"]["inserted"] == 1 and done["rows"]["failed"] == 1
    assert done["errors"][0]["line"] == 2
    assert shop.client.get(f"/api/v1/books/{good['id']}").status == 200


def test_broken_csv_quoting_fails_the_import_with_its_line(shop):
    body = b'id,title,authors\ncq-1,"An unclosed quote,"Someone\ncq-2,Fine,Someone\n'
    r = upload(shop, body, "text/csv")
    assert r.status == 202, r
    done = wait_complete(shop, r.json()["id"])
    assert done["state"] == "failed", done
    assert done["errors"][0]["line"] == 2 and "quote" in done["errors"][0]["message"], done
    assert shop.client.get("/api/v1/books/cq-2").status == 404


def test_a_file_that_is_not_utf8_is_refused_at_once(shop):
    body = jsonl([book("enc-")]) + '{"id": "enc-2", "title": "Caf\u00e9"}\n'.encode("latin-1")
    r = upload(shop, body)
    assert_problem(r, 422, "/problems/invalid-encoding")
    assert "line 2" in r.json()["detail"]


def test_a_file_of_another_type_is_refused(shop):
    r = upload(shop, b"%PDF-1.4 not a catalogue", "application/pdf")
    assert_problem(r, 415, "/problems/unsupported-media-type")
    r = upload(shop, jsonl([book("q-")]), "application/octet-stream")
    assert_problem(r, 415)
    r = upload(shop, jsonl([book("q-")]), "application/octet-stream", query="?format=xml")
    assert_problem(r, 400, "/problems/invalid-parameter")
    r = upload(shop, jsonl([book("q-")]), query="?on_error=maybe")
    assert_problem(r, 400)
    r = upload(shop, b"", "application/x-ndjson")
    assert_problem(r, 400)


def test_an_upload_over_the_limit_is_refused_and_not_kept(shop):
    body = b'{"id": "big"}\n' + b" " * (2 * 1024 * 1024 + 10)
    r = upload(shop, body)
    assert_problem(r, 413, "/problems/payload-too-large")
    assert str(2 * 1024 * 1024) in r.json()["detail"]
    incoming = os.path.join(shop.server._upload_dir, "incoming")
    assert not os.path.isdir(incoming) or not os.listdir(incoming)


def test_only_admins_may_upload_and_their_bodies_alone_are_read(shop):
    assert_problem(upload(shop, jsonl([book("na-")]), token=None), 401)
    customer = shop.new_user()
    assert_problem(upload(shop, jsonl([book("na-")]), token=customer.token), 403)
    assert_problem(call(shop.client, "GET", IMPORTS, token=customer.token), 403)
    assert_problem(call(shop.client, "GET", f"{IMPORTS}/1", token=None), 401)
    incoming = os.path.join(shop.server._upload_dir, "incoming")
    assert not os.path.isdir(incoming) or not os.listdir(incoming)


def test_an_unknown_import_is_not_found(shop):
    assert_problem(call(shop.client, "GET", f"{IMPORTS}/999999", token=shop.admin.token), 404)
    assert_problem(call(shop.client, "GET", f"{IMPORTS}/abc", token=shop.admin.token), 404)
    assert_problem(call(shop.client, "GET", f"{IMPORTS}/999999/events", token=shop.admin.token),
                   404)


def test_imports_are_listed_newest_first_in_pages(shop):
    made = []
    for _ in range(3):
        r = upload(shop, jsonl([book("ls-")]))
        assert r.status == 202
        made.append(r.json()["id"])
    page = call(shop.client, "GET", f"{IMPORTS}?limit=2", token=shop.admin.token).json()
    assert [i["id"] for i in page["items"]] == [made[2], made[1]]
    nxt = call(shop.client, "GET", f"{IMPORTS}?limit=2&before={page['next_before']}",
               token=shop.admin.token).json()
    assert nxt["items"][0]["id"] == made[0]
    for i in made:
        wait_complete(shop, i)


def test_progress_streams_as_server_sent_events_until_complete(shop):
    books = [book("ev-") for _ in range(150)]
    r = upload(shop, jsonl(books))
    assert r.status == 202
    import_id = r.json()["id"]
    conn = http.client.HTTPConnection("127.0.0.1", shop.server.port, timeout=120)
    conn.request("GET", f"{IMPORTS}/{import_id}/events",
                 headers={"Authorization": f"Bearer {shop.admin.token}"})
    resp = conn.getresponse()
    assert resp.status == 200
    assert resp.getheader("content-type").startswith("text/event-stream")
    events, name, data = [], "", []
    while True:
        line = resp.readline()
        if not line:
            break
        line = line.decode().rstrip("\r\n")
        if line.startswith(":"):
            continue
        if line == "":
            if name:
                events.append((name, json.loads("\n".join(data))))
            name, data = "", []
            continue
        key, _, value = line.partition(": ")
        if key == "event":
            name = value
        elif key == "data":
            data.append(value)
    conn.close()
    names = [e[0] for e in events]
    assert names[0] == "progress" and names[-1] == "done" and names.count("done") == 1
    final = events[-1][1]
    assert final["state"] == "succeeded" and final["complete"]
    assert final["embeddings"] == {"total": 150, "done": 150}
    # The embeddings were seen moving (at least one progress with some but not all done, or
    # the state moving), and nothing went backwards.
    done_counts = [e[1]["embeddings"]["done"] for e in events]
    assert done_counts == sorted(done_counts)


def test_running_the_job_again_changes_nothing(shop):
    b = book("again-")
    r = upload(shop, jsonl([b]))
    first = wait_complete(shop, r.json()["id"])
    before = shop.sql(f"SELECT updated_at, change_seq FROM books WHERE ext_id = '{b['id']}'")
    # An operator retries the finished job: it sees the import done and writes nothing.
    shop.execute(f"UPDATE jobs SET state = 'dead' WHERE id = {first['job_id']}")
    rr = call(shop.client, "POST", f"/api/v1/admin/jobs/{first['job_id']}/retry",
              token=shop.admin.token)
    assert rr.status == 200, rr
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        job = call(shop.client, "GET", f"/api/v1/admin/jobs/{first['job_id']}",
                   token=shop.admin.token).json()
        if job["state"] == "succeeded":
            break
        time.sleep(0.1)
    assert job["state"] == "succeeded", job
    assert get_import(shop, first["id"])["rows"] == first["rows"]
    assert shop.sql(f"SELECT updated_at, change_seq FROM books WHERE ext_id = '{b['id']}'") == \
        before
    assert shop.scalar(f"SELECT COUNT(*) FROM books WHERE ext_id = '{b['id']}'") == 1
