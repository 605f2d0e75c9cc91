#!/usr/bin/env python3
"""End to end: a 10,000-book bulk upload until every book is embedded and searchable (issue 6).

Starts `libromind serve` on a fresh SQLite store (as `make run` does: the in-process worker, the
embedding jobs with --embed-threads), signs in as an administrator, POSTs the file to
/api/v1/admin/imports and times, from the first byte sent:
  accepted   the 202 (the file is on disk and its job queued)
  imported   the import is `succeeded` (every row written, its embedding jobs queued)
  embedded   `embeddings.done == embeddings.total` (the import is `complete`)
  searchable a dense-only search for the last book's title finds it (its vector is in the
             serving process's ANN index) and a lexical one too
Prints one JSON line per run and a summary line with the medians.

  bench/jobs/upload_e2e.py --books 10000 --runs 1 --out DIR
The books are the first N of the shipped catalogue (../shared/data/books), with new ids.
"""

from __future__ import annotations

import argparse
import glob
import http.client
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parents[2]
ADMIN_EMAIL = "bench-admin@example.org"
ADMIN_PASSWORD = "bench admin passphrase"


def make_file(path: Path, n: int, tag: str) -> tuple[int, str, str]:
    files = sorted(glob.glob(str(ROOT / ".." / "shared" / "data" / "books" / "books-*.jsonl")))
    count, last_id, last_title = 0, "", ""
    with open(path, "w", encoding="utf-8") as out:
        for f in files:
            with open(f, encoding="utf-8") as src:
                for line in src:
                    if not line.strip():
                        continue
                    rec = json.loads(line)
                    rec["id"] = f"{tag}-{count}"
                    rec.pop("isbn13", None)  # the shipped books own their isbn13s
                    out.write(json.dumps(rec) + "\n")
                    count += 1
                    last_id, last_title = rec["id"], rec["title"]
                    if count == n:
                        return count, last_id, last_title
    return count, last_id, last_title


def request(port: int, method: str, target: str, body: bytes | None = None,
            headers: dict | None = None, timeout: float = 600) -> tuple[int, dict]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, target, body=body, headers=headers or {})
        r = conn.getresponse()
        data = r.read()
        return r.status, (json.loads(data) if data else {})
    finally:
        conn.close()


def run_once(args, work: Path, n_run: int) -> dict:
    bin_ = str(ROOT / args.bin)
    db = work / f"bench-{n_run}.db"
    url = f"sqlite://{db}"
    subprocess.run([bin_, "migrate", "--database-url", url], check=True, capture_output=True)
    pw = work / "admin.pw"
    pw.write_text(ADMIN_PASSWORD + "\n")
    subprocess.run([bin_, "user", "create", "--database-url", url, "--email", ADMIN_EMAIL,
                    "--admin", "--password-file", str(pw)], check=True, capture_output=True)
    books = work / "upload.jsonl"
    n, last_id, last_title = make_file(books, args.books, f"e2e{n_run}")
    body = books.read_bytes()
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIBROMIND_")}
    log = open(work / f"serve-{n_run}.log", "w")
    proc = subprocess.Popen(
        [bin_, "serve", "--database-url", url, "--listen", "127.0.0.1:0", "--access-log", "false",
         "--index-dir", str(work / f"index-{n_run}"), "--upload-dir", str(work / "uploads"),
         "--embed-threads", str(args.embed_threads), "--worker-concurrency", "2"],
        stdout=subprocess.PIPE, stderr=log, env=env, text=True)
    port = None
    for line in proc.stdout:
        if '"server_listening"' in line:
            port = json.loads(line)["port"]
            break
    threading.Thread(target=lambda: [None for _ in proc.stdout], daemon=True).start()
    try:
        for _ in range(600):
            st, _ = request(port, "GET", "/readyz")
            if st == 200:
                break
            time.sleep(0.1)
        st, tok = request(port, "POST", "/api/v1/auth/login",
                          json.dumps({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}).encode(),
                          {"Content-Type": "application/json"})
        assert st == 200, tok
        auth = {"Authorization": f"Bearer {tok['access_token']}"}
        t0 = time.monotonic()
        st, imp = request(port, "POST", "/api/v1/admin/imports", body,
                          {**auth, "Content-Type": "application/x-ndjson"})
        t_accepted = time.monotonic() - t0
        assert st == 202, imp
        t_imported = t_embedded = None
        while True:
            st, imp = request(port, "GET", f"/api/v1/admin/imports/{imp['id']}", headers=auth)
            now = time.monotonic() - t0
            if imp["state"] == "failed":
                raise SystemExit(f"the import failed: {imp['error']} {imp['errors'][:3]}")
            if t_imported is None and imp["state"] == "succeeded":
                t_imported = now
            if imp["complete"]:
                t_embedded = now
                break
            if now > args.timeout:
                raise SystemExit(f"not complete after {args.timeout}s: {imp}")
            time.sleep(0.1)
        q = quote(last_title)
        while True:
            _, dense = request(port, "GET", f"/api/v1/search?q={q}&lexical=false&limit=20")
            _, lexical = request(port, "GET", f"/api/v1/search?q={q}&dense=false&limit=20")
            ids = {i["book"]["id"] for i in dense.get("items", [])}
            lex = {i["book"]["id"] for i in lexical.get("items", [])}
            if last_id in ids and last_id in lex:
                t_searchable = time.monotonic() - t0
                break
            if time.monotonic() - t0 > args.timeout:
                raise SystemExit(f"{last_id} not searchable after {args.timeout}s")
            time.sleep(0.1)
        return {"bench": "upload_e2e", "books": n, "bytes": len(body),
                "accepted_s": round(t_accepted, 3), "imported_s": round(t_imported, 3),
                "embedded_s": round(t_embedded, 3), "searchable_s": round(t_searchable, 3),
                "embed_threads": args.embed_threads,
                "books_per_s_embedded": round(n / t_embedded, 1)}
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--books", type=int, default=10000)
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--embed-threads", type=int, default=2)
    ap.add_argument("--timeout", type=float, default=1800)
    ap.add_argument("--bin", default="build/release/libromind")
    ap.add_argument("--out", default="")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="lm-upload-e2e-"))
    results = []
    try:
        for i in range(args.runs):
            r = run_once(args, work, i)
            print(json.dumps(r), flush=True)
            results.append(r)
    finally:
        if args.out:
            for f in work.glob("serve-*.log"):
                shutil.copy(f, Path(args.out) / f.name)
        shutil.rmtree(work, ignore_errors=True)
    summary = {"bench": "upload_e2e_median", "runs": len(results)}
    for k in ("accepted_s", "imported_s", "embedded_s", "searchable_s"):
        summary[k] = statistics.median(r[k] for r in results)
    print(json.dumps(summary), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
