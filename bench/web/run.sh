#!/usr/bin/env bash
# The storefront's numbers of issue 7: largest contentful paint of the home and book pages (median
# of 5 cold loads each, as Chromium reports it), the JavaScript the book page ships (gzipped), and
# the axe-core scans of the main pages. They come from the end-to-end suite's measuring file
# (web/e2e/quality.test.mjs), run BENCH_RUNS times (3) on the real stack of scripts/e2e.sh; the
# section "web" of docs/benchmarks.md is written from the runs (medians across them).
#
#   bench/web/run.sh                  # needs build/release/libromind (make build) and chromium
#   BENCH_RUNS=1 bench/web/run.sh     # a quick look
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
runs=${BENCH_RUNS:-3}
out=bench/results/web-$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$out"
for i in $(seq 1 "$runs"); do
  echo "bench/web: run $i of $runs" >&2
  # The measurements need no model server.
  E2E_LLM=off E2E_ARTIFACTS="$root/$out/run-$i" scripts/e2e.sh e2e/quality.test.mjs >"$out/run-$i.log" 2>&1 \
    || { echo "bench/web: run $i failed (see $out/run-$i.log)" >&2; exit 1; }
done
{
  echo "commit=$(git rev-parse --short HEAD)"
  echo "date=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "cpus=$(nproc)"
  echo "chromium=$(/usr/bin/chromium --version 2>/dev/null | head -1)"
  echo "loadavg=$(cut -d' ' -f1-3 /proc/loadavg)"
} >"$out/meta.env"
python3 bench/web/report.py "$out" --markdown docs/benchmarks.md
