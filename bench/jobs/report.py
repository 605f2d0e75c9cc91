#!/usr/bin/env python3
"""The table of bench/jobs/run.sh: reads libromind.jsonl and celery.jsonl of a results folder and
prints markdown (rows: throughput with W workers, latency p50/p90/p99; columns: libromind on
PostgreSQL, Celery + Redis, their ratio).

    bench/jobs/report.py bench/results/jobs-<stamp>
"""
import json
import sys
from pathlib import Path


def load(path):
    out = {}
    if not path.exists():
        return out
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line.startswith("{"):
            continue
        r = json.loads(line)
        key = ("throughput", r["workers"]) if r["bench"] == "throughput" else ("latency",)
        out[key] = r
    return out


def fmt(v, digits):
    return "n/a" if v is None else f"{v:,.{digits}f}"


def ratio(a, b):
    return None if a is None or b in (None, 0) else a / b


def main():
    d = Path(sys.argv[1])
    lm = load(d / "libromind.jsonl")
    ce = load(d / "celery.jsonl")
    rows = []
    workers = sorted({k[1] for k in list(lm) + list(ce) if k[0] == "throughput"})
    for w in workers:
        a = lm.get(("throughput", w), {}).get("median_jobs_per_s")
        b = ce.get(("throughput", w), {}).get("median_jobs_per_s")
        r = ratio(a, b)
        rows.append((f"throughput, {w} worker{'s' if w > 1 else ''} (jobs/s, higher is better)",
                     fmt(a, 0), fmt(b, 0), "n/a" if r is None else f"{r:.2f}×"))
    for p in ("p50", "p90", "p99"):
        a = lm.get(("latency",), {}).get(f"{p}_ms")
        b = ce.get(("latency",), {}).get(f"{p}_ms")
        r = ratio(a, b)
        rows.append((f"enqueue-to-start {p} (ms, lower is better)", fmt(a, 2), fmt(b, 2),
                     "n/a" if r is None else f"{r:.2f}×"))
    print("| measurement | libromind (PostgreSQL) | Celery + Redis | ratio (libromind ÷ Celery) |")
    print("| --- | ---: | ---: | ---: |")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    # The details behind the medians.
    print()
    print("| throughput detail | system | jobs/s of each run | enqueue jobs/s | "
          "worker-side CPU ms / 1k jobs | server CPU ms / 1k jobs |")
    print("| --- | --- | --- | ---: | ---: | ---: |")
    for w in workers:
        for name, src in (("libromind", lm), ("celery", ce)):
            r = src.get(("throughput", w))
            if not r:
                continue
            runs = ", ".join(f"{x['jobs_per_s']:,.0f}" for x in r["runs"])
            print(f"| W={w} | {name} | {runs} | {fmt(r.get('median_enqueue_jobs_per_s'), 0)} | "
                  f"{fmt(r.get('client_cpu_ms_per_1k_jobs'), 0)} | "
                  f"{fmt(r.get('server_cpu_ms_per_1k_jobs'), 0)} |")


if __name__ == "__main__":
    main()
