#!/usr/bin/env bash
# `make run`: build, migrate, import the shipped catalogue into an empty store, and serve.
# Configuration comes from LIBROMIND_* environment variables (see README.md).
set -euo pipefail
cd "$(dirname "$0")/.."

bin=${LIBROMIND_BIN:-build/release/libromind}
data=${LIBROMIND_DATA_DIR:-../shared/data/books}
export LIBROMIND_DATABASE_URL=${LIBROMIND_DATABASE_URL:-sqlite://var/libromind.db}
export LIBROMIND_LISTEN=${LIBROMIND_LISTEN:-127.0.0.1:8080}

"$bin" migrate
shopt -s nullglob
files=("$data"/books-*.jsonl)
if [ ${#files[@]} -eq 0 ]; then
  echo "run: no catalogue files found in $data (set LIBROMIND_DATA_DIR)" >&2
  exit 1
fi
echo "run: importing the catalogue (${#files[@]} files) if the store is empty..." >&2
"$bin" import --if-empty "${files[@]}"

host=${LIBROMIND_LISTEN%:*}
port=${LIBROMIND_LISTEN##*:}
echo "" >&2
echo "  Libro-Mind API:  http://$host:$port/api/v1/books" >&2
echo "  Health:          http://$host:$port/readyz   Metrics: http://$host:$port/metrics" >&2
echo "" >&2
exec "$bin" serve
