#!/usr/bin/env python3
"""What the recommendation stream adds to the model server's own time to first token.

For each run, a fresh request (a unique query, so the explanation cache misses) is posted to
POST /api/v1/recommendations with limit 1. The client notes when the `results` event and the
first `token` event arrive; the `done` event reports `model_first_token`, the model server's own
time to first token as Libro-Mind's model-server client measured it (from sending the request
to the first piece of the answer). The overhead of the stream is

    (first token event at the client - results event at the client) - done.model_first_token

i.e. loading the book and the cache lookup, building the prompt, parsing the model server's
stream, framing the SSE event, queueing it to the connection and the client reading it. It
slightly underestimates (the results event itself takes a moment to reach the client while the
model call has started), so a second, upper bound is printed too: everything from the request
to the first token event except the search and the model server's TTFT

    first token event at the client - done.search - done.model_first_token

(request parsing, the picks' books from the store, the response head, the results event, the
cache lookup, the prompt, the SSE path). Prints JSON with the medians.

  bench/search/sse_overhead.py --url http://127.0.0.1:8080 --runs 30
"""

from __future__ import annotations

import argparse
import http.client
import json
import statistics
import time
import urllib.parse


def one(url: str, query: str) -> dict:
    u = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(u.hostname, u.port or 80, timeout=120)
    t0 = time.perf_counter()
    conn.request("POST", "/api/v1/recommendations",
                 body=json.dumps({"query": query, "limit": 1}),
                 headers={"Content-Type": "application/json"})
    resp = conn.getresponse()
    assert resp.status == 200, resp.status
    marks: dict = {}
    name = ""
    while True:
        line = resp.readline()
        if not line:
            break
        line = line.decode().rstrip("\r\n")
        if line.startswith("event: "):
            name = line[7:]
        elif line.startswith("data: "):
            now = time.perf_counter() - t0
            data = json.loads(line[6:])
            if name == "results":
                marks["results"] = now
            elif name == "token" and "token" not in marks:
                marks["token"] = now
            elif name in ("done", "error"):
                marks[name] = data
                break
    conn.close()
    return marks


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", default="http://127.0.0.1:8080")
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--warmup", type=int, default=3)
    a = ap.parse_args()
    subjects = ["whales", "ghosts", "pirates", "gardens", "detectives", "dragons", "war", "love",
                "mountains", "trains", "islands", "kings", "robots", "wolves", "poetry"]
    overhead, upper, model_ttft, client_ttft, search = [], [], [], [], []
    for i in range(a.warmup + a.runs):
        q = f"a book about {subjects[i % len(subjects)]} number {i} {time.time_ns()}"
        m = one(a.url, q)
        if "done" not in m or "token" not in m:
            raise SystemExit(f"run {i}: no explanation: {m.get('error')}")
        if i < a.warmup:
            continue
        ft = m["done"]["timings_ms"]["model_first_token"]
        overhead.append((m["token"] - m["results"]) * 1000 - ft)
        model_ttft.append(ft)
        client_ttft.append(m["token"] * 1000)
        search.append(m["done"]["timings_ms"]["search"])
        upper.append(m["token"] * 1000 - search[-1] - ft)
    med = statistics.median
    print(json.dumps({
        "runs": a.runs,
        "stream_overhead_ms_p50": round(med(overhead), 2),
        "stream_overhead_ms_max": round(max(overhead), 2),
        "non_model_non_search_ms_p50": round(med(upper), 2),
        "non_model_non_search_ms_max": round(max(upper), 2),
        "model_server_ttft_ms_p50": round(med(model_ttft), 1),
        "client_first_token_ms_p50": round(med(client_ttft), 1),
        "search_ms_p50": round(med(search), 2),
    }))


if __name__ == "__main__":
    main()
