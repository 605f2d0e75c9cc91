#!/usr/bin/env bash
# The storefront's end-to-end suite (web/e2e) in a real browser (Debian's Chromium driven by
# playwright-core) against a real stack: the release `libromind serve` on a throwaway SQLite store
# holding the shipped catalogue, the storefront (`next start`) in front of it, and the real model
# server. Usage:
#   scripts/e2e.sh [FILE...]  # `make test` calls it; `make e2e` alone; FILEs: some of web/e2e/*.test.mjs
# Environment: LIBROMIND_BIN (build/release/libromind), LIBROMIND_DATA_DIR (../shared/data/books),
# LIBROMIND_TEST_LLM_URL/_API/_MODEL (a running model server; otherwise one is started here),
# E2E_ARTIFACTS (web/test-results/e2e: screenshots, metrics.json, the servers' logs),
# E2E_LLM=off serves without a model server (for bench/web: no test there needs one),
# E2E_KEEP=1 keeps the temporary store.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

bin=${LIBROMIND_BIN:-build/release/libromind}
data=${LIBROMIND_DATA_DIR:-../shared/data/books}
artifacts=${E2E_ARTIFACTS:-$root/web/test-results/e2e}
say() { echo "e2e: $*" >&2; }
die() { say "$*"; exit 1; }

[ -x "$bin" ] || die "no $bin (make build first)"
[ -x /usr/bin/chromium ] || die "Debian's chromium is needed (scripts/setup.sh test installs it)"
shopt -s nullglob
files=("$data"/books-*.jsonl)
[ ${#files[@]} -gt 0 ] || die "no catalogue files in $data (set LIBROMIND_DATA_DIR)"

tmp=$(mktemp -d /tmp/libromind-e2e.XXXXXX)
rm -rf "$artifacts" && mkdir -p "$artifacts"
pids=()
llm_started=
cleanup() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  [ -z "$llm_started" ] || "$root/scripts/llm-server.sh" stop "$tmp/llm" >/dev/null 2>&1 || true
  [ "${E2E_KEEP:-}" = 1 ] && say "kept $tmp" || rm -rf "$tmp"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_http() {  # URL SECONDS PID
  local deadline=$((SECONDS + $2))
  until curl -sf -o /dev/null "$1"; do
    kill -0 "$3" 2>/dev/null || die "the server for $1 exited (logs in $artifacts)"
    [ $SECONDS -lt $deadline ] || die "$1 did not answer within $2 s (logs in $artifacts)"
    sleep 0.2
  done
}

export LIBROMIND_DATABASE_URL="sqlite://$tmp/e2e.db"
export LIBROMIND_LOG_LEVEL=warn
say "importing the shipped catalogue (${#files[@]} files) into $tmp/e2e.db"
"$bin" migrate >/dev/null
"$bin" import "${files[@]}" >"$artifacts/import.log" 2>&1 || die "import failed (see $artifacts/import.log)"

random_b64url() { head -c "$1" /dev/urandom | base64 -w0 | tr '+/' '-_' | tr -d '='; }
(umask 077 && random_b64url 18 >"$tmp/admin-password" && echo "e2e $(random_b64url 32)" >"$tmp/jwt.keys")
admin_email=admin@e2e.libromind.test
"$bin" user create --email "$admin_email" --admin --password-file "$tmp/admin-password" >/dev/null

llm_args=()
if [ "${E2E_LLM:-on}" = off ]; then
  :
elif [ -n "${LIBROMIND_TEST_LLM_URL:-}" ]; then
  llm_url=$LIBROMIND_TEST_LLM_URL llm_api=${LIBROMIND_TEST_LLM_API:-openai} llm_model=${LIBROMIND_TEST_LLM_MODEL:-}
else
  say "starting the model server (scripts/llm-server.sh)"
  llm_env=$(scripts/llm-server.sh start "$tmp/llm")
  llm_started=1
  eval "$llm_env"
  llm_url=$LIBROMIND_LLM_URL llm_api=$LIBROMIND_LLM_API llm_model=$LIBROMIND_LLM_MODEL
fi
[ -z "${llm_url:-}" ] || llm_args=(--llm-url "$llm_url" --llm-api "$llm_api" --llm-model "$llm_model")

api_port=$(free_port)
web_port=$(free_port)
# The embedder runs as on a first `make run`: its catalogue pass goes on at nice 10 behind the
# browser (--embed-in-background false would also leave the uploaded books without vectors).
"$bin" serve --listen "127.0.0.1:$api_port" --jwt-keys-file "$tmp/jwt.keys" \
  --index-dir "$tmp/index" --upload-dir "$tmp/uploads" \
  "${llm_args[@]}" \
  --trusted-proxies 127.0.0.1,::1 >"$artifacts/api.log" 2>&1 &
pids+=($!)
wait_http "http://127.0.0.1:$api_port/readyz" 120 "${pids[-1]}"

scripts/web.sh build
LIBROMIND_API_URL="http://127.0.0.1:$api_port" LIBROMIND_WEB_LISTEN="127.0.0.1:$web_port" \
  scripts/web.sh start >"$artifacts/web.log" 2>&1 &
pids+=($!)
wait_http "http://127.0.0.1:$web_port/" 60 "${pids[-1]}"

say "storefront http://127.0.0.1:$web_port, API http://127.0.0.1:$api_port; running web/e2e"
cd "$root/web"
E2E_BASE_URL="http://127.0.0.1:$web_port" E2E_API_URL="http://127.0.0.1:$api_port" \
  E2E_ADMIN_EMAIL="$admin_email" E2E_ADMIN_PASSWORD_FILE="$tmp/admin-password" \
  E2E_ARTIFACTS="$artifacts" \
  node --test --test-concurrency=1 --test-reporter=spec "${@:-e2e/}"
