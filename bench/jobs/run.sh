#!/usr/bin/env bash
# The jobs queue benchmark of issue 6: no-op job throughput with 1, 2 and 4 workers and
# enqueue-to-start latency (LISTEN/NOTIFY) of libromind's store-backed queue on PostgreSQL
# (bench_jobs, bench/jobs/bench_queue.cpp), and in the same run the same no-op jobs through
# Celery with a Redis broker (bench/jobs/celery_baseline.py; Debian's python3-celery and
# redis-server). Raw output goes to bench/results/jobs-<UTC stamp>/; a markdown table is printed
# (and kept there as table.md).
#
#   bench/jobs/run.sh                                   # 20,000 jobs × 3 runs, 2,000 latency jobs
#   BENCH_JOBS=5000 BENCH_RUNS=1 bench/jobs/run.sh      # a quick look
#
# Knobs (environment):
#   BENCH_JOBS=20000          no-op jobs per throughput run
#   BENCH_RUNS=3              throughput runs per worker count (the median is reported)
#   BENCH_WORKERS=1,2,4       worker counts
#   BENCH_CONCURRENCY=1       runner threads per libromind worker (Celery: always solo, 1)
#   BENCH_BATCH=500           libromind: jobs per enqueue transaction
#   BENCH_LATENCY_JOBS=2000   jobs of the latency run (after BENCH_WARMUP=20 uncounted ones)
#   BENCH_INTERVAL_MS=5       time between two enqueues of the latency run
#   BENCH_CELERY_PREFETCH=4   Celery's worker_prefetch_multiplier (4 is Celery's default)
#   BENCH_CELERY_RESULTS=none none | redis: Celery's result backend
#   BENCH_BUILD_DIR=/tmp/bench-build   where bench_jobs is built (RelWithDebInfo, as the release
#                             preset); BENCH_BUILD_JOBS=1 ninja jobs, at nice 19
#   PG_TEST_DURABLE=0         1: PostgreSQL with fsync/synchronous_commit on (scripts/pg-test-server.sh)
#
# Both systems run without waiting for a disk: PostgreSQL with fsync=off and
# synchronous_commit=off (pg-test-server.sh's default), Redis with no RDB or AOF.
# The benchmarks run at normal priority; the build runs at nice 19.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
stamp=$(date -u +%Y%m%dT%H%M%SZ)
out=$root/bench/results/jobs-$stamp
mkdir -p "$out"
log() { printf '[bench-jobs %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

jobs=${BENCH_JOBS:-20000}
runs=${BENCH_RUNS:-3}
workers=${BENCH_WORKERS:-1,2,4}
concurrency=${BENCH_CONCURRENCY:-1}
batch=${BENCH_BATCH:-500}
latency_jobs=${BENCH_LATENCY_JOBS:-2000}
warmup=${BENCH_WARMUP:-20}
interval_ms=${BENCH_INTERVAL_MS:-5}
prefetch=${BENCH_CELERY_PREFETCH:-4}
results_backend=${BENCH_CELERY_RESULTS:-none}
build_dir=${BENCH_BUILD_DIR:-/tmp/bench-build}
build_jobs=${BENCH_BUILD_JOBS:-1}
python=/usr/bin/python3  # Debian's, where python3-celery and python3-redis are installed

for tool in redis-server redis-cli ninja cmake; do
  command -v "$tool" >/dev/null || { echo "bench-jobs: $tool not found" >&2; exit 1; }
done
"$python" -c 'import celery, redis' 2>/dev/null ||
  { echo "bench-jobs: apt-get install -y redis-server python3-celery python3-redis" >&2; exit 1; }

tmp=$(mktemp -d /tmp/bench-jobs.XXXXXX)
chmod 755 "$tmp"
pgdir=$tmp/pg
redis_pid=
sampler_pid=
cleanup() {
  [ -n "$sampler_pid" ] && kill "$sampler_pid" 2>/dev/null || true
  if [ -n "$redis_pid" ]; then
    kill "$redis_pid" 2>/dev/null || true
    wait "$redis_pid" 2>/dev/null || true
  fi
  if [ -d "$pgdir" ]; then
    cp "$pgdir/log" "$out/postgres.log" 2>/dev/null || true
    scripts/pg-test-server.sh stop "$pgdir" >/dev/null 2>&1 || true
  fi
  [ -f "$tmp/redis/redis.log" ] && cp "$tmp/redis/redis.log" "$out/redis.log"
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log "building bench_jobs in $build_dir"
nice -n 19 cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DLIBROMIND_WERROR=ON -DCMAKE_EXPORT_COMPILE_COMMANDS=ON -DLIBROMIND_TESTS=OFF >"$out/cmake.log"
nice -n 19 ninja -C "$build_dir" -j"$build_jobs" bench_jobs >"$out/build.log"
bin=$build_dir/bench_jobs

log "starting PostgreSQL and Redis"
url=$(scripts/pg-test-server.sh start "$pgdir" | tail -1)
pg_pid=$(head -1 "$pgdir/data/postmaster.pid")
mkdir -p "$tmp/redis"
redis_port=$("$python" -c 'import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
redis-server --port "$redis_port" --bind 127.0.0.1 --dir "$tmp/redis" --save '' \
  --appendonly no --daemonize no --logfile "$tmp/redis/redis.log" &
redis_pid=$!
for _ in $(seq 1 100); do
  redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break
  sleep 0.1
done
redis-cli -p "$redis_port" ping >/dev/null
redis_url=redis://127.0.0.1:$redis_port/0

{
  echo "stamp=$stamp"
  echo "commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
  echo "dirty_files=$(git status --porcelain 2>/dev/null | wc -l)"
  echo "jobs=$jobs runs=$runs workers=$workers concurrency=$concurrency batch=$batch"
  echo "latency_jobs=$latency_jobs warmup=$warmup interval_ms=$interval_ms"
  echo "celery_prefetch=$prefetch celery_results=$results_backend"
  echo "pg_durable=${PG_TEST_DURABLE:-0}"
  echo "postgres=$(/usr/lib/postgresql/15/bin/postgres --version)"
  echo "redis=$(redis-server --version)"
  echo "celery=$("$python" -c 'import celery, kombu, redis; print(celery.__version__, "kombu", kombu.__version__, "redis-py", redis.__version__)')"
  echo "python=$("$python" --version 2>&1)"
  echo "nproc=$(nproc)"
  echo "cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')"
  echo "kernel=$(uname -r)"
  echo "loadavg_before=$(cut -d' ' -f1-3 /proc/loadavg)"
  echo "busiest_processes_before:"
  ps -eo pid,ni,pcpu,comm --sort=-pcpu | head -6 | sed 's/^/  /'
} >"$out/meta.env"

# What else uses the CPU during the run (the machine may be shared): top's busiest processes over
# one second, every 10 s.
(while :; do
  echo "== $(date -u +%H:%M:%S) load $(cut -d' ' -f1-3 /proc/loadavg)"
  top -b -n 2 -d 1 -w 120 | awk '/^top -/{n++} n==2' | sed -n '3p;8,13p'
  sleep 9
done) >"$out/load.log" 2>&1 &
sampler_pid=$!

log "libromind on PostgreSQL: $jobs jobs × $runs runs × W=$workers, then $latency_jobs latency jobs"
"$bin" --database-url "$url" --pg-pid "$pg_pid" --jobs "$jobs" --runs "$runs" \
  --workers "$workers" --concurrency "$concurrency" --batch "$batch" \
  --latency-jobs "$latency_jobs" --warmup "$warmup" --interval-ms "$interval_ms" \
  >"$out/libromind.jsonl" 2>"$out/libromind.log"

log "Celery + Redis: the same"
"$python" bench/jobs/celery_baseline.py --redis-url "$redis_url" --redis-pid "$redis_pid" \
  --jobs "$jobs" --runs "$runs" --workers "$workers" --latency-jobs "$latency_jobs" \
  --warmup "$warmup" --interval-ms "$interval_ms" --prefetch "$prefetch" \
  --result-backend "$results_backend" --logdir "$out/celery-logs" \
  >"$out/celery.jsonl" 2>"$out/celery.log"

echo "loadavg_after=$(cut -d' ' -f1-3 /proc/loadavg)" >>"$out/meta.env"
"$python" bench/jobs/report.py "$out" | tee "$out/table.md"
log "raw results in $out"
