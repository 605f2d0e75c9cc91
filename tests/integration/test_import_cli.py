"""`libromind import`: dry runs, abort/skip on bad records, idempotent re-imports, CSV, file
errors. Each test uses its own fresh database; counts are read back through the API."""

import json
import re
from urllib.parse import quote

import pytest

from lm_support import SAMPLE, ServerProcess, load_sample, run_cli


def count_books(url):
    with ServerProcess(url, "--access-log", "false") as srv:
        total, cursor = 0, None
        while True:
            t = "/api/v1/books?limit=100" + (f"&cursor={quote(cursor, safe='')}" if cursor else "")
            page = srv.client.get_json(t)
            total += len(page["items"])
            if not page["has_more"]:
                return total
            cursor = page["next_cursor"]


def get_book(url, book_id):
    with ServerProcess(url, "--access-log", "false") as srv:
        r = srv.client.get(f"/api/v1/books/{quote(book_id)}")
        return r.json() if r.status == 200 else None


def imp(url, *args):
    return run_cli("import", "--database-url", url, *map(str, args))


def write_jsonl(path, records, raw_lines=None):
    lines = [json.dumps(r).encode() for r in records]
    for idx, raw in (raw_lines or {}).items():
        lines.insert(idx, raw)
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


@pytest.fixture(scope="module")
def records():
    return load_sample()


def test_dry_run_writes_nothing(fresh_db):
    r = imp(fresh_db, "--dry-run", SAMPLE)
    assert r.rc == 0, r
    ev = r.event("import_finished")
    assert ev["dry_run"] is True
    assert ev["failed"] == 0
    assert ev["records_read"] == 200
    assert ev["committed"] is False
    assert count_books(fresh_db) == 0


def test_import_then_reimport_is_unchanged(fresh_db):
    r = imp(fresh_db, SAMPLE)
    assert r.rc == 0, r
    ev = r.event("import_finished")
    assert (ev["inserted"], ev["updated"], ev["unchanged"], ev["failed"]) == (200, 0, 0, 0)
    r = imp(fresh_db, SAMPLE)
    assert r.rc == 0, r
    ev = r.event("import_finished")
    assert (ev["inserted"], ev["updated"], ev["unchanged"], ev["failed"]) == (0, 0, 200, 0), ev
    assert count_books(fresh_db) == 200


def test_reimport_with_a_change_updates_one(fresh_db, records, tmp_path):
    first = write_jsonl(tmp_path / "a.jsonl", records[:10])
    assert imp(fresh_db, first).rc == 0
    before = get_book(fresh_db, records[3]["id"])
    changed = [dict(r) for r in records[:10]]
    changed[3]["title"] = "A Completely New Title"
    second = write_jsonl(tmp_path / "b.jsonl", changed)
    r = imp(fresh_db, second)
    assert r.rc == 0, r
    ev = r.event("import_finished")
    assert (ev["inserted"], ev["updated"], ev["unchanged"], ev["failed"]) == (0, 1, 9, 0), ev
    after = get_book(fresh_db, records[3]["id"])
    assert after["title"] == "A Completely New Title"
    assert after["change_seq"] > before["change_seq"]
    assert after["created_at"] == before["created_at"]


def test_bad_line_aborts_and_changes_nothing(fresh_db, records, tmp_path):
    base = write_jsonl(tmp_path / "base.jsonl", records[:3])
    assert imp(fresh_db, base).rc == 0
    bad = dict(records[10], year="not a year")
    path = write_jsonl(tmp_path / "mixed.jsonl", [records[4], bad, records[5]])
    r = imp(fresh_db, path)
    assert r.rc == 1, r
    # file:line: field: message
    assert re.search(rf"{re.escape(str(path))}:2: year: \S", r.stderr), r.stderr
    ev = r.event("import_finished")
    assert ev["failed"] == 1 and ev["committed"] is False
    assert count_books(fresh_db) == 3
    assert get_book(fresh_db, records[4]["id"]) is None


def test_skip_imports_the_good_records(fresh_db, records, tmp_path):
    bad1 = dict(records[10], title="")
    bad2 = dict(records[11], downloads=-5)
    path = write_jsonl(tmp_path / "mixed.jsonl", [records[0], bad1, records[1], bad2, records[2]])
    r = imp(fresh_db, "--on-error=skip", path)
    assert r.rc == 1, r  # records failed
    assert re.search(rf"mixed\.jsonl:2: title: ", r.stderr), r.stderr
    assert re.search(rf"mixed\.jsonl:4: downloads: ", r.stderr), r.stderr
    ev = r.event("import_finished")
    assert (ev["inserted"], ev["failed"]) == (3, 2), ev
    assert count_books(fresh_db) == 3
    assert get_book(fresh_db, records[10]["id"]) is None


def test_skip_with_space_separated_flag(fresh_db, records, tmp_path):
    path = write_jsonl(tmp_path / "ok.jsonl", records[:2])
    r = imp(fresh_db, "--on-error", "skip", path)
    assert r.rc == 0, r


def test_invalid_utf8_line(fresh_db, records, tmp_path):
    raw = json.dumps(dict(records[7], title="XXTITLEXX")).encode().replace(b"XXTITLEXX",
                                                                          b"Bad \xff\xfe title")
    path = write_jsonl(tmp_path / "utf8.jsonl", [records[0], records[1]], raw_lines={1: raw})
    r = imp(fresh_db, path)
    assert r.rc == 1, r
    assert re.search(r"utf8\.jsonl:2:", r.stderr), r.stderr
    assert "utf-8" in r.stderr.lower() or "utf8" in r.stderr.lower(), r.stderr
    assert count_books(fresh_db) == 0


def test_invalid_json_line(fresh_db, records, tmp_path):
    path = write_jsonl(tmp_path / "broken.jsonl", [records[0], records[1]],
                       raw_lines={2: b'{"id": "pg-x", "title": '})
    r = imp(fresh_db, path)
    assert r.rc == 1, r
    assert re.search(r"broken\.jsonl:3:", r.stderr), r.stderr


def test_csv_import(fresh_db, tmp_path):
    csv = tmp_path / "books.csv"
    csv.write_text(
        "id,title,authors,genres,downloads,language,price_cents,currency,stock,description\n"
        'csv-1,"Quoted, Title","Doe, Jane;Roe, Richard",Poetry;Drama,42,en,1999,EUR,3,'
        '"multi\nline description"\n'
        "csv-2,Plain Title,,Essays,7,fr,0,USD,0,\n",
        encoding="utf-8")
    r = imp(fresh_db, csv)
    assert r.rc == 0, (r.stdout, r.stderr)
    ev = r.event("import_finished")
    assert ev["inserted"] == 2, ev
    with ServerProcess(fresh_db, "--access-log", "false") as srv:
        b = srv.client.get_json("/api/v1/books/csv-1")
        assert b["title"] == "Quoted, Title"
        assert [a["name"] for a in b["authors"]] == ["Doe, Jane", "Roe, Richard"]
        assert b["genres"] == ["Poetry", "Drama"]
        assert b["popularity"] == 42
        assert b["price_cents"] == 1999 and b["currency"] == "EUR"
        assert b["stock"] == 3 and b["in_stock"] is True
        assert b["description"] == "multi\nline description"
        b2 = srv.client.get_json("/api/v1/books/csv-2")
        assert b2["authors"] == [] and b2["language"] == "fr"
        assert b2["stock"] == 0 and b2["in_stock"] is False
        assert [g["name"] for g in srv.client.get_json("/api/v1/genres")["items"]] == \
            ["Drama", "Essays", "Poetry"]


def test_csv_bad_cell_reports_line(fresh_db, tmp_path):
    csv = tmp_path / "bad.csv"
    csv.write_text("id,title,year\nc-1,One,1900\nc-2,Two,nineteen\n", encoding="utf-8")
    r = imp(fresh_db, csv)
    assert r.rc == 1
    assert re.search(r"bad\.csv:3: year: ", r.stderr), r.stderr


def test_csv_unknown_column(fresh_db, tmp_path):
    csv = tmp_path / "cols.csv"
    csv.write_text("id,title,colour\nc-1,One,red\n", encoding="utf-8")
    r = imp(fresh_db, csv)
    assert r.rc != 0
    assert "colour" in r.stderr, r.stderr


def test_wrong_extension(fresh_db, records, tmp_path):
    path = write_jsonl(tmp_path / "books.txt", records[:2])
    r = imp(fresh_db, path)
    assert r.rc != 0
    assert "books.txt" in r.stderr, r.stderr
    assert ".jsonl" in r.stderr or "extension" in r.stderr.lower(), r.stderr
    assert count_books(fresh_db) == 0


def test_missing_file(fresh_db, tmp_path):
    missing = tmp_path / "nope.jsonl"
    r = imp(fresh_db, missing)
    assert r.rc != 0
    assert "nope.jsonl" in r.stderr, r.stderr


def test_unknown_on_error_value(fresh_db):
    r = imp(fresh_db, "--on-error=ignore", SAMPLE)
    assert r.rc != 0
    assert "on-error" in r.stderr, r.stderr


def test_several_files_and_empty_file(fresh_db, records, tmp_path):
    a = write_jsonl(tmp_path / "a.jsonl", records[:5])
    b = write_jsonl(tmp_path / "b.ndjson", records[5:8])
    empty = tmp_path / "empty.jsonl"
    empty.write_bytes(b"")
    r = imp(fresh_db, a, b, empty)
    assert r.rc == 0, r
    assert r.event("import_finished")["inserted"] == 8
    assert count_books(fresh_db) == 8


def test_import_without_migrate_first_migrates(fresh_db, records, tmp_path):
    path = write_jsonl(tmp_path / "a.jsonl", records[:1])
    r = imp(fresh_db, path)
    assert r.rc == 0, r
    assert count_books(fresh_db) == 1
