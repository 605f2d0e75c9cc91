"""Writes the "shop" section of docs/benchmarks.md from a bench/shop/run.sh result folder.

    report.py bench/results/shop-<stamp> [--markdown docs/benchmarks.md]

Without --markdown the section is printed. The goal lines (PASS/FAIL) go to stdout either way.
"""
import argparse
import glob
import json
import os
import re
import statistics
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from sections import write_section  # noqa: E402

GOAL_ORDERS_PER_S = 200
GOAL_CLIENTS = 50


def read_meta(d):
    meta = {}
    for line in open(os.path.join(d, "meta.env")):
        k, _, v = line.rstrip("\n").partition("=")
        meta[k] = v
    return meta


def load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def runs_of(d, name):
    out = []
    for p in glob.glob(os.path.join(d, f"{name}.*.json")):
        m = re.search(r"\.(\d+)\.json$", p)
        r = load(p)
        if m and r:
            out.append((int(m.group(1)), r))
    return [r for _, r in sorted(out, key=lambda x: x[0])]


def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def fnum(x, digits=1):
    if x is None:
        return "n/a"
    return f"{x:,.{digits}f}"


def pct(x):
    return "–" if not x else f"{100 * x:.0f}%"


def fms(x):
    if x is None:
        return "n/a"
    return f"{x:.1f}" if x >= 10 else f"{x:.2f}"


def non2xx(outcomes):
    return {k: v for k, v in outcomes.items() if not k.startswith("2")}


def merge_counts(dicts):
    out = {}
    for d in dicts:
        for k, v in d.items():
            out[k] = out.get(k, 0) + v
    return out


def describe_counts(d):
    if not d:
        return "none"
    return ", ".join(f"{v:,} × {k}" for k, v in sorted(d.items(), key=lambda kv: -kv[1]))


def summarize(runs):
    """Medians over the runs of one store's checkout runs."""
    if not runs:
        return None
    dur = runs[0]["duration_s"]
    cpu_keys = sorted({k for r in runs for k in r.get("cpu_s", {})})
    return {
        "n": len(runs),
        "orders_per_s": med([r["orders_per_s"] for r in runs]),
        "each": [r["orders_per_s"] for r in runs],
        "p50": med([r["checkout"]["latency"]["p50_ms"] for r in runs]),
        "p90": med([r["checkout"]["latency"]["p90_ms"] for r in runs]),
        "p99": med([r["checkout"]["latency"]["p99_ms"] for r in runs]),
        "cart_p50": med([r["add_to_cart"]["latency"]["p50_ms"] for r in runs]),
        "cart_p99": med([r["add_to_cart"]["latency"]["p99_ms"] for r in runs]),
        "checkout_errors": merge_counts([non2xx(r["checkout"]["outcomes"]) for r in runs]),
        "cart_errors": merge_counts([non2xx(r["add_to_cart"]["outcomes"]) for r in runs]),
        "server_errors": sum(r.get("server_errors", 0) for r in runs),
        "cores": {k: med([r.get("cpu_s", {}).get(k) for r in runs]) / dur for k in cpu_keys},
        "duration": dur,
        "clients": runs[0]["clients"],
    }


def server_means(d, name):
    """Server-side mean duration (ms) by route between /metrics before and after a run."""
    def parse(path):
        vals = {}
        try:
            text = open(path).read()
        except OSError:
            return vals
        for m in re.finditer(r'^libromind_http_request_duration_seconds_(sum|count)\{route="([^"]+)"\} (\S+)$',
                             text, re.M):
            vals[(m.group(2), m.group(1))] = float(m.group(3))
        return vals
    a = parse(os.path.join(d, f"{name}.metrics-before.txt"))
    b = parse(os.path.join(d, f"{name}.metrics-after.txt"))
    out = {}
    for route in ("/api/v1/orders", "/api/v1/cart/items"):
        n = b.get((route, "count"), 0) - a.get((route, "count"), 0)
        s = b.get((route, "sum"), 0) - a.get((route, "sum"), 0)
        out[route] = 1000 * s / n if n > 0 else None
    return out


def pool_open(d, name):
    """libromind_store_pool_connections{state="open"} after a run."""
    try:
        text = open(os.path.join(d, f"{name}.metrics-after.txt")).read()
    except OSError:
        return None
    m = re.search(r'^libromind_store_pool_connections\{state="open"\} (\S+)$', text, re.M)
    return int(float(m.group(1))) if m else None


def pg_counters(path):
    rows = {}
    try:
        for line in open(path):
            f = line.rstrip("\n").split("|")
            if len(f) >= 9:
                rows[(f[0], f[1])] = [int(x) for x in f[2:9]]
    except OSError:
        pass
    return rows


def pg_deltas(d, name):
    a, b = pg_counters(os.path.join(d, f"{name}.pg-start.txt")), pg_counters(os.path.join(d, f"{name}.pg-end.txt"))
    if not a or not b:
        return None
    delta = {k: [y - x for x, y in zip(a.get(k, [0] * 7), v)] for k, v in b.items()}
    return delta, b


def waits(d, name, run):
    """Mean number of client backends per (state, wait) over the samples inside the window."""
    path = os.path.join(d, f"waits-{name}.txt")
    if not os.path.exists(path) or not run:
        return None, 0
    per = {}
    samples = set()
    for line in open(path):
        f = line.rstrip("\n").split("|")
        if len(f) != 5:
            continue
        t = float(f[0])
        if not (run["window_start_unix"] <= t <= run["window_end_unix"]):
            continue
        samples.add(t)
        state = f[1] or "?"
        what = "on CPU (no wait event)" if f[2] == "-" else f"{f[2]}: {f[3]}"
        if state != "active":
            what = state if state != "idle in transaction" else "idle in transaction (waiting for serve)"
        per[what] = per.get(what, 0) + int(f[4])
    n = len(samples)
    return ({k: v / n for k, v in per.items()} if n else None), n


def statements(d, name):
    path = os.path.join(d, f"{name}.statements.tsv")
    rows = []
    if not os.path.exists(path):
        return rows
    for line in open(path):
        f = line.rstrip("\n").split("\t")
        if len(f) == 5:
            rows.append({"calls": int(f[0]), "plan_ms": float(f[1]), "exec_ms": float(f[2]),
                         "rows": int(f[3]), "query": f[4]})
    return rows


def wal_per_run(d, name, runs):
    """Medians over the runs of NAME.N of the WAL counters (pg_stat_wal) over each window."""
    rows = []
    for i, r in enumerate(runs, 1):
        dl = pg_deltas(d, f"{name}.{i}")
        if not dl or not r.get("orders"):
            continue
        delta, _ = dl
        w = delta.get(("wal", "cluster"))
        db = next((v for k, v in delta.items() if k[0] == "db"), None)
        if not w:
            continue
        n, dur = r["orders"], r["duration_s"]
        rows.append({"records": w[0] / n, "fpi": w[1] / n, "bytes": w[2] / n, "syncs_per_s": w[4] / dur,
                     "orders_per_sync": n / w[4] if w[4] else None, "commits": db[0] / n if db else None,
                     # wal_sync_time (µs; 0 without track_wal_io_timing)
                     "sync_ms": w[5] / w[4] / 1000 if w[4] and w[5] else None,
                     "sync_ms_each": w[5] / w[4] / 1000 if w[4] and w[5] else None,
                     "sync_share": w[5] / 1e6 / dur if w[5] else None})
    if not rows:
        return None
    out = {k: med([x[k] for x in rows]) for k in rows[0]}
    out["sync_ms_each"] = [x["sync_ms_each"] for x in rows if x["sync_ms_each"]]
    return out


def fsync_line(d, method, which):
    """pg_test_fsync's result for METHOD with one 8kB write: (line, ops/s, µs/op) or None."""
    try:
        text = open(os.path.join(d, f"pg_test_fsync-{which}.txt")).read()
    except OSError:
        return None
    part = text.split("using one 8kB write", 1)
    if len(part) < 2:
        return None
    section = part[1].split("\n\n", 1)[0]
    for line in section.splitlines():
        m = re.match(rf"\s*{re.escape(method)}\s+([\d.]+) ops/sec\s+(\d+) usecs/op", line)
        if m:
            return re.sub(r"\s+", " ", line.strip()), float(m.group(1)), int(m.group(2))
    return None


def pg_setting(v):
    """'16384 8kB' -> '128MB'; other values as PostgreSQL reports them."""
    m = re.fullmatch(r"(\d+) 8kB", v)
    if m:
        return f"{int(m.group(1)) * 8 // 1024}MB"
    return v.replace(" ", "")


def shorten(q, n=110):
    q = q.replace("|", "\\|")
    return q if len(q) <= n else q[: n - 1] + "…"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("--markdown")
    args = ap.parse_args()
    d = args.dir
    meta = read_meta(d)
    pg = summarize(runs_of(d, "checkout-pg"))
    pgd = summarize(runs_of(d, "checkout-pg-durable"))
    sq = summarize(runs_of(d, "checkout-sqlite"))
    login = load(os.path.join(d, "login-pg.json"))
    over = {db: load(os.path.join(d, f"oversell-{db}.json")) for db in ("pg", "pg-durable", "sqlite")}
    PG_FAST = "PostgreSQL (test cluster: fsync, synchronous_commit, full_page_writes off)"
    PG_DUR = "PostgreSQL (durable: fsync, synchronous_commit, full_page_writes on)"
    stores = (("pg", PG_FAST, pg), ("pg-durable", PG_DUR, pgd), ("sqlite", "SQLite", sq))
    method = meta.get("pgdurable_wal_sync_method", "fdatasync")
    fs = {w: fsync_line(d, method, w) for w in ("before", "after")}
    fs = {w: v for w, v in fs.items() if v}
    cfg = {}
    try:
        cfg = json.loads(meta.get("serve_config_pg", "{}"))
    except ValueError:
        pass
    t, m = cfg.get("argon2_ops", "?"), cfg.get("argon2_memory_kib", "?")
    m_mib = f"{int(m) // 1024} MiB" if str(m).isdigit() else "?"

    goals = []
    for s, label in ((pg, PG_FAST), (pgd, PG_DUR)):
        if s:
            goals.append((f"checkout on {label} with {GOAL_CLIENTS} concurrent clients ≥ "
                          f"{GOAL_ORDERS_PER_S} orders/s (median of {s['n']} runs)",
                          f"{fnum(s['orders_per_s'])} orders/s with {s['clients']} clients",
                          s["orders_per_s"] >= GOAL_ORDERS_PER_S and s["clients"] >= GOAL_CLIENTS))
    for db, label in (("pg", "PostgreSQL"), ("pg-durable", "durable PostgreSQL"), ("sqlite", "SQLite")):
        o = over.get(db)
        if o:
            goals.append((f"no oversell on {label}: {o['clients']} buyers, {o['stock_before']} copies → "
                          f"exactly {o['stock_before']} orders and 0 left",
                          f"{o['orders']} orders, stock read back {o['stock_after']} "
                          f"({o['stock_after_2s']} 2 s later)", bool(o["ok"])))
    for s, label in ((pg, "PostgreSQL"), (pgd, "durable PostgreSQL"), (sq, "SQLite")):
        if s:
            goals.append((f"no 5xx or transport errors during the checkout runs on {label}",
                          f"{s['server_errors']:,}", s["server_errors"] == 0))

    L = ["## Shop: checkout and login (shop issue): `bench/shop/run.sh`", ""]
    L.append(f"Generated by `bench/shop/run.sh` (then `bench/shop/report.py`) on {meta.get('date')}, "
             f"commit {meta.get('git_commit')}. Raw results: `bench/results/shop-{meta.get('stamp')}/` "
             "(not committed).")
    if pg:
        L.append(f"Load: `bench/shop/checkout_load.go` ({meta.get('go_version')}, standard library), "
                 f"{pg['clients']} concurrent clients, each its own signed-in user, each looping "
                 "`POST /api/v1/cart/items` (1 copy) then `POST /api/v1/orders` (fresh "
                 f"`Idempotency-Key`, test card), over the {meta.get('nbooks')} most popular books "
                 f"round-robin; {meta.get('duration')} measured after {meta.get('warmup')} warm-up, "
                 f"**median of {pg['n']} runs** on each store. `serve --blocking-threads {meta.get('blocking_threads')} "
                 f"--store-pool-size {meta.get('pool_size')} --access-log false`, everything else "
                 f"default, on {int(meta.get('books_pg', 0)):,} books imported from "
                 f"{meta.get('data_files')} file(s) of `../shared/data/books/`.")
    L.append("")
    L += ["### Goals", "", "| goal | measured | result |", "| --- | --- | --- |"]
    for g, mm, ok in goals:
        L.append(f"| {g} | {mm} | **{'PASS' if ok else 'FAIL'}** |")

    L += ["", "### Checkout", "",
          "orders/s = `201` answers of `POST /api/v1/orders` per second of the measured window; "
          "latencies are the client's (request sent → whole body read) of the successful answers; "
          "medians over the runs. CPU is in cores (CPU seconds per second) during the window.", "",
          "| store | orders/s | orders/s of each run | checkout p50 ms | p90 ms | p99 ms | add-to-cart p50 ms | "
          "add-to-cart p99 ms | non-2xx answers | CPU: serve / PostgreSQL / load generator / rest of the machine |",
          "| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | --- | --- |"]
    for _, label, s in stores:
        if not s:
            continue
        c = s["cores"]
        cpu = " / ".join(fnum(c.get(k), 2) if k in c else "–" for k in ("serve", "postgres", "client", "other"))
        errs = merge_counts([s["checkout_errors"], s["cart_errors"]])
        L.append(f"| {label} | {fnum(s['orders_per_s'])} | {', '.join(fnum(x) for x in s['each'])} | "
                 f"{fms(s['p50'])} | {fms(s['p90'])} | {fms(s['p99'])} | {fms(s['cart_p50'])} | "
                 f"{fms(s['cart_p99'])} | {describe_counts(errs)} | {cpu} |")
    if pg and sq:
        L += ["", f"SQLite / PostgreSQL (test cluster): {sq['orders_per_s'] / pg['orders_per_s']:.2f}× the orders/s."]
    if pg and pgd:
        L += ["", f"Durable / test-cluster PostgreSQL: {pgd['orders_per_s'] / pg['orders_per_s']:.2f}× the orders/s, "
                  f"{pgd['p50'] / pg['p50']:.2f}× the checkout p50."]

    # What a commit costs on this disk: WAL per order and flushes per second over the windows.
    wals = [(label, wal_per_run(d, name, runs_of(d, name)))
            for name, label in (("checkout-pg", PG_FAST), ("checkout-pg-durable", PG_DUR))]
    wals = [(label, w) for label, w in wals if w]
    if fs or any(lbl == PG_DUR for lbl, _ in wals):
        L += ["", "#### WAL and the disk's flush latency", ""]
        if fs:
            L.append(f"`pg_test_fsync -s {meta.get('fsync_secs', '?')}` on the disk of the durable cluster's "
                     f"data directory ({meta.get('fsync_filesystem', '?')}), with no cluster running, "
                     f"the server's `wal_sync_method` with one 8kB write (full output: "
                     "`pg_test_fsync-before.txt` and `-after.txt` in the raw results):")
            L.append("")
            for w, (line, ops, us) in fs.items():
                L.append(f"- {w} the durable runs (load average {meta.get(f'loadavg_pg_test_fsync_{w}', '?')}): "
                         f"**`{line}`**, i.e. {us / 1000:.2f} ms per flush, at most ~{ops:,.0f} flushes "
                         "per second one after the other")
        elif pgd:
            L.append("`pg_test_fsync` was not run (not found), so no flush latency of the disk is given.")
        if wals:
            L += ["", "Over the measured windows (`pg_stat_wal`, the whole cluster, medians over the runs). "
                      "A durable commit waits for a WAL flush (`wal_sync`); commits that arrive while "
                      "one is in progress share the next one (group commit), hence *orders per flush*. "
                      "*Flush ms* and *time flushing* come from `wal_sync_time` (`track_wal_io_timing=on`, "
                      "durable cluster only); WAL flushes do not overlap, so a *time flushing* near 100% "
                      "means the disk's flush latency sets the commit rate.", "",
                  "| store | WAL records per order | full-page images per order | WAL kB per order | "
                  "committed transactions per order | WAL flushes/s | orders per flush | flush ms "
                  "(each run) | time flushing |",
                  "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
            for label, w in wals:
                flush = (f"{fnum(w['sync_ms'], 2)} ({', '.join(fnum(x, 2) for x in w['sync_ms_each'])})"
                         if w["sync_ms"] else "–")
                L.append(f"| {label} | {fnum(w['records'])} | {fnum(w['fpi'], 2)} | {fnum(w['bytes'] / 1024, 1)} | "
                         f"{fnum(w['commits'], 2)} | {fnum(w['syncs_per_s'])} | "
                         f"{fnum(w['orders_per_sync'], 2) if w['orders_per_sync'] else '– (no flushes)'} | "
                         f"{flush} | {pct(w['sync_share'])} |")

    if login:
        L += ["", "### Login", "",
              f"`POST /api/v1/auth/login` of the same users, argon2id with the shipped parameters "
              f"**t = {t}, m = {m} KiB ({m_mib}), p = 1** (libsodium), each level for "
              f"{meta.get('login_duration')} (PostgreSQL test cluster, same `serve`).", "",
              "| concurrent clients | logins/s | p50 ms | p90 ms | p99 ms | logins measured | non-2xx |",
              "| ---: | ---: | ---: | ---: | ---: | ---: | --- |"]
        for lv in login["levels"]:
            la = lv["latency"]
            L.append(f"| {lv['clients']} | {fnum(lv['logins_per_s'])} | {fms(la['p50_ms'])} | "
                     f"{fms(la['p90_ms'])} | {fms(la['p99_ms'])} | {lv['logins']:,} | "
                     f"{describe_counts(non2xx(lv['outcomes']))} |")

    if any(over.values()):
        L += ["", "### Oversell race", "",
              "The administrator sets one book to 10 copies; every client puts one copy in its cart; "
              "then all check out at the same moment. The stock is read back through "
              "`GET /api/v1/books/{id}` after the response cache's poll interval.", "",
              "| store | copies | buyers | orders made (201) | other answers | stock read back "
              "(after ms) | 2 s later | result |",
              "| --- | ---: | ---: | ---: | --- | ---: | ---: | --- |"]
        for db, label, _ in stores:
            o = over.get(db)
            if not o:
                continue
            others = {k: v for k, v in o["checkout_outcomes"].items() if k != "201"}
            L.append(f"| {label} | {o['stock_before']} | {o['clients']} | {o['orders']} | "
                     f"{describe_counts(others)} | {o['stock_after']} ({o['cache_wait_ms']:.0f}) | "
                     f"{o['stock_after_2s']} | **{'PASS' if o['ok'] else 'FAIL'}** |")
            if o.get("problem"):
                L.append(f"\n{label}: {o['problem']}")

    sweep = []
    for p in sorted(glob.glob(os.path.join(d, "sweep-pg-*.json")),
                    key=lambda p: [int(x) for x in re.findall(r"\d+", os.path.basename(p))]):
        mt = re.search(r"sweep-pg-(\d+)-(\d+)\.json$", p)
        r = load(p)
        if mt and r:
            sweep.append((int(mt.group(1)), int(mt.group(2)), r))
    if sweep:
        L += ["", "### Where the time goes (PostgreSQL test cluster)", "",
              f"One checkout run of {meta.get('sweep_duration')} per `serve` setting, {sweep[0][2]['clients']} "
              "clients" + (", with `pg_stat_statements` (and planning time) loaded: PostgreSQL restarted "
                           "with it after the runs above" if meta.get("sweep_pg_stat_statements") else "")
              + ". *Backends* is the mean number of PostgreSQL client backends in each state, sampled "
              "from `pg_stat_activity` every 200 ms inside the window; *server ms* is `serve`'s own "
              "mean time per `POST /api/v1/orders` (its request histogram, warm-up included).", "",
              "| blocking threads | pool (connections opened) | orders/s | checkout p50 ms | p99 ms | server ms | "
              "CPU serve / PostgreSQL / load / rest | backends running | waiting on a lock | idle in transaction |",
              "| ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: |"]
        for bt, ps, r in sweep:
            dur = r["duration_s"]
            c = {k: v / dur for k, v in r.get("cpu_s", {}).items()}
            cpu = " / ".join(fnum(c.get(k), 2) for k in ("serve", "postgres", "client", "other"))
            w, _ = waits(d, f"pg-{bt}-{ps}", r)
            w = w or {}
            lock = sum(v for k, v in w.items() if k.startswith("Lock:"))
            idle_tx = sum(v for k, v in w.items() if k.startswith("idle in transaction"))
            running = sum(v for k, v in w.items() if not k.startswith("Lock:") and not k.startswith("idle"))
            sm = server_means(d, f"sweep-pg-{bt}-{ps}")
            po = pool_open(d, f"sweep-pg-{bt}-{ps}")
            L.append(f"| {bt} | {ps} ({po if po is not None else '?'}) | {fnum(r['orders_per_s'])} | {fms(r['checkout']['latency']['p50_ms'])} | "
                     f"{fms(r['checkout']['latency']['p99_ms'])} | {fms(sm.get('/api/v1/orders'))} | {cpu} | "
                     f"{fnum(running, 2)} | {fnum(lock, 2)} | {fnum(idle_tx, 2)} |")
        best = max(sweep, key=lambda x: x[2]["orders_per_s"])
        L += ["", f"Most orders/s in this sweep: blocking threads {best[0]}, pool {best[1]} "
                  f"({fnum(best[2]['orders_per_s'])} orders/s; single runs, so differences of a few "
                  "per cent are noise)."]

        # Detail of the measured setting (or the nearest one in the sweep).
        pick = next((x for x in sweep if str(x[0]) == meta.get("blocking_threads")
                     and str(x[1]) == meta.get("pool_size")), best)
        bt, ps, r = pick
        name = f"sweep-pg-{bt}-{ps}"
        w, nsamp = waits(d, f"pg-{bt}-{ps}", r)
        if w:
            L += ["", f"PostgreSQL backends at blocking threads {bt}, pool {ps} (mean over {nsamp} samples):", "",
                  "| state / wait event | backends |", "| --- | ---: |"]
            for k, v in sorted(w.items(), key=lambda kv: -kv[1])[:10]:
                L.append(f"| {k} | {v:.2f} |")
        st = statements(d, name)
        orders = r["orders"] or 1
        if st:
            calls = sum(x["calls"] for x in st)
            plan = sum(x["plan_ms"] for x in st)
            exe = sum(x["exec_ms"] for x in st)
            L += ["", f"`pg_stat_statements` over the same window: {calls / orders:.1f} statements per "
                      f"order placed (cart add included), {plan / orders:.2f} ms planning + {exe / orders:.2f} ms "
                      "execution per order. The top statements:", "",
                  "| calls per order | plan ms per call | exec ms per call | share of plan+exec | statement |",
                  "| ---: | ---: | ---: | ---: | --- |"]
            for x in st[:12]:
                share = (x["plan_ms"] + x["exec_ms"]) / (plan + exe) if plan + exe else 0
                L.append(f"| {x['calls'] / orders:.2f} | {x['plan_ms'] / max(x['calls'], 1):.3f} | "
                         f"{x['exec_ms'] / max(x['calls'], 1):.3f} | {100 * share:.1f}% | `{shorten(x['query'])}` |")
        dl = pg_deltas(d, name)
        if dl:
            delta, end = dl
            db = next((v for k, v in delta.items() if k[0] == "db"), None)
            bk = delta.get(("table", "books"))
            bend = end.get(("table", "books"))
            notes = []
            if db:
                notes.append(f"{db[0] / orders:.2f} committed transactions per order")
                if db[6]:
                    notes.append(f"{db[6]} deadlocks")
            if bk and bk[1]:
                notes.append(f"{bk[1] / orders:.2f} `books` row updates per order, {100 * bk[2] / bk[1]:.0f}% "
                             f"of them HOT; {bend[4]:,} dead `books` tuples at the end of the window")
            if notes:
                L += ["", "PostgreSQL's counters over the window (`pg_stat_database`, `pg_stat_user_tables`, "
                          "flushed about once a second): " + "; ".join(notes) + "."]

    L += ["", "### Machine and settings", ""]
    L.append(f"- CPU: {meta.get('cpu_model')}, `nproc` = {meta.get('nproc')}; memory {meta.get('mem_total')}; "
             f"Linux {meta.get('kernel')}")
    loads = [f"{k.replace('loadavg_', '')}: {v}" for k, v in meta.items() if k.startswith("loadavg_")]
    L.append("- load average (1/5/15 min; it counts this benchmark's own busy threads too, so "
             "the *rest of the machine* CPU column is the better sign of outside work) "
             + "; ".join(loads))
    if meta.get("binary"):
        binary = re.sub(r"^\S*?/(build/)", r"\1", meta["binary"])
        L.append(f"- binary under test: `{binary}`, copied to the scratch directory before the runs")
    def settings(prefix):
        return ", ".join(f"`{k[len(prefix):]}={pg_setting(v)}`" for k, v in sorted(meta.items())
                         if k.startswith(prefix))
    L.append(f"- PostgreSQL {meta.get('postgres_version')}, two throwaway clusters from "
             "`scripts/pg-test-server.sh`, one after the other on the same disk (never both running "
             "during a measurement):")
    L.append("  - **test cluster** (`scripts/pg-test-server.sh start`): the *" + PG_FAST + "* rows, "
             "the first checkout goal, the login table, the PostgreSQL oversell race and the sweep. "
             "Settings: " + settings("pg_") + ". **`fsync=off`, `synchronous_commit=off` and "
             "`full_page_writes=off`**: a commit does not wait for the disk, so these are upper "
             "bounds of what a durable production server does.")
    if pgd or over.get("pg-durable"):
        L.append("  - **durable cluster** (`PG_TEST_DURABLE=1 scripts/pg-test-server.sh start`, its own "
                 f"migrate and import of the same {int(meta.get('books_pgdurable', 0)):,} books, "
                 "`VACUUM ANALYZE` and `CHECKPOINT` before the runs; the test cluster was stopped "
                 "first): the *" + PG_DUR + "* rows, the durable checkout goal and the durable "
                 "oversell race, with the same `serve` settings, books and clients. Settings: "
                 + settings("pgdurable_") + ": PostgreSQL's durable defaults, a commit returns only "
                 f"once its WAL is flushed to the disk (`{method}`).")
    else:
        L.append("  - no durable cluster in this run (`BENCH_SHOP_DURABLE=0`).")
    L.append("- SQLite " + meta.get("sqlite_version", "?") + " with `serve`'s settings "
             "(`journal_mode=WAL`, `synchronous=NORMAL`: a commit does not fsync either; the WAL is "
             "synced at checkpoints).")
    if pg:
        L.append(f"- `serve`: `--blocking-threads {meta.get('blocking_threads')} --store-pool-size "
                 f"{meta.get('pool_size')} --access-log false`, 1 I/O thread, response cache on "
                 f"(64 MiB), argon2id t = {t}, m = {m} KiB, test payment provider, ephemeral JWT key.")
    L.append(f"- Import of the catalogue before the runs: PostgreSQL test cluster {meta.get('import_pg_seconds')} s, "
             + (f"durable PostgreSQL {meta['import_pgdurable_seconds']} s, " if meta.get("import_pgdurable_seconds") else "")
             + f"SQLite {meta.get('import_sqlite_seconds', 'n/a')} s (wall, including migrate).")
    L.append("- The load generator, `serve` and PostgreSQL share the machine's cores; the *rest of the "
             "machine* column is whatever else ran meanwhile (other users' work: a large value "
             "means the run was disturbed).")
    L.append("- Stock: every benchmarked book is set to 1,000,000 copies before each run "
             "(`PATCH /api/v1/admin/books/{id}`), so no checkout fails for want of stock; the "
             "users are registered and signed in before the clock starts.")

    cmds = []
    try:
        cmds = [line.rstrip("\n") for line in open(os.path.join(d, "commands.txt"))]
    except OSError:
        pass
    if cmds:
        seen, uniq = set(), []
        for c in cmds:
            key = re.sub(r"127\.0\.0\.1:\d+", "127.0.0.1:PORT", c)
            key = re.sub(r"(checkout|sweep)-pg[.\-][\w.-]+", r"\1-…", key)
            if key not in seen:
                seen.add(key)
                uniq.append(c)
        L += ["", "Commands (`$WORK` is the run's scratch directory under /tmp; ports vary):", "", "```sh"]
        L += uniq
        L += ["```"]
    L += ["", "Re-run with `make bench-shop` or `bench/shop/run.sh` (knobs at the top of the script, "
              "e.g. `BENCH_SHOP_RUNS=3 BENCH_SHOP_DURATION=20s BENCH_SHOP_CLIENTS=50`)."]

    text = "\n".join(L)
    if args.markdown:
        write_section(args.markdown, "shop", text)
    else:
        print(text)
    for g, mm, ok in goals:
        print(f"{'PASS' if ok else 'FAIL'}  {g}: {mm}", file=sys.stderr if not args.markdown else sys.stdout)


if __name__ == "__main__":
    main()
