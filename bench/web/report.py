"""Writes the "web" section of docs/benchmarks.md from a bench/web/run.sh result folder.

    report.py bench/results/web-<stamp> [--markdown docs/benchmarks.md]

Without --markdown the section is printed. The goal lines (PASS/FAIL) go to stdout either way.
"""
import argparse
import glob
import json
import os
import statistics
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from sections import write_section  # noqa: E402

GOAL_LCP_MS = 1500
GOAL_JS_KB = 200


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("folder")
    ap.add_argument("--markdown")
    args = ap.parse_args()
    meta = dict(line.rstrip("\n").split("=", 1) for line in open(os.path.join(args.folder, "meta.env")))
    runs = [json.load(open(f)) for f in sorted(glob.glob(os.path.join(args.folder, "run-*", "metrics.json")))]
    if not runs:
        sys.exit(f"report: no run-*/metrics.json in {args.folder}")

    lcp = {page: [ms for r in runs for ms in r["lcp"][page]["runs_ms"]] for page in ("home", "book")}
    js_kb = statistics.median(r["book_page_js"]["gzipped_bytes"] for r in runs) / 1024
    js_raw_kb = statistics.median(r["book_page_js"]["bytes"] for r in runs) / 1024
    js_files = runs[-1]["book_page_js"]["files"]
    axe = runs[-1]["axe"]
    serious = [(a["page"], v["id"], v["impact"]) for a in axe for v in a["violations"]
               if v["impact"] in ("serious", "critical")]
    minor = [(a["page"], v["id"], v["impact"]) for a in axe for v in a["violations"]
             if v["impact"] not in ("serious", "critical")]

    def verdict(ok):
        return "**PASS**" if ok else "**FAIL**"

    lines = [
        f"## Storefront (issue 7), measured {meta['date'][:10]}: `bench/web/run.sh`",
        "",
        f"Run of {meta['date']}, commit {meta['commit']}, {meta['cpus']} CPUs, {meta['chromium']}, "
        f"load average at the end {meta['loadavg']}. {len(runs)} runs of the end-to-end suite's measuring file "
        "(`web/e2e/quality.test.mjs`) on the stack of `scripts/e2e.sh`: the release service on SQLite with "
        "the shipped catalogue (74,293 books), the production build of the storefront (`next start`), all on "
        "localhost; Chromium headless, 1280×900, a new browser context (empty cache) for every load. As on "
        "a first `make run`, the service embeds the catalogue in the background meanwhile (at nice 10), "
        "hence the load average. The issue names goals, not a baseline.",
        "",
        "### Goals",
        "",
        "| goal | measured | result |",
        "| --- | --- | --- |",
    ]
    for page, path in (("home", "/"), ("book", "/books/pg-84")):
        med = statistics.median(lcp[page])
        lines.append(f"| largest contentful paint, {page} page (`{path}`) < {GOAL_LCP_MS / 1000:.1f} s | "
                     f"{med:.0f} ms (median of {len(lcp[page])} cold loads) | {verdict(med < GOAL_LCP_MS)} |")
    lines.append(f"| JavaScript shipped for the book page < {GOAL_JS_KB} KB gzipped | {js_kb:.1f} KB "
                 f"({js_files} files, {js_raw_kb:.0f} KB before compression) | {verdict(js_kb < GOAL_JS_KB)} |")
    lines.append(f"| axe-core (WCAG 2.1 A/AA): no serious or critical issue on the {len(axe)} main pages | "
                 f"{len(serious)} serious or critical, {len(minor)} minor or moderate | {verdict(not serious)} |")
    lines += [
        "",
        "### Largest contentful paint, every load (ms)",
        "",
        "| page | min | median | max | loads |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for page in ("home", "book"):
        xs = lcp[page]
        lines.append(f"| {page} | {min(xs):.0f} | {statistics.median(xs):.0f} | {max(xs):.0f} | {len(xs)} |")
    lines += [
        "",
        "### Pages scanned by axe-core",
        "",
        ", ".join(f"`{a['page']}`" for a in axe) + ".",
    ]
    if minor:
        lines += ["", "Minor or moderate findings: " + "; ".join(f"{p}: {i} ({imp})" for p, i, imp in minor) + "."]
    lines += [
        "",
        "- LCP is read from a `PerformanceObserver` for `largest-contentful-paint` (buffered) after the load "
        "settles and one click ends it; each page gets one uncounted warm-up load first.",
        "- The JavaScript figure is every script the book page loads, fetched again and gzipped (zlib's "
        "default level), as `next start` serves them compressed.",
        f"- Command: `bench/web/run.sh` (BENCH_RUNS={len(runs)}); raw results in `{args.folder}` (not committed).",
    ]
    body = "\n".join(lines) + "\n"
    for line in lines:
        if "**PASS**" in line or "**FAIL**" in line:
            print(line)
    if args.markdown:
        write_section(args.markdown, "web", body)
    else:
        print(body)


if __name__ == "__main__":
    main()
