#!/usr/bin/env bash
# Benchmark of the ML engine issue: the C++ encoder (bench/ml/bench_encoder.cpp, Google
# Benchmark) against sentence-transformers on PyTorch CPU (bench/ml/baseline.py), same model,
# same texts (the first 1,000 descriptions of books-000.jsonl), same truncation, batch 32, 1 and
# 2 threads, measured in the same run; plus the RSS of a process with the embedder loaded.
# Writes bench/results/ml-<stamp>/ and the "ML engine" section of docs/benchmarks.md.
#
#   bench/ml/run.sh          # BENCH_ML_REPS=3 repetitions of each C++ benchmark
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"

reps=${BENCH_ML_REPS:-3}
stamp=$(date -u +%Y%m%dT%H%M%SZ)
out=$root/bench/results/ml-$stamp
mkdir -p "$out"
log() { printf '[bench-ml %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

model_dir=$(scripts/fetch-models.sh | tail -1)
export LIBROMIND_MODEL_DIR=$model_dir
export LIBROMIND_BOOKS=${LIBROMIND_BOOKS:-$root/../shared/data/books/books-000.jsonl}
venv=${LIBROMIND_CACHE:-$HOME/.cache/libromind}/ref-venv
tools/setup-ref-venv.sh >&2

# The cross-encoder of the benchmark: MiniLM-L6 with a classifier head, built by baseline.py
# (no pretrained cross-encoder is available from a registry; the cost is the same).
bench_ce=${LIBROMIND_CACHE:-$HOME/.cache/libromind}/bench/minilm-cross-encoder

log "building bench_encoder (release preset)"
cmake --preset release >/dev/null
cmake --build --preset release --target bench_encoder libromind >&2

log "PyTorch baseline (sentence-transformers)"
"$venv/bin/python" bench/ml/baseline.py --bench-reranker "$bench_ce" > "$out/baseline.json"

log "C++ encoder ($reps repetitions)"
LIBROMIND_BENCH_RERANKER=$bench_ce build/release/bench_encoder \
  --benchmark_repetitions="$reps" --benchmark_report_aggregates_only=true \
  --benchmark_format=json > "$out/cpp.json"

log "C++ encoder on the OpenBLAS path (LIBROMIND_BENCH_PACKED=0), catalogue at 2 threads"
LIBROMIND_BENCH_PACKED=0 LIBROMIND_BENCH_RERANKER=$bench_ce build/release/bench_encoder \
  --benchmark_filter='BM_EmbedCatalogue/threads:2' \
  --benchmark_repetitions="$reps" --benchmark_report_aggregates_only=true \
  --benchmark_format=json > "$out/cpp-unpacked.json"

log "RSS with the embedder loaded"
printf 'a short query about whales\n' > "$out/query.txt"
/usr/bin/time -f '%M' -o "$out/rss_kb.txt" build/release/libromind embed < "$out/query.txt" > /dev/null

/usr/bin/python3 bench/ml/report.py "$out" docs/benchmarks.md
log "results: $out; report: docs/benchmarks.md"
