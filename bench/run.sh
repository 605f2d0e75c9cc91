#!/usr/bin/env bash
# Benchmark of the "foundation" issue: the C++ service (SQLite and PostgreSQL) against the
# original Django + DRF stack (bench/baseline-django, on the same PostgreSQL rows) and nginx
# serving a static file of the same size as GET /api/v1/books/{id} (the ceiling of an HTTP
# server on this machine). Writes the raw results to bench/results/<stamp>/ and the summary to
# docs/benchmarks.md (bench/report.py).
#
#   bench/run.sh
#
# Environment (all optional):
#   BENCH_DURATION=10s BENCH_RUNS=3 BENCH_CONNECTIONS=32 BENCH_THREADS=2 BENCH_TIMEOUT=2s
#   BENCH_WARMUP=2s            wrk warm-up per target and endpoint before the measured runs (0: none)
#   BENCH_BOOK_ID=pg-84        the id of GET /api/v1/books/{id}
#   BENCH_GENRE='Science-Fiction & Fantasy'
#   BENCH_DATA=../shared/data/books   folder of books-*.jsonl (BENCH_DATA_GLOB='books-*.jsonl')
#   BENCH_BIN=build/release/libromind (built with the release preset when missing)
#   BENCH_COUNT_STATUS=1       0: let wrk count only status >= 400 (skips the per-response Lua hook)
#   BENCH_REPORT=docs/benchmarks.md   where the report goes ("" for none)
#   BENCH_KEEP=0               1: keep the scratch directory (databases, logs) under /tmp
#   BENCH_DJANGO_WORKERS=2 BENCH_NGINX_WORKERS=2
#   BENCH_ACCESS_LOG=false     LIBROMIND_ACCESS_LOG for `serve` (nginx and gunicorn log no requests either)
#
# wrk and the servers share this machine's cores; that is part of what is measured (see the
# report's notes). Every process this script starts is stopped on exit.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

DURATION=${BENCH_DURATION:-10s}
RUNS=${BENCH_RUNS:-3}
CONNECTIONS=${BENCH_CONNECTIONS:-32}
THREADS=${BENCH_THREADS:-2}
TIMEOUT=${BENCH_TIMEOUT:-2s}
WARMUP=${BENCH_WARMUP:-2s}
BOOK_ID=${BENCH_BOOK_ID:-pg-84}
GENRE=${BENCH_GENRE:-Science-Fiction & Fantasy}
DATA=${BENCH_DATA:-$root/../shared/data/books}
DATA_GLOB=${BENCH_DATA_GLOB:-books-*.jsonl}
BIN=${BENCH_BIN:-build/release/libromind}
COUNT_STATUS=${BENCH_COUNT_STATUS:-1}
REPORT=${BENCH_REPORT-docs/benchmarks.md}
KEEP=${BENCH_KEEP:-0}
DJANGO_WORKERS=${BENCH_DJANGO_WORKERS:-2}
NGINX_WORKERS=${BENCH_NGINX_WORKERS:-2}
ACCESS_LOG=${BENCH_ACCESS_LOG:-false}
PY=/usr/bin/python3   # Debian's Python: the one with Django, DRF and psycopg2

stamp=$(date -u +%Y%m%dT%H%M%SZ)
out=$root/bench/results/$stamp
mkdir -p "$out/wrk" "$out/logs"
work=$(mktemp -d /tmp/libromind-bench.XXXXXX)
chmod 755 "$work"

log() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# --- process bookkeeping -----------------------------------------------------------------
pids=()          # "name:pid" of every background process started here, stopped in reverse order
pg_mode=""       # "script" (scripts/pg-test-server.sh) or "own" (fallback initdb)

stop_pid() {  # name pid: TERM, wait up to 10 s, then KILL
  local name=$1 pid=$2
  kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  log "$name ($pid) did not stop on TERM; killing"
  kill -KILL "$pid" 2>/dev/null || true
}

cleanup() {
  local rc=$?
  set +e
  trap - EXIT INT TERM
  local i
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
    stop_pid "${pids[i]%%:*}" "${pids[i]##*:}"
  done
  wait 2>/dev/null
  case $pg_mode in
    script) scripts/pg-test-server.sh stop "$work/pg" >/dev/null 2>&1 ;;
    own) su postgres -s /bin/sh -c "/usr/lib/postgresql/15/bin/pg_ctl -D '$work/pg/data' -m fast -w stop" >/dev/null 2>&1 ;;
  esac
  # Logs of the servers are worth keeping next to the results.
  cp "$work"/*.log "$out/logs/" 2>/dev/null
  if [[ $KEEP == 1 ]]; then log "scratch directory kept: $work"; else rm -rf "$work"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

free_port() {
  $PY -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# wait_http NAME PID URL SECONDS: until URL answers 200, while PID lives.
wait_http() {
  local name=$1 pid=$2 url=$3 secs=$4 t0
  t0=$(date +%s.%N)
  while :; do
    if curl -fsS -o /dev/null --max-time 2 "$url" 2>/dev/null; then
      $PY -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.3f}')" "$t0" "$(date +%s.%N)"
      return 0
    fi
    kill -0 "$pid" 2>/dev/null || die "$name exited before $url answered; see $out/logs/"
    if (($(date +%s) - ${t0%.*} > secs)); then die "$name: $url not ready after ${secs}s"; fi
    sleep 0.2
  done
}

# Commands that the report shows: written with the scratch directory as $WORK.
record() {
  local line
  line=$(printf '%q ' "$@")
  line=${line//"$work"/\$WORK}
  line=${line//"$root/"/}
  printf '%s\n' "${line% }" >> "$out/commands.txt"
}

meta() { printf '%s=%s\n' "$1" "$2" >> "$out/meta.env"; }

# --- 0. the binary -----------------------------------------------------------------------
if [[ ! -x $BIN ]]; then
  [[ -z ${BENCH_BIN:-} ]] || die "BENCH_BIN=$BIN is not executable"
  log "building the release binary"
  record cmake --preset release
  cmake --preset release > "$out/logs/cmake-configure.log"
  record cmake --build --preset release
  cmake --build --preset release > "$out/logs/cmake-build.log"
fi
BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")

shopt -s nullglob
files=("$DATA"/$DATA_GLOB)
shopt -u nullglob
((${#files[@]} > 0)) || die "no $DATA_GLOB under $DATA"
data_lines=$(cat "${files[@]}" | wc -l)

# --- machine -----------------------------------------------------------------------------
{
  meta stamp "$stamp"
  meta date "$(date -u '+%Y-%m-%d %H:%M:%S UTC')"
  meta nproc "$(nproc)"
  meta cpu_model "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
  meta mem_total "$(grep MemTotal /proc/meminfo | awk '{print $2 " kB"}')"
  meta kernel "$(uname -r)"
  meta loadavg_start "$(cut -d' ' -f1-3 /proc/loadavg)"
  meta git_commit "$(git rev-parse --short HEAD 2>/dev/null || echo none)$(git diff --quiet HEAD 2>/dev/null || echo ' (dirty tree)')"
  meta wrk_version "$(wrk -v 2>&1 | head -1 | awk '{print $2}')"
  meta nginx_version "$(/usr/sbin/nginx -v 2>&1 | sed 's/.*nginx\///')"
  meta postgres_version "$(/usr/lib/postgresql/15/bin/postgres --version | awk '{print $3}')"
  meta django_version "$($PY -c 'import django; print(django.__version__)')"
  meta drf_version "$($PY -c 'import rest_framework; print(rest_framework.__version__)')"
  meta gunicorn_version "$($PY -c 'import gunicorn; print(gunicorn.__version__)')"
  meta psycopg2_version "$($PY -c 'import psycopg2; print(psycopg2.__version__.split()[0])')"
  meta sqlite_version "$($PY -c 'import sqlite3; print(sqlite3.sqlite_version)')"
  meta duration "$DURATION"
  meta runs "$RUNS"
  meta connections "$CONNECTIONS"
  meta threads "$THREADS"
  meta timeout "$TIMEOUT"
  meta warmup "$WARMUP"
  meta book_id "$BOOK_ID"
  meta genre "$GENRE"
  meta count_status "$COUNT_STATUS"
  meta data_files "${#files[@]}"
  meta data_lines "$data_lines"
  meta django_workers "$DJANGO_WORKERS"
  meta nginx_workers "$NGINX_WORKERS"
  meta access_log "$ACCESS_LOG"
}

# --- 1. PostgreSQL -----------------------------------------------------------------------
mkdir -p "$work/pg"
if [[ -x scripts/pg-test-server.sh ]]; then
  log "starting PostgreSQL (scripts/pg-test-server.sh)"
  pg_mode=script
  scripts/pg-test-server.sh start "$work/pg" > "$work/pg-start.log" 2>&1 \
    || { cat "$work/pg-start.log" >&2; die "scripts/pg-test-server.sh start failed"; }
  if [[ -s $work/pg/url ]]; then pg_url=$(head -1 "$work/pg/url")
  else pg_url=$(grep -Eo 'postgres(ql)?://[^[:space:]]+' "$work/pg-start.log" | tail -1); fi
  [[ -n $pg_url ]] || die "no PostgreSQL URL from scripts/pg-test-server.sh"
else
  # Fallback while scripts/pg-test-server.sh does not exist: a throwaway cluster in $work.
  log "starting PostgreSQL (own throwaway cluster; scripts/pg-test-server.sh not found)"
  pg_port=$(free_port)
  pgbin=/usr/lib/postgresql/15/bin
  as_pg() { if [[ $(id -u) == 0 ]]; then su postgres -s /bin/sh -c "$1"; else sh -c "$1"; fi; }
  [[ $(id -u) != 0 ]] || chown postgres "$work/pg"
  as_pg "$pgbin/initdb -D '$work/pg/data' -U postgres -A trust -E UTF8 --locale=C.UTF-8" > "$work/pg-initdb.log" 2>&1
  pg_mode=own
  as_pg "$pgbin/pg_ctl -D '$work/pg/data' -l '$work/pg/server.log' -w -o \"-p $pg_port -k '$work/pg' -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off\" start" > "$work/pg-start.log" 2>&1
  pg_url=postgresql://postgres@127.0.0.1:$pg_port/postgres
fi
meta pg_mode "$pg_mode"
log "PostgreSQL at $pg_url"

# --- 2. migrate + import -----------------------------------------------------------------
sqlite_url=sqlite://$work/bench.db   # sqlite:///tmp/... (absolute path)
tv() {  # name cmd...: /usr/bin/time -v with wall seconds from date +%s.%N
  local name=$1; shift
  record "$@"
  local t0 t1
  t0=$(date +%s.%N)
  /usr/bin/time -v -o "$out/$name.time" "$@" > "$work/$name.log" 2>&1 \
    || { tail -20 "$work/$name.log" >&2; die "$name failed: $*"; }
  t1=$(date +%s.%N)
  meta "${name}_seconds" "$($PY -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.3f}')" "$t0" "$t1")"
}
for db in sqlite pg; do
  if [[ $db == sqlite ]]; then url=$sqlite_url; else url=$pg_url; fi
  log "migrate + import into $db (${#files[@]} files, $data_lines books)"
  tv "migrate-$db" "$BIN" migrate --database-url "$url"
  tv "import-$db" "$BIN" import --database-url "$url" "${files[@]}"
done
meta books_sqlite "$($PY -c 'import sqlite3, sys; print(sqlite3.connect(sys.argv[1]).execute("select count(*) from books").fetchone()[0])' "$work/bench.db")"
meta books_pg "$(psql "$pg_url" -Atc 'select count(*) from books')"
meta sqlite_db_bytes "$(du -cb "$work"/bench.db* | tail -1 | cut -f1)"
meta pg_db_bytes "$(psql "$pg_url" -Atc 'select pg_database_size(current_database())')"
psql "$pg_url" -qc 'VACUUM ANALYZE' > /dev/null

# --- 3. servers --------------------------------------------------------------------------
declare -A base serve_pid
start_serve() {  # db url [extra serve flags...]
  local db=$1 url=$2 port pid
  shift 2
  port=$(free_port)
  # No access log, like nginx (access_log off) and gunicorn (no access log by default).
  record env LIBROMIND_ACCESS_LOG="$ACCESS_LOG" "$BIN" serve --database-url "$url" --listen "127.0.0.1:$port" "$@"
  LIBROMIND_ACCESS_LOG=$ACCESS_LOG "$BIN" serve --database-url "$url" --listen "127.0.0.1:$port" "$@" \
    > "$work/serve-$db.log" 2>&1 &
  pid=$!
  pids+=("serve-$db:$pid")
  serve_pid[$db]=$pid
  base[cpp-$db]=http://127.0.0.1:$port
  log "serve on $db: pid $pid, port $port; waiting for /readyz"
  local ready
  ready=$(wait_http "serve-$db" "$pid" "http://127.0.0.1:$port/readyz" 600)
  meta "serve_${db}_ready_seconds" "$ready"
}
start_serve sqlite "$sqlite_url"
start_serve pg "$pg_url"
# The same service with its response cache off: every request goes to the store.
start_serve sqlite-nocache "$sqlite_url" --cache-mb 0
start_serve pg-nocache "$pg_url" --cache-mb 0

django_port=$(free_port)
log "Django + DRF under gunicorn ($DJANGO_WORKERS workers), port $django_port"
gunicorn_cmd=$(printf '%q ' env DATABASE_URL="$pg_url" gunicorn --workers "$DJANGO_WORKERS" \
  --bind "127.0.0.1:$django_port" bookstore.wsgi)
echo "cd bench/baseline-django && ${gunicorn_cmd% }" >> "$out/commands.txt"
(
  cd bench/baseline-django
  DATABASE_URL=$pg_url exec /usr/bin/gunicorn --workers "$DJANGO_WORKERS" \
    --bind "127.0.0.1:$django_port" bookstore.wsgi
) > "$work/gunicorn.log" 2>&1 &
django_pid=$!
pids+=("gunicorn:$django_pid")
base[django-pg]=http://127.0.0.1:$django_port
ready=$(wait_http gunicorn "$django_pid" "${base[django-pg]}/api/v1/books/$BOOK_ID" 120)
meta django_ready_seconds "$ready"

genre_q=$($PY -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$GENRE")
declare -A path=(
  [list]="/api/v1/books?limit=20"
  [detail]="/api/v1/books/$BOOK_ID"
  [genre]="/api/v1/books?genre=$genre_q&sort=rating"
)
endpoints=(list detail genre)
for e in "${endpoints[@]}"; do meta "path_$e" "${path[$e]}"; done

# The static file: the C++ service's response body for the benchmarked id, byte for byte.
curl -fsS "${base[cpp-sqlite]}${path[detail]}" -o "$work/book.json" || die "GET ${path[detail]} on serve-sqlite failed"
meta static_bytes "$(stat -c %s "$work/book.json")"
cp "$work/book.json" "$out/book.json"
nginx_port=$(free_port)
log "nginx ($NGINX_WORKERS workers) serving $(stat -c %s "$work/book.json") bytes, port $nginx_port"
record bench/nginx/start.sh "$work/nginx" "$nginx_port" "$work/book.json" "$NGINX_WORKERS"
bench/nginx/start.sh "$work/nginx" "$nginx_port" "$work/book.json" "$NGINX_WORKERS" \
  || die "nginx did not start"
pids+=("nginx:$(cat "$work/nginx/master.pid")")
base[nginx-static]=http://127.0.0.1:$nginx_port

# --- 4. response parity: the same JSON from all three implementations ---------------------
log "checking that the responses agree"
parity=("$PY" bench/parity.py --out "$out/parity.json" --book-id "$BOOK_ID" --genre "$GENRE"
  "cpp-sqlite=${base[cpp-sqlite]}" "cpp-pg=${base[cpp-pg]}" "django-pg=${base[django-pg]}")
record "${parity[@]}"
"${parity[@]}" >&2 \
  || log "warning: the responses differ (see $out/parity.json); benchmarking anyway"

# --- 5. wrk ------------------------------------------------------------------------------
targets=(cpp-sqlite cpp-pg cpp-sqlite-nocache cpp-pg-nocache django-pg nginx-static)
target_endpoints() { if [[ $1 == nginx-static ]]; then echo detail; else echo "${endpoints[@]}"; fi; }
wrk_cmd=(wrk "-t$THREADS" "-c$CONNECTIONS" "-d$DURATION" --timeout "$TIMEOUT" --latency -s bench/wrk/report.lua)
for t in "${targets[@]}"; do
  for e in $(target_endpoints "$t"); do
    record env WRK_COUNT_STATUS="$COUNT_STATUS" "${wrk_cmd[@]}" "${base[$t]}${path[$e]}"
  done
done
export WRK_COUNT_STATUS=$COUNT_STATUS

if [[ $WARMUP != 0 && $WARMUP != 0s ]]; then
  log "warm-up: $WARMUP per target and endpoint"
  for t in "${targets[@]}"; do
    for e in $(target_endpoints "$t"); do
      wrk "-t$THREADS" "-c$CONNECTIONS" "-d$WARMUP" --timeout "$TIMEOUT" "${base[$t]}${path[$e]}" > /dev/null 2>&1 || true
    done
  done
fi

# Runs are the outer loop so that drift (other load, caches) spreads over all targets.
for run in $(seq 1 "$RUNS"); do
  for t in "${targets[@]}"; do
    for e in $(target_endpoints "$t"); do
      url=${base[$t]}${path[$e]}
      raw=$out/wrk/$t.$e.$run.txt
      log "run $run/$RUNS: $t $e"
      echo "# ${wrk_cmd[*]} $url" > "$raw"
      "${wrk_cmd[@]}" "$url" >> "$raw" 2>&1 || die "wrk failed: see $raw"
      line=$(grep '^WRK_JSON ' "$raw" | tail -1) || die "no WRK_JSON line in $raw"
      $PY -c 'import json, sys
r = json.loads(sys.argv[1][len("WRK_JSON "):])
r.update(target=sys.argv[2], endpoint=sys.argv[3], run=int(sys.argv[4]), url=sys.argv[5])
print(json.dumps(r))' "$line" "$t" "$e" "$run" "$url" >> "$out/runs.jsonl"
      sleep 1
    done
  done
done

# --- 6. memory after the runs ------------------------------------------------------------
rss_of() {  # pid -> "VmRSS_kB VmHWM_kB"
  awk '/^VmRSS:/ {r = $2} /^VmHWM:/ {h = $2} END {print r, h}' "/proc/$1/status"
}
for db in sqlite pg; do
  read -r rss hwm < <(rss_of "${serve_pid[$db]}")
  meta "serve_${db}_vmrss_kb" "$rss"
  meta "serve_${db}_vmhwm_kb" "$hwm"
done
django_rss=0
for p in $django_pid $(pgrep -P "$django_pid" || true); do
  read -r rss _ < <(rss_of "$p")
  django_rss=$((django_rss + rss))
done
meta django_vmrss_kb_total "$django_rss"
meta loadavg_end "$(cut -d' ' -f1-3 /proc/loadavg)"
meta work_dir "$work"

# --- 7. report ---------------------------------------------------------------------------
ln -sfn "$stamp" "$root/bench/results/latest"
if [[ -n $REPORT ]]; then
  "$PY" bench/report.py "$out" --markdown "$REPORT"
  log "report: $REPORT"
else
  "$PY" bench/report.py "$out"
fi
log "results: $out"
