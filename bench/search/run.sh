#!/usr/bin/env bash
# Benchmark of the search issue on the shipped catalogue (74,293 books) and on a 10k subset:
# ANN recall@10 against exact search with and without filters (bench_vector), one-at-a-time
# p50/p99 of lexical, dense, hybrid and hybrid + re-rank of 20 (latency.py), suggest, and
# requests/s of hybrid search under wrk. Results go to bench/results/search-<stamp>/.
#
#   bench/search/run.sh        # needs the catalogue embedded: it runs `libromind index` first
#   BENCH_SCALES=10k BENCH_SKIP_INDEX=1 bench/search/run.sh   # the 10k subset only, as it is
#   BENCH_CONFIGS=lexical,dense,hybrid ...                     # without the re-rank timing
#   BENCH_SCALES="10k 74k 200k" bench/search/run.sh            # + the 200k catalogue (hours)
#
# The catalogue database lives outside the repository (LIBROMIND_BENCH_DB, default
# ~/.cache/libromind/eval/catalog.db) so its vectors are computed once and reused.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
stamp=$(date -u +%Y%m%dT%H%M%SZ)
out=$root/bench/results/search-$stamp
mkdir -p "$out"
log() { printf '[bench-search %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

cache=${LIBROMIND_CACHE:-$HOME/.cache/libromind}
db=${LIBROMIND_BENCH_DB:-$cache/eval/catalog.db}
queries=$root/../shared/eval/dev.jsonl
bin=build/release/libromind
model_dir=$(scripts/fetch-models.sh | tail -1)

log "building libromind and bench_vector"
cmake --preset release >/dev/null
cmake --build --preset release --target libromind bench_vector >&2

mkdir -p "$(dirname "$db")"
if [ ! -s "$db" ]; then
  log "importing the catalogue into $db"
  "$bin" import --database-url "sqlite://$db" ../shared/data/books/books-*.jsonl >/dev/null
fi
if [ "${BENCH_SKIP_INDEX:-0}" != 1 ]; then
  log "embedding what is missing (the first time: about an hour on 2 cores)"
  /usr/bin/time -f '%e' -o "$out/index.seconds" \
    "$bin" index --database-url "sqlite://$db" --model-dir "$model_dir" > "$out/index.jsonl"
fi

# The 10k catalogue: the first 10,000 books of the same store, vectors included.
db10k=$cache/eval/catalog-10k.db
if [ ! -s "$db10k" ] || [ "$db" -nt "$db10k" ]; then
  log "making the 10k subset"
  rm -f "$db10k"
  sqlite3 "$db" "VACUUM INTO '$db10k'"
  sqlite3 "$db10k" "PRAGMA foreign_keys=ON; DELETE FROM books WHERE id > (SELECT id FROM books ORDER BY id LIMIT 1 OFFSET 9999); VACUUM;"
fi

# A model directory with the benchmark's stand-in cross-encoder (the cost of
# ms-marco-MiniLM-L-6-v2; bench/ml/baseline.py builds it), for the re-rank timing only.
overlay=$(mktemp -d)
trap 'rm -rf "$overlay"; [ -n "${pid:-}" ] && kill "$pid" 2>/dev/null || true' EXIT
ln -s "$model_dir/embedder" "$overlay/embedder"
if [ -d "$cache/bench/minilm-cross-encoder" ]; then
  ln -s "$cache/bench/minilm-cross-encoder" "$overlay/reranker"
fi

# The 200k catalogue (only when asked for): the shipped books, whose vectors are copied from the
# 74k store, and 125,707 perturbed ones from make_catalog.py, embedded here for real.
db200k=$cache/eval/catalog-200k.db
case " ${BENCH_SCALES:-10k 74k} " in
  *" 200k "*)
    if [ ! -s "$db200k" ]; then
      log "making the 200k catalogue"
      books200k=$cache/bench/books-200k.jsonl
      [ -s "$books200k" ] || python3 bench/search/make_catalog.py --books 200000 --out "$books200k" >&2
      sqlite3 "$db" "VACUUM INTO '$db200k.tmp'"
      "$bin" import --database-url "sqlite://$db200k.tmp" "$books200k" > "$out/import-200k.jsonl"
      mv "$db200k.tmp" "$db200k"
    fi
    if [ "${BENCH_SKIP_INDEX:-0}" != 1 ]; then
      log "[200k] embedding what is missing (125,707 books the first time)"
      /usr/bin/time -f '%e' -o "$out/index-200k.seconds" \
        "$bin" index --database-url "sqlite://$db200k" --model-dir "$model_dir" > "$out/index-200k.jsonl"
    fi
    ;;
esac

for scale in ${BENCH_SCALES:-10k 74k}; do
  sdb=$db
  [ "$scale" = 10k ] && sdb=$db10k
  [ "$scale" = 200k ] && sdb=$db200k
  log "[$scale] ANN recall and latency (bench_vector)"
  build/release/bench_vector --database-url "sqlite://$sdb" --model-dir "$model_dir" \
    --queries "$queries" > "$out/vector-$scale.json"
  log "[$scale] serving"
  idx=$(mktemp -d)
  "$bin" serve --database-url "sqlite://$sdb" --listen 127.0.0.1:0 --model-dir "$overlay" \
    --index-dir "$idx" --embed-in-background false --access-log false --cache-mb 0 \
    --blocking-threads 2 --query-encoders 2 > "$out/serve-$scale.log" 2>&1 &
  pid=$!
  port=""
  for _ in $(seq 600); do
    port=$(grep -o '"port":[0-9]*' "$out/serve-$scale.log" | head -1 | cut -d: -f2 || true)
    if [ -n "$port" ] && curl -sf "127.0.0.1:$port/api/v1/search/status" | grep -q '"dense":{"ready":true'; then
      break
    fi
    sleep 1
  done
  log "[$scale] one query at a time"
  python3 bench/search/latency.py --base "http://127.0.0.1:$port" --queries "$queries" \
    ${BENCH_CONFIGS:+--configs "$BENCH_CONFIGS"} > "$out/latency-$scale.json"
  if command -v wrk >/dev/null; then
    log "[$scale] wrk, hybrid, 20 s"
    wrk -t2 -c8 -d20s -s bench/search/queries.lua "http://127.0.0.1:$port" \
      > "$out/wrk-$scale.txt" 2>&1 || true
  fi
  kill "$pid"; wait "$pid" 2>/dev/null || true; pid=""
  rm -rf "$idx"
done
log "results in $out"
