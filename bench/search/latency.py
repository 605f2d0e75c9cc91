#!/usr/bin/env python3
"""One-query-at-a-time latency of the search endpoints against a running `libromind serve`.

For each pipeline configuration, every labelled query is sent REPS times (after one warm-up
pass); the server's own total (Server-Timing `total`) and the client's wall time are recorded.
Suggest is timed on the prefixes a shopper types (the first 3..8 letters of each query).

    latency.py --base http://127.0.0.1:PORT --queries dev.jsonl [--reps 3] > latency.json
"""
import argparse
import http.client
import json
import statistics
import sys
import time
from urllib.parse import quote, urlsplit

# Every stage named, so that a change of the service's defaults does not change what a row means.
CONFIGS = {
    "lexical": "dense=false&expansion=off&hyde=off&rerank=false",
    "dense": "lexical=false&expansion=off&hyde=off&rerank=false",
    "hybrid": "expansion=off&hyde=off&rerank=false",
    "hybrid+offline": "dense_weight=0.5&expansion=offline&hyde=offline&rerank=false",
    "hybrid+rerank": "rerank=true&rerank_n=20&expansion=off&hyde=off",
    # The lexical retriever without its candidate budget (every book holding a word scored).
    "lexical-exact": "dense=false&expansion=off&hyde=off&rerank=false&lexical_budget=0",
    "hybrid-exact": "expansion=off&hyde=off&rerank=false&lexical_budget=0",
}


def pct(values, p):
    if not values:
        return 0.0
    v = sorted(values)
    pos = p / 100 * (len(v) - 1)
    lo = int(pos)
    hi = min(len(v) - 1, lo + 1)
    return v[lo] + (v[hi] - v[lo]) * (pos - lo)


def server_total(headers):
    for part in headers.get("server-timing", "").split(","):
        name, _, dur = part.strip().partition(";dur=")
        if name == "total":
            return float(dur)
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--base", required=True)
    ap.add_argument("--queries", required=True)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--configs", default=",".join(CONFIGS))
    a = ap.parse_args()
    u = urlsplit(a.base)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
    queries = [json.loads(l)["query"] for l in open(a.queries, encoding="utf-8") if l.strip()]

    def get(target):
        t0 = time.perf_counter()
        conn.request("GET", target)
        r = conn.getresponse()
        body = r.read()
        wall = (time.perf_counter() - t0) * 1000
        if r.status != 200:
            sys.exit(f"{target}: {r.status} {body[:300]!r}")
        return wall, {k.lower(): v for k, v in r.getheaders()}, body

    out = {"queries": len(queries), "reps": a.reps, "configs": {}}
    for name in a.configs.split(","):
        extra = CONFIGS[name]
        targets = [f"/api/v1/search?q={quote(q)}&limit=20" + (f"&{extra}" if extra else "")
                   for q in queries]
        for t in targets:  # warm-up
            get(t)
        walls, servers, degraded = [], [], set()
        for _ in range(a.reps):
            for t in targets:
                wall, headers, body = get(t)
                walls.append(wall)
                s = server_total(headers)
                if s is not None:
                    servers.append(s)
                for d in json.loads(body)["degraded"]:
                    degraded.add(d["stage"])
        out["configs"][name] = {
            "n": len(walls),
            "p50_ms": pct(walls, 50), "p99_ms": pct(walls, 99),
            "server_p50_ms": pct(servers, 50), "server_p99_ms": pct(servers, 99),
            "degraded": sorted(degraded),
        }
        print(f"{name}: p50 {pct(walls, 50):.1f} ms, p99 {pct(walls, 99):.1f} ms", file=sys.stderr)
    prefixes = []
    for q in queries:
        for n in range(3, 9):
            prefixes.append(q[:n])
    for p in prefixes[:50]:
        get(f"/api/v1/suggest?q={quote(p)}")
    walls = []
    for rep in range(a.reps):
        for p in prefixes:
            # A distinct limit per repetition keeps the response cache out of the measurement.
            wall, _, _ = get(f"/api/v1/suggest?q={quote(p)}&limit={8 + rep}")
            walls.append(wall)
    out["suggest"] = {"n": len(walls), "p50_ms": pct(walls, 50), "p99_ms": pct(walls, 99)}
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
