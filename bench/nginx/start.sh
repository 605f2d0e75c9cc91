#!/usr/bin/env bash
# Starts nginx (Debian's /usr/sbin/nginx) serving one static JSON file.
#   bench/nginx/start.sh PREFIX PORT BODY_FILE [WORKERS]
# PREFIX is a scratch directory (created); BODY_FILE is copied to PREFIX/html/book.json and is
# served for GET /api/v1/books/<anything>. nginx runs in the foreground of a background job;
# its pid is written to PREFIX/nginx.pid (by nginx) and PREFIX/master.pid (by this script).
# Stop: kill "$(cat PREFIX/master.pid)".
set -euo pipefail
prefix=$1 port=$2 body=$3 workers=${4:-2}
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$prefix"/{html,logs,tmp}
prefix=$(cd "$prefix" && pwd)
cp "$body" "$prefix/html/book.json"
chmod -R a+rX "$prefix"
sed -e "s|@PREFIX@|$prefix|g" -e "s|@PORT@|$port|g" -e "s|@WORKERS@|$workers|g" \
  "$here/nginx.conf.template" > "$prefix/nginx.conf"
/usr/sbin/nginx -t -q -p "$prefix" -e "$prefix/logs/error.log" -c "$prefix/nginx.conf"
/usr/sbin/nginx -p "$prefix" -e "$prefix/logs/error.log" -c "$prefix/nginx.conf" \
  > "$prefix/logs/stdout.log" 2>&1 &
echo $! > "$prefix/master.pid"
for _ in $(seq 1 50); do
  if curl -fsS -o /dev/null "http://127.0.0.1:$port/api/v1/books/x"; then exit 0; fi
  sleep 0.1
done
echo "nginx did not start; see $prefix/logs/error.log" >&2
cat "$prefix/logs/error.log" >&2 || true
exit 1
