#!/usr/bin/env bash
# Starts and stops a throwaway PostgreSQL 15 (Debian's packages) for the store tests.
#
#   scripts/pg-test-server.sh start DIR    # prints postgresql://postgres@127.0.0.1:PORT/postgres
#   scripts/pg-test-server.sh restart DIR  # restarts it (tests of reconnection)
#   scripts/pg-test-server.sh stop DIR     # stops it and removes DIR
#
# The cluster lives in DIR/data, its unix socket in DIR, its log in DIR/log; trust auth on
# 127.0.0.1 only and (unless PG_TEST_DURABLE=1, below) fsync=off, so it is for tests only. The
# URL is also written to DIR/url.
# Run as root, the server runs as the `postgres` user (initdb refuses root).
#
# By default the server starts with fsync=off, synchronous_commit=off and full_page_writes=off:
# a commit never waits for the disk (fast tests; a crash can lose or corrupt the cluster).
#
#   PG_TEST_DURABLE=1 scripts/pg-test-server.sh start DIR
#
# starts it instead with PostgreSQL's durable defaults, fsync=on, synchronous_commit=on and
# full_page_writes=on (for benchmarks of what a commit costs on this disk); still trust auth,
# still throwaway. The variable is read at `start` only; `restart` keeps the settings the
# server was started with (pg_ctl reuses its command line). Other values than 0 or 1 are refused.
set -euo pipefail

PG_BIN="${PG_BIN:-/usr/lib/postgresql/15/bin}"
PG_USER="${PG_USER:-postgres}"

die() {
  echo "pg-test-server: $*" >&2
  exit 1
}

usage() {
  echo "usage: $0 start|restart|stop DIR" >&2
  exit 2
}

# Runs a command as the server's user (directly when we are that user already).
as_pg() {
  if [[ "$(id -u)" -eq 0 ]]; then
    runuser -u "$PG_USER" -- "$@"
  else
    "$@"
  fi
}

free_port() {
  python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()'
}

wait_ready() {
  local port="$1" dir="$2"
  for _ in $(seq 1 100); do
    if "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$port" -d postgres -U postgres; then
      return 0
    fi
    sleep 0.1
  done
  echo "pg-test-server: server on port $port not ready after 10 s; log follows" >&2
  tail -n 30 "$dir/log" >&2 || true
  exit 1
}

start() {
  local dir="$1"
  local durable="${PG_TEST_DURABLE:-0}"
  [[ "$durable" == 0 || "$durable" == 1 ]] || die "PG_TEST_DURABLE must be 0 or 1, not '$durable'"
  [[ -x "$PG_BIN/initdb" && -x "$PG_BIN/pg_ctl" ]] ||
    die "PostgreSQL 15 binaries not found in $PG_BIN (apt-get install postgresql-15)"
  if [[ -e "$dir/data/postmaster.pid" ]]; then
    die "a server already runs in $dir (stop it first: $0 stop $dir)"
  fi
  if [[ "$(id -u)" -eq 0 ]]; then
    id "$PG_USER" >/dev/null 2>&1 || useradd --system --home-dir /var/lib/postgresql \
      --shell /bin/bash "$PG_USER"
  fi
  mkdir -p "$dir"
  dir="$(cd "$dir" && pwd)"
  [[ -z "$(ls -A "$dir")" ]] || die "$dir is not empty"
  if [[ "$(id -u)" -eq 0 ]]; then
    chown "$PG_USER" "$dir"
    # The server user must be able to reach DIR (e.g. under /tmp/x with a private parent).
    as_pg test -w "$dir" || die "user $PG_USER cannot write to $dir; choose a DIR it can reach"
  fi

  as_pg "$PG_BIN/initdb" -D "$dir/data" -U postgres --auth=trust --encoding=UTF8 \
    --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 ||
    { cat "$dir/initdb.log" >&2; die "initdb failed"; }

  local durability="-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
  if [[ "$durable" == 1 ]]; then
    durability="-c fsync=on -c synchronous_commit=on -c full_page_writes=on"
  fi
  local port="" attempt
  for attempt in 1 2 3 4 5; do
    port="$(free_port)"
    if as_pg "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/log" -w -t 30 \
      -o "-c listen_addresses=127.0.0.1 -p $port -c unix_socket_directories=$dir $durability \
-c max_connections=100" \
      start >/dev/null; then
      break
    fi
    port=""
    echo "pg-test-server: start on port failed (attempt $attempt), retrying" >&2
  done
  [[ -n "$port" ]] || { tail -n 30 "$dir/log" >&2 || true; die "could not start the server"; }
  wait_ready "$port" "$dir"
  local url="postgresql://postgres@127.0.0.1:$port/postgres"
  echo "$port" >"$dir/port"
  echo "$url" >"$dir/url"
  echo "$url"
}

restart() {
  local dir="$1"
  [[ -e "$dir/data/postmaster.pid" ]] || die "no server runs in $dir"
  local port
  port="$(cat "$dir/port")"
  as_pg "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/log" -w -t 30 -m fast restart >/dev/null ||
    { tail -n 30 "$dir/log" >&2 || true; die "restart failed"; }
  wait_ready "$port" "$dir"
  cat "$dir/url"
}

stop() {
  local dir="$1"
  [[ -d "$dir" ]] || { echo "pg-test-server: $dir does not exist; nothing to stop" >&2; return 0; }
  if [[ -e "$dir/data/postmaster.pid" ]]; then
    as_pg "$PG_BIN/pg_ctl" -D "$dir/data" -w -t 30 -m fast stop >/dev/null ||
      die "pg_ctl stop failed; $dir kept for inspection"
  fi
  [[ -f "$dir/url" || -d "$dir/data" || -z "$(ls -A "$dir")" ]] ||
    die "$dir does not look like a pg-test-server directory; not removing it"
  rm -rf "$dir"
}

[[ $# -eq 2 ]] || usage
case "$1" in
  start) start "$2" ;;
  restart) restart "$2" ;;
  stop) stop "$2" ;;
  *) usage ;;
esac
