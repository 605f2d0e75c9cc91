"""Operations: health, readiness, metrics (checked by promtool), access log, secret hygiene."""

import json
import re
import subprocess
import uuid

import pytest

from lm_support import ServerProcess, raw_exchange, run_cli

PROMTOOL = "/usr/bin/promtool"


def test_healthz(client):
    r = client.get("/healthz")
    assert r.status == 200
    assert r.json() == {"status": "ok"}
    assert r.headers["content-type"].startswith("application/json")


def test_readyz(client):
    r = client.get("/readyz")
    assert r.status == 200
    assert r.json() == {"status": "ready",
                        "checks": {"store": "ok", "migrations": "ok", "search": "ok"}}


def _metrics(client):
    r = client.get("/metrics")
    assert r.status == 200
    assert r.headers["content-type"].startswith("text/plain")
    assert "version=0.0.4" in r.headers["content-type"]
    return r.text()


def test_metrics_pass_promtool(client):
    client.get("/api/v1/books?limit=3")
    client.get("/api/v1/books/pg-84")
    client.get("/api/v1/nope")
    client.get("/api/v1/books?limit=0")
    text = _metrics(client)
    p = subprocess.run([PROMTOOL, "check", "metrics"], input=text.encode(), capture_output=True,
                       timeout=30)
    assert p.returncode == 0, (p.stdout + p.stderr).decode()[:2000]


def test_metrics_content(client):
    client.get("/api/v1/books?limit=3")
    client.get("/api/v1/books/pg-84")
    text = _metrics(client)
    assert re.search(r'^libromind_http_requests_total\{[^}]*route="/api/v1/books"[^}]*\} \d+',
                     text, re.M), text[:2000]
    assert re.search(r'^libromind_http_requests_total\{[^}]*route="/api/v1/books/\{id\}"', text,
                     re.M), "route label must be the pattern, not the concrete path"
    assert "pg-84" not in text, "concrete ids must not become label values"
    assert re.search(r'^libromind_http_request_duration_seconds_bucket\{[^}]*le="\+Inf"[^}]*\} \d+',
                     text, re.M)
    assert re.search(r"^libromind_store_pool_connections(\{[^}]*\})? \d", text, re.M)
    assert re.search(r"^libromind_build_info\{[^}]*\} 1", text, re.M)
    assert "# TYPE libromind_http_requests_total counter" in text
    assert "# TYPE libromind_http_request_duration_seconds histogram" in text


def test_metrics_count_requests(client):
    def count(text):
        m = re.search(r'^libromind_http_requests_total\{route="/healthz",method="GET",'
                      r'status="200"\} (\d+)', text, re.M)
        return int(m.group(1)) if m else 0
    before = count(_metrics(client))
    for _ in range(5):
        client.get("/healthz")
    assert count(_metrics(client)) >= before + 5


def test_metrics_label_cardinality_is_bounded(client):
    """Arbitrary method tokens and paths must not each create a new time series (memory
    growth driven by clients)."""
    def series(text):
        return sum(1 for line in text.splitlines()
                   if line.startswith("libromind_http_requests_total{"))
    before = series(_metrics(client))
    tag = uuid.uuid4().hex[:6].upper()
    for i in range(30):
        client.request(f"M{tag}{i}", "/api/v1/books")
        client.get(f"/no/such/{tag}/{i}")
    after = series(_metrics(client))
    assert after - before <= 5, f"{after - before} new series from 60 junk requests"


def test_access_log_has_request_id(server, client):
    rid = "it-" + uuid.uuid4().hex
    r = client.get("/api/v1/books?limit=2", headers={"X-Request-Id": rid})
    assert r.headers["x-request-id"] == rid
    ev = server.wait_for_event(lambda e: e.get("request_id") == rid)
    assert ev is not None, "no access log line with the request id"
    assert ev["event"] == "http_request"
    assert ev["status"] == 200
    assert ev["method"] == "GET"
    assert ev["route"] == "/api/v1/books"
    # a generated id appears in the log as well
    r = client.get("/api/v1/nope")
    gen = r.headers["x-request-id"]
    ev = server.wait_for_event(lambda e: e.get("request_id") == gen)
    assert ev is not None and ev["status"] == 404


def test_stdout_is_json_lines(server):
    for line in server.stdout().splitlines():
        obj = json.loads(line)
        assert isinstance(obj, dict) and "event" in obj and "ts" in obj, line


def test_access_log_does_not_echo_raw_control_bytes(server):
    rid = "it-" + uuid.uuid4().hex
    raw_exchange(server.port, (f"GET /api/v1/books?q=%1B%5B31m HTTP/1.1\r\nHost: x\r\n"
                               f"X-Request-Id: {rid}\r\nConnection: close\r\n\r\n").encode())
    ev = server.wait_for_event(lambda e: e.get("request_id") == rid)
    assert ev is not None
    assert "\x1b" not in json.dumps(ev, ensure_ascii=False)


def test_config_log_line(server):
    cfg = server.events("config")
    assert cfg, server.stdout()[:1000]
    assert cfg[0]["access_log"] is True


def test_password_not_logged(store, loaded_url):
    if store.kind != "postgres":
        pytest.skip("only a PostgreSQL URL carries a password")
    secret = "s3cretpw"
    url = store.url_with_password(loaded_url, secret)
    assert secret in url
    srv = ServerProcess(url, "--access-log", "true")
    try:
        assert srv.client.get("/api/v1/books/pg-84").status == 200
        srv.client.get("/readyz")
        srv.client.get("/metrics")
        rc = srv.terminate()
        assert rc == 0
    finally:
        srv.kill()
    out, err = srv.stdout(), srv.stderr()
    assert secret not in out and secret not in err, "password leaked in the logs"
    cfg = srv.events("config")
    assert cfg and secret not in json.dumps(cfg[0])
    # the CLI commands too
    for args in (["migrate"], ["import", "--dry-run"]):
        extra = [] if args[0] == "migrate" else [str(__import__("lm_support").SAMPLE)]
        r = run_cli(*args, "--database-url", url, *extra)
        assert r.rc == 0, r
        assert secret not in r.stdout and secret not in r.stderr


def test_password_not_in_connection_errors():
    secret = "s3cretpw"
    for args in (["migrate"], ["serve", "--listen", "127.0.0.1:0"]):
        r = run_cli(*args, "--database-url",
                    f"postgresql://postgres:{secret}@127.0.0.1:1/nodb", timeout=30)
        assert r.rc != 0
        assert secret not in r.stdout and secret not in r.stderr, (r.stdout, r.stderr)
