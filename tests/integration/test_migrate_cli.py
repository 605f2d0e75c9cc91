"""`libromind migrate` and readiness against an unmigrated store."""

from lm_support import ServerProcess, run_cli


def test_migrate_is_idempotent(fresh_db):
    r1 = run_cli("migrate", "--database-url", fresh_db)
    assert r1.rc == 0, r1
    applied = r1.event("migrations_applied")["applied"]
    assert applied, "a fresh database gets at least one migration"
    r2 = run_cli("migrate", "--database-url", fresh_db)
    assert r2.rc == 0, r2
    assert r2.event("migrations_applied")["applied"] == []
    r3 = run_cli("migrate", "--database-url", fresh_db)
    assert r3.rc == 0


def test_migrate_bad_url_is_a_configuration_error():
    for url in ["mysql://x@127.0.0.1/db", "nonsense", "sqlite://"]:
        r = run_cli("migrate", "--database-url", url)
        assert r.rc == 2, (url, r)
        assert r.stderr.strip(), url


def test_serve_without_migrations_is_not_ready(fresh_db):
    srv = ServerProcess(fresh_db, "--migrate-on-start", "false", "--access-log", "false",
                        wait_ready=False)
    try:
        r = srv.client.get("/readyz")
        assert r.status == 503, r
        body = r.json()
        assert body["type"] == "/problems/unavailable"
        assert "migrations" in body.get("detail", ""), body
        assert srv.client.get("/healthz").status == 200
        r = srv.client.get("/api/v1/books")
        assert r.status in (500, 503), r
        assert r.headers["content-type"].startswith("application/problem+json")
        # migrating while it runs makes it ready (once the search index, retried every second
        # while the schema was missing, is built)
        m = run_cli("migrate", "--database-url", fresh_db)
        assert m.rc == 0, m
        srv.wait_ready(15)
        r = srv.client.get("/readyz")
        assert r.status == 200, r
        r = srv.client.get("/api/v1/books")
        assert r.status == 200 and r.json()["items"] == []
    finally:
        srv.kill()


def test_serve_migrates_on_start_by_default(fresh_db):
    with ServerProcess(fresh_db, "--access-log", "false") as srv:
        assert srv.client.get("/readyz").status == 200
        assert srv.client.get_json("/api/v1/books")["items"] == []
        assert srv.client.get_json("/api/v1/genres")["items"] == []
