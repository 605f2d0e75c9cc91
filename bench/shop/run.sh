#!/usr/bin/env bash
# Benchmark of the shop issue: checkout throughput and latency of `libromind serve` with 50
# concurrent customers on PostgreSQL and on SQLite (the whole catalogue imported), login latency
# with the real argon2id parameters, and an oversell race (50 buyers, 10 copies). The PostgreSQL
# of these runs is scripts/pg-test-server.sh's test cluster (fsync, synchronous_commit and
# full_page_writes off: an upper bound); a second, durable cluster (PG_TEST_DURABLE=1: all three
# on) then gets the same checkout runs and oversell race, and pg_test_fsync measures the flush
# latency of its disk. The load generator is bench/shop/checkout_load.go (Go, standard library
# only). Writes the raw results to bench/results/shop-<stamp>/ and the "shop" section of
# docs/benchmarks.md (bench/shop/report.py).
#
#   bench/shop/run.sh                                        # ~10 min
#   BENCH_SHOP_RUNS=1 BENCH_SHOP_DURATION=5s BENCH_SHOP_SWEEP= bench/shop/run.sh   # a quick look
#
# Environment (all optional):
#   BENCH_SHOP_CLIENTS=50 BENCH_SHOP_DURATION=20s BENCH_SHOP_WARMUP=3s BENCH_SHOP_RUNS=3
#   BENCH_SHOP_BOOKS=20             the most popular in-stock books, bought round-robin
#   BENCH_SHOP_BLOCKING_THREADS=8 BENCH_SHOP_POOL_SIZE=16   the `serve` settings measured
#   BENCH_SHOP_LOGIN_CLIENTS=1,4 BENCH_SHOP_LOGIN_DURATION=10s
#   BENCH_SHOP_SWEEP="2:4 4:8 8:16 16:32"   blocking-threads:pool-size pairs, one PostgreSQL
#                                   checkout run each (BENCH_SHOP_SWEEP_DURATION=10s), with
#                                   PostgreSQL's wait events sampled ("" to skip)
#   BENCH_SHOP_DURABLE=1            0: skip the durable PostgreSQL (fsync, synchronous_commit,
#                                   full_page_writes on; its own cluster and import, ~4 min)
#   BENCH_SHOP_FSYNC_SECS=2         seconds per test of pg_test_fsync on the durable cluster's
#                                   disk (run before and after the durable runs, ~35 s each)
#   BENCH_SHOP_SQLITE=1             0: skip the SQLite comparison
#   BENCH_DATA=../shared/data/books (BENCH_DATA_GLOB='books-*.jsonl')
#   BENCH_BIN=build/release/libromind (built with the release preset when missing)
#   BENCH_GO=go (else /usr/local/go/bin/go)   BENCH_SHOP_SETUP=1 (0: skip scripts/setup.sh bench)
#   BENCH_REPORT=docs/benchmarks.md ("" for none)   BENCH_KEEP=0 (1: keep the scratch directory)
#
# The load generator, `serve` and PostgreSQL share this machine's cores; the report gives the
# CPU time each of them used. Every process this script starts is stopped on exit.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"

CLIENTS=${BENCH_SHOP_CLIENTS:-50}
DURATION=${BENCH_SHOP_DURATION:-20s}
WARMUP=${BENCH_SHOP_WARMUP:-3s}
RUNS=${BENCH_SHOP_RUNS:-3}
NBOOKS=${BENCH_SHOP_BOOKS:-20}
BLOCKING=${BENCH_SHOP_BLOCKING_THREADS:-8}
POOL=${BENCH_SHOP_POOL_SIZE:-16}
LOGIN_CLIENTS=${BENCH_SHOP_LOGIN_CLIENTS:-1,4}
LOGIN_DURATION=${BENCH_SHOP_LOGIN_DURATION:-10s}
SWEEP=${BENCH_SHOP_SWEEP-2:4 4:8 8:16 16:32}
SWEEP_DURATION=${BENCH_SHOP_SWEEP_DURATION:-10s}
SQLITE=${BENCH_SHOP_SQLITE:-1}
DURABLE=${BENCH_SHOP_DURABLE:-1}
FSYNC_SECS=${BENCH_SHOP_FSYNC_SECS:-2}
PG_BIN=/usr/lib/postgresql/15/bin
DATA=${BENCH_DATA:-$root/../shared/data/books}
DATA_GLOB=${BENCH_DATA_GLOB:-books-*.jsonl}
BIN=${BENCH_BIN:-build/release/libromind}
REPORT=${BENCH_REPORT-docs/benchmarks.md}
KEEP=${BENCH_KEEP:-0}
STOCK=1000000   # the most PATCH /api/v1/admin/books/{id} accepts
ADMIN_EMAIL=admin@example.org
PY=/usr/bin/python3

log() { printf '[bench-shop %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

if [[ ${BENCH_SHOP_SETUP:-1} == 1 ]]; then scripts/setup.sh bench; fi

GO=${BENCH_GO:-$(command -v go || echo /usr/local/go/bin/go)}
[[ -x $GO ]] || die "Go not found (BENCH_GO=/path/to/go); the load generator needs Go >= 1.22"
for c in psql curl "$PY"; do command -v "$c" > /dev/null || die "$c not found (scripts/setup.sh bench)"; done

stamp=$(date -u +%Y%m%dT%H%M%SZ)
out=$root/bench/results/shop-$stamp
mkdir -p "$out/logs"
work=$(mktemp -d /tmp/libromind-bench-shop.XXXXXX)
chmod 755 "$work"

# --- process bookkeeping -----------------------------------------------------------------
pids=()          # "name:pid" of every background process started here, stopped in reverse order
pg_started=0
pgd_started=0    # the durable cluster ($work/pg-durable)

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
  cp "$work"/*.log "$out/logs/" 2>/dev/null
  if [[ $pg_started == 1 ]]; then
    cp "$work/pg/log" "$out/logs/postgres.log" 2>/dev/null
    scripts/pg-test-server.sh stop "$work/pg" > /dev/null 2>&1
  fi
  if [[ $pgd_started == 1 ]]; then
    cp "$work/pg-durable/log" "$out/logs/postgres-durable.log" 2>/dev/null
    scripts/pg-test-server.sh stop "$work/pg-durable" > /dev/null 2>&1
  fi
  if [[ $KEEP == 1 ]]; then log "scratch directory kept: $work"; else rm -rf "$work"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

free_port() {
  $PY -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

wait_http() {  # name pid url seconds: until url answers 200, while pid lives
  local name=$1 pid=$2 url=$3 secs=$4 t0
  t0=$(date +%s)
  until curl -fsS -o /dev/null --max-time 2 "$url" 2>/dev/null; do
    kill -0 "$pid" 2>/dev/null || die "$name exited before $url answered; see $out/logs/"
    (($(date +%s) - t0 <= secs)) || die "$name: $url not ready after ${secs}s"
    sleep 0.2
  done
}

# Commands that the report shows, with the scratch directory as $WORK.
record() {
  local line
  line=$(printf '%q ' "$@")
  line=${line//"$work"/\$WORK}
  line=${line//"$root/"/}
  printf '%s\n' "${line% }" >> "$out/commands.txt"
}

record_raw() {
  local line=$1
  line=${line//"$work"/\$WORK}
  line=${line//"$root/"/}
  printf '%s\n' "$line" >> "$out/commands.txt"
}

meta() { printf '%s=%s\n' "$1" "$2" >> "$out/meta.env"; }

elapsed() { $PY -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.2f}')" "$1" "$(date +%s.%N)"; }

# --- 0. the binaries ---------------------------------------------------------------------
if [[ ! -x $BIN ]]; then
  [[ -z ${BENCH_BIN:-} ]] || die "BENCH_BIN=$BIN is not executable"
  log "building the release binary"
  cmake --preset release > "$out/logs/cmake-configure.log"
  cmake --build --preset release > "$out/logs/cmake-build.log"
fi
# A private copy: a rebuild of build/ during the run (another terminal) must not change or
# remove the binary under test.
cp "$BIN" "$work/libromind"
meta binary "$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN") (mtime $(date -u -r "$BIN" '+%Y-%m-%d %H:%M:%S UTC'), sha256 $(sha256sum "$BIN" | cut -c1-12))"
BIN=$work/libromind
log "building the load generator ($("$GO" version | awk '{print $3}'))"
load=$work/checkout_load
(cd bench/shop && GOTOOLCHAIN=local GOFLAGS=-mod=mod "$GO" build -o "$load" .) \
  || die "go build of bench/shop failed"

shopt -s nullglob
files=("$DATA"/$DATA_GLOB)
shopt -u nullglob
((${#files[@]} > 0)) || die "no $DATA_GLOB under $DATA"

{
  meta stamp "$stamp"
  meta date "$(date -u '+%Y-%m-%d %H:%M:%S UTC')"
  meta nproc "$(nproc)"
  meta cpu_model "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
  meta mem_total "$(grep MemTotal /proc/meminfo | awk '{print $2 " kB"}')"
  meta kernel "$(uname -r)"
  meta loadavg_start "$(cut -d' ' -f1-3 /proc/loadavg)"
  meta git_commit "$(git rev-parse --short HEAD 2>/dev/null || echo none)$(git diff --quiet HEAD 2>/dev/null || echo ' (dirty tree)')"
  meta go_version "$("$GO" version | awk '{print $3}')"
  meta postgres_version "$(/usr/lib/postgresql/15/bin/postgres --version | awk '{print $3}')"
  meta sqlite_version "$($PY -c 'import sqlite3; print(sqlite3.sqlite_version)')"
  meta clients "$CLIENTS"
  meta duration "$DURATION"
  meta warmup "$WARMUP"
  meta runs "$RUNS"
  meta nbooks "$NBOOKS"
  meta blocking_threads "$BLOCKING"
  meta pool_size "$POOL"
  meta login_clients "$LOGIN_CLIENTS"
  meta login_duration "$LOGIN_DURATION"
  meta sweep "$SWEEP"
  meta sweep_duration "$SWEEP_DURATION"
  meta durable "$DURABLE"
  meta data_files "${#files[@]}"
  meta data_lines "$(cat "${files[@]}" | wc -l)"
}

# --- 1. PostgreSQL -----------------------------------------------------------------------
pg_settings_of() {  # url: name|setting|unit of the settings that decide what a commit costs
  psql "$1" -XAt -F'|' -c "SELECT name, setting, unit FROM pg_settings WHERE name IN
    ('fsync', 'synchronous_commit', 'full_page_writes', 'wal_level', 'wal_sync_method',
     'shared_buffers', 'max_connections', 'commit_delay', 'max_wal_size', 'checkpoint_timeout',
     'track_wal_io_timing')
    ORDER BY name"
}
log "starting PostgreSQL (scripts/pg-test-server.sh)"
record scripts/pg-test-server.sh start "$work/pg"
scripts/pg-test-server.sh start "$work/pg" > "$work/pg-start.log" 2>&1 \
  || { cat "$work/pg-start.log" >&2; die "scripts/pg-test-server.sh start failed"; }
pg_started=1
admin_url=$(head -1 "$work/pg/url")
psql "$admin_url" -Xqc 'CREATE DATABASE libromind_shop' > /dev/null
pg_url=${admin_url%/*}/libromind_shop
postmaster=$(head -1 "$work/pg/data/postmaster.pid")
log "PostgreSQL at $pg_url (postmaster $postmaster)"
# The settings that decide what a commit costs, as the server reports them.
while IFS='|' read -r name setting unit; do
  meta "pg_$name" "$setting${unit:+ $unit}"
done < <(pg_settings_of "$pg_url")

# --- 2. migrate + import + admin ---------------------------------------------------------
sqlite_url=sqlite://$work/shop.db
printf 'Bench-Admin-Pass-%s\n' "$stamp" > "$work/admin.pw"
prepare_db() {  # db url: migrate, import the catalogue, create the administrator
  local db=$1 url=$2 t0
  log "migrate + import into $db (${#files[@]} files)"
  t0=$(date +%s.%N)
  record "$BIN" migrate --database-url "$url"
  "$BIN" migrate --database-url "$url" > "$work/migrate-$db.log" 2>&1 || die "migrate $db failed"
  record_raw "$(printf '%q ' "$BIN" import --database-url "$url")$DATA/$DATA_GLOB"
  "$BIN" import --database-url "$url" "${files[@]}" > "$work/import-$db.log" 2>&1 \
    || { tail -5 "$work/import-$db.log" >&2; die "import into $db failed"; }
  meta "import_${db}_seconds" "$(elapsed "$t0")"
  record "$BIN" user create --database-url "$url" --email "$ADMIN_EMAIL" --admin --password-file "$work/admin.pw"
  "$BIN" user create --database-url "$url" --email "$ADMIN_EMAIL" --admin \
    --password-file "$work/admin.pw" > "$work/user-$db.log" 2>&1 || die "user create on $db failed"
}
prepare_db pg "$pg_url"
if [[ $SQLITE == 1 ]]; then prepare_db sqlite "$sqlite_url"; fi
meta books_pg "$(psql "$pg_url" -XAtc 'SELECT count(*) FROM books')"
psql "$pg_url" -Xqc 'VACUUM ANALYZE' > /dev/null

# --- 3. servers and runs -----------------------------------------------------------------
serve_pid=""
base=""
start_serve() {  # label url blocking pool
  local label=$1 url=$2 blocking=$3 pool=$4 port
  port=$(free_port)
  local cmd=("$BIN" serve --database-url "$url" --listen "127.0.0.1:$port"
    --blocking-threads "$blocking" --store-pool-size "$pool" --access-log false)
  record "${cmd[@]}"
  "${cmd[@]}" > "$work/serve-$label.log" 2>&1 &
  serve_pid=$!
  pids+=("serve-$label:$serve_pid")
  base=http://127.0.0.1:$port
  wait_http "serve-$label" "$serve_pid" "$base/readyz" 120
  log "serve-$label: pid $serve_pid at $base (blocking threads $blocking, pool $pool)"
}
stop_and_forget() {  # name pid: stop it and drop it from the list that cleanup stops
  stop_pid "$1" "$2"
  wait "$2" 2>/dev/null || true
  local i
  for i in "${!pids[@]}"; do [[ ${pids[i]##*:} == "$2" ]] && unset 'pids[i]'; done
  pids=("${pids[@]}")
}
stop_serve() { stop_and_forget serve "$serve_pid"; }

# The load generator; its JSON goes to $out/NAME.json. /metrics before and after (server-side
# request durations by route).
load_run() {  # name mode [flags...]
  local name=$1 mode=$2
  shift 2
  local cmd=("$load" -mode "$mode" -base "$base" -user-prefix shop -admin-email "$ADMIN_EMAIL"
    -admin-password-file "$work/admin.pw" "$@")
  record "${cmd[@]}"
  curl -fsS "$base/metrics" -o "$out/$name.metrics-before.txt" || true
  local rc=0
  "${cmd[@]}" > "$out/$name.json" 2> "$work/load-$name.log" || rc=$?
  curl -fsS "$base/metrics" -o "$out/$name.metrics-after.txt" || true
  cat "$work/load-$name.log" >&2
  case $rc in
    0) ;;
    3) log "warning: $name: the oversell check FAILED (see $out/$name.json)" ;;
    *) die "$name: checkout_load exited with $rc (see $work/load-$name.log)" ;;
  esac
}

# PostgreSQL's client backends by state and wait event, sampled every 200 ms during a run.
sampler_pid=""
start_sampler() {  # file
  local q="SELECT round(extract(epoch FROM clock_timestamp()), 3), state, coalesce(wait_event_type, '-'),
    coalesce(wait_event, '-'), count(*) FROM pg_stat_activity WHERE datname = current_database()
    AND backend_type = 'client backend' AND pid <> pg_backend_pid() GROUP BY 2, 3, 4"
  psql -XAt -F'|' "$pg_url" <<< "$(printf '%s\n\\watch 0.2' "$q")" > "$1" 2>/dev/null &
  sampler_pid=$!
  pids+=("sampler:$sampler_pid")
}
stop_sampler() { stop_and_forget sampler "$sampler_pid"; }

checkout_flags=(-clients "$CLIENTS" -duration "$DURATION" -warmup "$WARMUP" -set-stock "$STOCK")

# PostgreSQL: the measured configuration.
start_serve pg "$pg_url" "$BLOCKING" "$POOL"
meta serve_config_pg "$(grep -m1 '"event":"config"' "$work/serve-pg.log")"
books=$(curl -fsS "$base/api/v1/books?sort=popularity&in_stock=true&limit=$((NBOOKS + 1))" \
  | $PY -c 'import json, sys; print(",".join(b["id"] for b in json.load(sys.stdin)["items"]))')
oversell_book=${books##*,}
books=${books%,*}
meta books "$books"
meta oversell_book "$oversell_book"
log "books: $books; oversell book: $oversell_book"

for run in $(seq 1 "$RUNS"); do
  log "PostgreSQL checkout run $run/$RUNS ($CLIENTS clients, $DURATION after $WARMUP warm-up)"
  meta "loadavg_pg_run$run" "$(cut -d' ' -f1-3 /proc/loadavg)"
  load_run "checkout-pg.$run" checkout "${checkout_flags[@]}" -books "$books" \
    -watch-pids "serve=$serve_pid,postgres=$postmaster" \
    -window-hook "$(printf '%q ' "$root/bench/shop/pg-window-hook.sh" "$pg_url" "$out/checkout-pg.$run")"
  sleep 2
done
log "PostgreSQL login latency ($LOGIN_CLIENTS concurrent clients)"
load_run login-pg login -login-clients "$LOGIN_CLIENTS" -login-duration "$LOGIN_DURATION"
log "PostgreSQL oversell race ($CLIENTS buyers, 10 copies of $oversell_book)"
load_run oversell-pg oversell -clients "$CLIENTS" -oversell-book "$oversell_book" -oversell-stock 10
meta serve_pg_vmhwm_kb "$(awk '/^VmHWM:/ {print $2}' "/proc/$serve_pid/status")"
stop_serve

# PostgreSQL: where the time goes, by blocking threads and pool size. pg_stat_statements
# (with planning time) is loaded for these runs only: a restart of the server, same settings.
if [[ -n $SWEEP && -f /usr/lib/postgresql/15/lib/pg_stat_statements.so ]]; then
  log "restarting PostgreSQL with pg_stat_statements for the sweep"
  psql "$pg_url" -Xqc "ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'" > /dev/null
  record scripts/pg-test-server.sh restart "$work/pg"
  scripts/pg-test-server.sh restart "$work/pg" > "$work/pg-restart.log" 2>&1 \
    || { cat "$work/pg-restart.log" >&2; die "scripts/pg-test-server.sh restart failed"; }
  postmaster=$(head -1 "$work/pg/data/postmaster.pid")
  psql "$pg_url" -Xq -c 'CREATE EXTENSION pg_stat_statements' \
    -c 'ALTER SYSTEM SET pg_stat_statements.track_planning = on' -c 'SELECT pg_reload_conf()' > /dev/null
  meta sweep_pg_stat_statements 1
fi
for pair in $SWEEP; do
  bt=${pair%%:*} ps=${pair##*:}
  log "PostgreSQL sweep: blocking threads $bt, pool $ps ($SWEEP_DURATION)"
  start_serve "pg-$bt-$ps" "$pg_url" "$bt" "$ps"
  start_sampler "$out/waits-pg-$bt-$ps.txt"
  load_run "sweep-pg-$bt-$ps" checkout -clients "$CLIENTS" -duration "$SWEEP_DURATION" \
    -warmup "$WARMUP" -set-stock "$STOCK" -books "$books" \
    -watch-pids "serve=$serve_pid,postgres=$postmaster" \
    -window-hook "$(printf '%q ' "$root/bench/shop/pg-window-hook.sh" "$pg_url" "$out/sweep-pg-$bt-$ps")"
  stop_sampler
  stop_serve
done

# PostgreSQL, durable: a second throwaway cluster with fsync, synchronous_commit and
# full_page_writes on (PG_TEST_DURABLE=1), its own import, the same `serve` settings, books and
# clients. The test cluster is stopped first, so that the two never share the disk or the cores.
# The flush latency of the disk under the durable cluster's data directory (under $work), by
# pg_test_fsync with no cluster running: before the durable runs and after them (this disk's
# flush latency is not steady).
fsync_test() {  # before|after
  [[ -x $PG_BIN/pg_test_fsync ]] || { log "pg_test_fsync not found in $PG_BIN; no flush latency recorded"; return 0; }
  sync -f "$work" 2>/dev/null || true   # the previous cluster's writes out of the page cache first
  log "pg_test_fsync on the disk of $work, $1 the durable runs (${FSYNC_SECS} s per test)"
  meta fsync_filesystem "$(df -PT "$work" | awk 'NR == 2 {print $2 ", " $1 " mounted on " $7}')"
  meta fsync_secs "$FSYNC_SECS"
  meta "loadavg_pg_test_fsync_$1" "$(cut -d' ' -f1-3 /proc/loadavg)"
  if [[ $1 == before ]]; then record "$PG_BIN/pg_test_fsync" -s "$FSYNC_SECS" -f "$work/pg_test_fsync.tmp"; fi
  "$PG_BIN/pg_test_fsync" -s "$FSYNC_SECS" -f "$work/pg_test_fsync.tmp" > "$out/pg_test_fsync-$1.txt" 2>&1 \
    || log "warning: pg_test_fsync failed (see $out/pg_test_fsync-$1.txt)"
  rm -f "$work/pg_test_fsync.tmp"
}
if [[ $DURABLE == 1 ]]; then
  cp "$work/pg/log" "$out/logs/postgres.log" 2>/dev/null || true
  scripts/pg-test-server.sh stop "$work/pg" > /dev/null 2>&1 || die "stopping the test cluster failed"
  pg_started=0
  fsync_test before
  log "starting the durable PostgreSQL (PG_TEST_DURABLE=1 scripts/pg-test-server.sh)"
  record_raw "PG_TEST_DURABLE=1 $(printf '%q ' scripts/pg-test-server.sh start)$(printf '%q' "$work/pg-durable")"
  PG_TEST_DURABLE=1 scripts/pg-test-server.sh start "$work/pg-durable" > "$work/pg-durable-start.log" 2>&1 \
    || { cat "$work/pg-durable-start.log" >&2; die "PG_TEST_DURABLE=1 scripts/pg-test-server.sh start failed"; }
  pgd_started=1
  pgd_admin_url=$(head -1 "$work/pg-durable/url")
  psql "$pgd_admin_url" -Xqc 'CREATE DATABASE libromind_shop_durable' > /dev/null
  pgd_url=${pgd_admin_url%/*}/libromind_shop_durable
  pgd_postmaster=$(head -1 "$work/pg-durable/data/postmaster.pid")
  log "durable PostgreSQL at $pgd_url (postmaster $pgd_postmaster)"
  # The time of the WAL flushes during the runs (pg_stat_wal.wal_sync_time; a clock read around
  # each write and flush, no change to what a commit waits for).
  record psql "$pgd_url" -Xq -c 'ALTER SYSTEM SET track_wal_io_timing = on' -c 'SELECT pg_reload_conf()'
  psql "$pgd_url" -Xq -c 'ALTER SYSTEM SET track_wal_io_timing = on' -c 'SELECT pg_reload_conf()' > /dev/null
  sleep 0.5
  while IFS='|' read -r name setting unit; do
    meta "pgdurable_$name" "$setting${unit:+ $unit}"
  done < <(pg_settings_of "$pgd_url")
  [[ $(psql "$pgd_url" -XAtc "SELECT string_agg(setting, ',' ORDER BY name) FROM pg_settings
        WHERE name IN ('fsync', 'synchronous_commit', 'full_page_writes')") == on,on,on ]] \
    || die "the PG_TEST_DURABLE=1 cluster does not run with fsync, synchronous_commit, full_page_writes on"
  prepare_db pgdurable "$pgd_url"
  meta books_pgdurable "$(psql "$pgd_url" -XAtc 'SELECT count(*) FROM books')"
  # VACUUM ANALYZE as on the test cluster; the CHECKPOINT writes the import's dirty pages out
  # now rather than during the runs.
  psql "$pgd_url" -Xq -c 'VACUUM ANALYZE' -c 'CHECKPOINT' > /dev/null

  start_serve pg-durable "$pgd_url" "$BLOCKING" "$POOL"
  meta serve_config_pgdurable "$(grep -m1 '"event":"config"' "$work/serve-pg-durable.log")"
  for run in $(seq 1 "$RUNS"); do
    log "durable PostgreSQL checkout run $run/$RUNS ($CLIENTS clients, $DURATION after $WARMUP warm-up)"
    meta "loadavg_pgdurable_run$run" "$(cut -d' ' -f1-3 /proc/loadavg)"
    load_run "checkout-pg-durable.$run" checkout "${checkout_flags[@]}" -books "$books" \
      -watch-pids "serve=$serve_pid,postgres=$pgd_postmaster" \
      -window-hook "$(printf '%q ' "$root/bench/shop/pg-window-hook.sh" "$pgd_url" "$out/checkout-pg-durable.$run")"
    sleep 2
  done
  log "durable PostgreSQL oversell race ($CLIENTS buyers, 10 copies of $oversell_book)"
  load_run oversell-pg-durable oversell -clients "$CLIENTS" -oversell-book "$oversell_book" -oversell-stock 10
  stop_serve
  cp "$work/pg-durable/log" "$out/logs/postgres-durable.log" 2>/dev/null || true
  scripts/pg-test-server.sh stop "$work/pg-durable" > /dev/null 2>&1 || die "stopping the durable cluster failed"
  pgd_started=0

  fsync_test after
fi

# SQLite: the same checkout run.
if [[ $SQLITE == 1 ]]; then
  start_serve sqlite "$sqlite_url" "$BLOCKING" "$POOL"
  for run in $(seq 1 "$RUNS"); do
    log "SQLite checkout run $run/$RUNS"
    meta "loadavg_sqlite_run$run" "$(cut -d' ' -f1-3 /proc/loadavg)"
    load_run "checkout-sqlite.$run" checkout "${checkout_flags[@]}" -books "$books" \
      -watch-pids "serve=$serve_pid"
    sleep 2
  done
  log "SQLite oversell race"
  load_run oversell-sqlite oversell -clients "$CLIENTS" -oversell-book "$oversell_book" -oversell-stock 10
  stop_serve
fi
meta loadavg_end "$(cut -d' ' -f1-3 /proc/loadavg)"

# --- 4. report ---------------------------------------------------------------------------
ln -sfn "shop-$stamp" "$root/bench/results/shop-latest"
if [[ -n $REPORT ]]; then
  "$PY" bench/shop/report.py "$out" --markdown "$REPORT"
  log "report: $REPORT"
else
  "$PY" bench/shop/report.py "$out"
fi
log "results: $out"
