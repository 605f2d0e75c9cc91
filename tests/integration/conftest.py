"""Fixtures: every test runs against both stores (SQLite and PostgreSQL).

`store` (session, parameterized) owns a database server (PostgreSQL: a throwaway cluster via
scripts/pg-test-server.sh, or LIBROMIND_TEST_PG_URL) and hands out fresh, empty databases.
`server` (session) is one `libromind serve` per store over a database migrated and loaded with
sample-200.jsonl; tests must not write to that database (CLI tests use `fresh_db`).
`shop_server` (module) is a writable shop (shop_support.Shop): its own fresh database with the
sample and an administrator, and a server whose token signing key the tests know.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from lm_support import (BIN, PG_SCRIPT, SAMPLE, ServerProcess, load_sample,  # noqa: E402
                        run_cli)

CORS_ORIGIN = "http://shop.example"


def pytest_sessionstart(session):
    if not BIN.is_file():
        raise pytest.UsageError(f"libromind binary not found at {BIN} (set LIBROMIND_BIN)")
    if not SAMPLE.is_file():
        raise pytest.UsageError(f"sample data not found at {SAMPLE} (set LIBROMIND_DATA_DIR)")


class Store:
    """A database server handing out fresh databases."""

    def __init__(self, kind: str, tmp: Path, pg_base_url: str | None = None):
        self.kind = kind
        self.tmp = tmp
        self.pg_base_url = pg_base_url
        self._n = 0

    def fresh_url(self) -> str:
        self._n += 1
        if self.kind == "sqlite":
            return f"sqlite://{self.tmp / f'db{self._n}.db'}"
        name = f"lm_it_{uuid.uuid4().hex[:12]}"
        psql(self.pg_base_url, f'CREATE DATABASE "{name}"')
        parts = urlsplit(self.pg_base_url)
        return urlunsplit(parts._replace(path="/" + name))

    def url_with_password(self, url: str, password: str) -> str:
        parts = urlsplit(url)
        host = parts.hostname + (f":{parts.port}" if parts.port else "")
        user = parts.username or "postgres"
        return urlunsplit(parts._replace(netloc=f"{user}:{password}@{host}"))


def psql(url: str, sql: str) -> str:
    p = subprocess.run(["psql", url, "-v", "ON_ERROR_STOP=1", "-qAt", "-c", sql],
                       capture_output=True, text=True, timeout=60)
    if p.returncode != 0:
        raise RuntimeError(f"psql failed: {p.stderr}")
    return p.stdout


@pytest.fixture(scope="session", params=["sqlite", "postgres"])
def store(request):
    tmp = Path(tempfile.mkdtemp(prefix=f"libromind-it-{request.param}-"))
    if request.param == "sqlite":
        yield Store("sqlite", tmp)
        shutil.rmtree(tmp, ignore_errors=True)
        return
    given = os.environ.get("LIBROMIND_TEST_PG_URL")
    if given:
        yield Store("postgres", tmp, given)
        shutil.rmtree(tmp, ignore_errors=True)
        return
    # Not under `tmp`: mkdtemp makes a private (0700) directory the postgres user cannot enter.
    pgdir = Path(tempfile.gettempdir()) / f"libromind-it-pg-{uuid.uuid4().hex[:10]}"
    p = subprocess.run([str(PG_SCRIPT), "start", str(pgdir)], capture_output=True, text=True,
                       timeout=120)
    if p.returncode != 0:
        shutil.rmtree(tmp, ignore_errors=True)
        pytest.fail(f"cannot start PostgreSQL: {p.stderr}")
    try:
        yield Store("postgres", tmp, (pgdir / "url").read_text().strip())
    finally:
        subprocess.run([str(PG_SCRIPT), "stop", str(pgdir)], capture_output=True, timeout=120)
        shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture(scope="session")
def loaded_url(store):
    """A database with the schema and sample-200.jsonl (read-only for tests)."""
    url = store.fresh_url()
    r = run_cli("migrate", "--database-url", url)
    assert r.rc == 0, r
    r = run_cli("import", "--database-url", url, str(SAMPLE))
    assert r.rc == 0, r
    ev = r.event("import_finished")
    assert ev["inserted"] == 200 and ev["failed"] == 0, ev
    return url


@pytest.fixture(scope="session")
def server(loaded_url):
    srv = ServerProcess(loaded_url, "--access-log", "true", "--cors-origins", CORS_ORIGIN)
    yield srv
    srv.kill()


@pytest.fixture(scope="module")
def shop_server(store):
    from shop_support import Shop
    shop = Shop.start(store)
    yield shop
    shop.kill()


@pytest.fixture
def client(server):
    return server.client


@pytest.fixture
def fresh_db(store):
    return store.fresh_url()


@pytest.fixture(scope="session")
def sample():
    return load_sample()


@pytest.fixture(scope="session")
def frankenstein_author_id(server):
    b = server.client.get_json("/api/v1/books/pg-84")
    return b["authors"][0]["id"]
