"""`libromind worker` processes beside a server that runs no jobs itself (--worker off), on both
stores: they run what the server queues, a worker killed with SIGKILL mid-job loses the job
only until its lease expires and the effect happens once, SIGTERM stops a worker cleanly, and
(PostgreSQL) a worker carries on after the store restarts."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import urllib.request
import uuid
from pathlib import Path

import pytest

from conftest import Store
from lm_support import BIN, PG_SCRIPT, run_cli
from shop_support import Shop, call, unique

IMPORTS = "/api/v1/admin/imports"


class WorkerProcess:
    """`libromind worker` with a short lease; its JSON log lines are kept."""

    def __init__(self, url: str, upload_dir: str, *extra: str) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("LIBROMIND_")}
        self.proc = subprocess.Popen(
            [str(BIN), "worker", "--database-url", url, "--upload-dir", upload_dir,
             "--lease-seconds", "5", "--poll-ms", "200", *extra],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        self.lines: list[dict] = []
        self._t = threading.Thread(target=self._pump, daemon=True)
        self._t.start()
        self.wait_log("worker_started")

    def _pump(self) -> None:
        for raw in iter(self.proc.stdout.readline, b""):
            try:
                self.lines.append(json.loads(raw))
            except ValueError:
                pass

    def wait_log(self, event: str, timeout: float = 30.0) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in list(self.lines):
                if line.get("event") == event:
                    return line
            if self.proc.poll() is not None and event not in ("worker_stopped",):
                err = self.proc.stderr.read().decode()
                raise AssertionError(f"worker exited ({self.proc.returncode}): {err}")
            time.sleep(0.05)
        raise AssertionError(f"no {event} in the worker's log: {self.lines[-5:]}")

    def kill9(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self, timeout: float = 30.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout)
        self._t.join(5)
        return self.proc.returncode


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rows(n: int, prefix: str) -> bytes:
    return "".join(json.dumps({"id": f"{prefix}{i}", "title": f"Worker book {i}",
                               "authors": ["Worker, Wanda"], "description": "x " * 40}) + "\n"
                   for i in range(n)).encode()


def upload(shop: Shop, body: bytes) -> dict:
    r = shop.client.request("POST", IMPORTS, body=body, headers={
        "Content-Type": "application/x-ndjson", "Authorization": f"Bearer {shop.admin.token}"})
    assert r.status == 202, r
    return r.json()


def get_import(shop: Shop, import_id: int) -> dict:
    return call(shop.client, "GET", f"{IMPORTS}/{import_id}", token=shop.admin.token).json()


def wait_state(shop: Shop, import_id: int, states: set, timeout: float = 90.0) -> dict:
    deadline = time.monotonic() + timeout
    imp = None
    while time.monotonic() < deadline:
        imp = get_import(shop, import_id)
        if imp["state"] in states:
            return imp
        time.sleep(0.05)
    raise AssertionError(f"import {import_id} never reached {states}: {imp}")


@pytest.fixture
def uploads():
    d = tempfile.mkdtemp(prefix="lm-shared-uploads-")
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def shop(store, uploads):
    s = Shop.start(store, "--worker", "off", "--upload-dir", uploads)
    yield s
    s.kill()


def test_a_server_without_a_worker_queues_and_a_worker_process_runs(shop, uploads):
    imp = upload(shop, rows(20, unique("w-")))
    time.sleep(1.0)
    assert get_import(shop, imp["id"])["state"] == "queued"  # nobody runs jobs yet
    port = free_port()
    w = WorkerProcess(shop.url, uploads, "--metrics-listen", f"127.0.0.1:{port}")
    try:
        done = wait_state(shop, imp["id"], {"succeeded", "failed"})
        assert done["state"] == "succeeded" and done["rows"]["inserted"] == 20, done
        assert "import_file" in w.wait_log("worker_started")["kinds"]
        # The worker's own metrics: what it ran, and the queue as the store has it.
        deadline = time.monotonic() + 10
        while True:
            text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read()
            text = text.decode()
            if 'libromind_jobs_completed_total{kind="import_file",outcome="succeeded"} 1' in text \
                    or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert 'libromind_jobs_completed_total{kind="import_file",outcome="succeeded"} 1' in text
        assert 'libromind_jobs{kind="import_file",state="succeeded"}' in text
        assert urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=5).status == 200
    finally:
        assert w.stop() == 0
    stopped = w.wait_log("worker_stopped")
    assert stopped["completed"] >= 1


def test_a_worker_killed_mid_job_loses_it_until_the_lease_expires_and_it_runs_once(shop, uploads):
    n = 20000
    prefix = unique("k-")
    imp = upload(shop, rows(n, prefix))
    first = WorkerProcess(shop.url, uploads)
    running = wait_state(shop, imp["id"], {"running", "succeeded", "failed"})
    assert running["state"] == "running", "the import finished before the worker was killed"
    first.kill9()
    killed_at = time.monotonic()
    job = call(shop.client, "GET", f"/api/v1/admin/jobs/{imp['job_id']}",
               token=shop.admin.token).json()
    assert job["state"] == "running" and job["attempts"] == 1
    second = WorkerProcess(shop.url, uploads)
    try:
        done = wait_state(shop, imp["id"], {"succeeded", "failed"}, timeout=120)
        assert done["state"] == "succeeded", done
        assert time.monotonic() - killed_at >= 3.0  # it waited for the lease (5 s) to run out
        job = shop.wait_job(imp["job_id"], "succeeded")
        assert job["attempts"] == 2, job
        # Once: every row once, no half of the first attempt left behind.
        assert done["rows"]["inserted"] == n
        assert shop.scalar(f"SELECT COUNT(*) FROM books WHERE ext_id LIKE '{prefix}%'") == n
        assert shop.scalar(f"SELECT COUNT(*) FROM jobs WHERE kind = 'embed_books' AND payload "
                           f"LIKE '%\"import_id\":{imp['id']}%'") == (n + 63) // 64
    finally:
        second.stop()


def test_sigterm_stops_a_long_import_and_gives_its_job_back(shop, uploads):
    n = 20000
    prefix = unique("t-")
    imp = upload(shop, rows(n, prefix))
    w = WorkerProcess(shop.url, uploads, "--shutdown-deadline", "0")
    wait_state(shop, imp["id"], {"running", "succeeded"})
    t0 = time.monotonic()
    rc = w.stop(timeout=60)
    assert rc == 0
    assert time.monotonic() - t0 < 30  # the import stopped at its next batch, not at its end
    job = call(shop.client, "GET", f"/api/v1/admin/jobs/{imp['job_id']}",
               token=shop.admin.token).json()
    # Given back (queued, the attempt not counted), or finished just in time; never lost.
    assert job["state"] in ("queued", "succeeded"), job
    if job["state"] == "queued":
        assert job["attempts"] == 0
        # Rolled back (or, stopped after its commit, already done: the rerun changes nothing).
        state = get_import(shop, imp["id"])["state"]
        assert state in ("queued", "succeeded")
        if state == "queued":
            assert shop.scalar(f"SELECT COUNT(*) FROM books WHERE ext_id LIKE '{prefix}%'") == 0
    w2 = WorkerProcess(shop.url, uploads)
    try:
        done = wait_state(shop, imp["id"], {"succeeded", "failed"}, timeout=180)
        assert done["state"] == "succeeded" and done["rows"]["inserted"] == n, done
    finally:
        w2.stop()


def test_a_worker_refuses_an_unmigrated_store_and_unknown_kinds(store, uploads):
    r = run_cli("worker", "--database-url", store.fresh_url(), "--upload-dir", uploads)
    assert r.rc == 2 and "migrations" in r.stderr
    url = Shop.prepare_database(store)
    r = run_cli("worker", "--database-url", url, "--upload-dir", uploads, "--kinds", "no_such",
                timeout=30)
    assert r.rc == 2 and "no_such" in r.stderr


def test_a_worker_carries_on_after_the_store_restarts(store, uploads):
    if store.kind != "postgres":
        pytest.skip("the store restarting is a PostgreSQL server restarting")
    pgdir = Path(tempfile.gettempdir()) / f"libromind-it-pgw-{uuid.uuid4().hex[:10]}"
    p = subprocess.run([str(PG_SCRIPT), "start", str(pgdir)], capture_output=True, text=True,
                       timeout=120)
    assert p.returncode == 0, p.stderr
    try:
        base = (pgdir / "url").read_text().strip()
        s = Shop.start(Store("postgres", Path(uploads), base), "--worker", "off",
                       "--upload-dir", uploads)
        url = s.url
        w = WorkerProcess(url, uploads)
        try:
            first = upload(s, rows(5, unique("r1-")))
            assert wait_state(s, first["id"], {"succeeded"})["rows"]["inserted"] == 5
            r = subprocess.run([str(PG_SCRIPT), "restart", str(pgdir)], capture_output=True,
                               text=True, timeout=120)
            assert r.returncode == 0, r.stderr
            # The server may answer 503 for a moment while its pool reconnects.
            deadline = time.monotonic() + 30
            while True:
                try:
                    second = upload(s, rows(5, unique("r2-")))
                    break
                except AssertionError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.5)
            assert wait_state(s, second["id"], {"succeeded"}, timeout=60)["rows"]["inserted"] == 5
            assert w.proc.poll() is None  # the worker never died
        finally:
            w.stop()
            s.kill()
    finally:
        subprocess.run([str(PG_SCRIPT), "stop", str(pgdir)], capture_output=True, timeout=120)
