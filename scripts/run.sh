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

# Secrets for a laptop run live in var/secrets (mode 0600), made once and kept: the key that
# signs access tokens, and the password of a local administrator account.
secrets=var/secrets
mkdir -p "$secrets" && chmod 700 "$secrets"
random_b64url() { head -c "$1" /dev/urandom | base64 -w0 | tr '+/' '-_' | tr -d '='; }
if [ -z "${LIBROMIND_JWT_KEYS:-}" ] && [ -z "${LIBROMIND_JWT_KEYS_FILE:-}" ]; then
  if [ ! -s "$secrets/jwt.keys" ]; then
    (umask 077 && echo "k$(date +%Y%m%d) $(random_b64url 32)" > "$secrets/jwt.keys")
  fi
  export LIBROMIND_JWT_KEYS_FILE="$secrets/jwt.keys"
fi
admin_email=${LIBROMIND_ADMIN_EMAIL:-admin@libromind.local}
[ -s "$secrets/admin-password" ] || (umask 077 && random_b64url 18 > "$secrets/admin-password")
# Fails harmlessly when the account exists already (its password is then left as it is).
"$bin" user create --email "$admin_email" --admin --password-file "$secrets/admin-password" \
  >/dev/null 2>&1 || true

# The model server for explanations, query expansion and HyDE: the local llama-server of
# models/llm.json (installed on first use by scripts/fetch-llm.sh), unless LIBROMIND_LLM_URL
# points at one already (Ollama, vLLM, a hosted API: see docs/llm-server.md) or LIBROMIND_LLM=off.
llm_started=
if [ -z "${LIBROMIND_LLM_URL:-}" ] && [ "${LIBROMIND_LLM:-on}" != off ]; then
  echo "run: starting the local model server (scripts/llm-server.sh; the first run builds it)..." >&2
  if llm_env=$(scripts/llm-server.sh start var/llm); then
    set -a
    eval "$llm_env"
    set +a
    llm_started=1
  else
    echo "run: the model server did not start (see var/llm/server.log); serving without it:" \
      "recommendations send books and an error event instead of an explanation" >&2
  fi
fi
stop_llm() { [ -z "$llm_started" ] || scripts/llm-server.sh stop var/llm >/dev/null 2>&1 || true; }

# The storefront (web/, Next.js) in front of the API: it forwards /api to the service, so the
# service believes the X-Forwarded-For of the loopback peer (login throttling per shopper).
# LIBROMIND_WEB=off serves the API alone.
web_listen=${LIBROMIND_WEB_LISTEN:-127.0.0.1:3000}
if [ "${LIBROMIND_WEB:-on}" != off ]; then
  scripts/web.sh build
  export LIBROMIND_TRUSTED_PROXIES=${LIBROMIND_TRUSTED_PROXIES:-127.0.0.1,::1}
fi

host=${LIBROMIND_LISTEN%:*}
port=${LIBROMIND_LISTEN##*:}
echo "" >&2
[ "${LIBROMIND_WEB:-on}" = off ] || echo "  Storefront:      http://$web_listen/" >&2
echo "  Libro-Mind API:  http://$host:$port/api/v1/books" >&2
echo "  Search:          http://$host:$port/api/v1/search?q=whaling+voyages+in+the+arctic" >&2
echo "  Search status:   http://$host:$port/api/v1/search/status  (book vectors are computed in" >&2
echo "                   the background on the first run: dense results improve as they arrive)" >&2
echo "  Recommendations: curl -N -H 'Content-Type: application/json' -d '{\"query\":\"a gothic tale of a monster\"}' \\" >&2
echo "                     http://$host:$port/api/v1/recommendations" >&2
echo "  Model server:    ${LIBROMIND_LLM_URL:-none} ${LIBROMIND_LLM_MODEL:-}" >&2
echo "  Health:          http://$host:$port/readyz   Metrics: http://$host:$port/metrics" >&2
echo "  Admin account:   $admin_email (password in $secrets/admin-password)" >&2
echo "" >&2
# Not exec: the model server this script started is stopped when the service ends.
web_pid=
stop_web() { [ -z "$web_pid" ] || kill -TERM "$web_pid" 2>/dev/null || true; }
trap 'stop_web; stop_llm' EXIT
"$bin" serve &
serve_pid=$!
if [ "${LIBROMIND_WEB:-on}" != off ]; then
  LIBROMIND_API_URL="http://$host:$port" LIBROMIND_WEB_LISTEN="$web_listen" scripts/web.sh start &
  web_pid=$!
fi
trap 'kill -TERM "$serve_pid" 2>/dev/null; wait "$serve_pid"; exit 143' TERM
trap 'kill -INT "$serve_pid" 2>/dev/null; wait "$serve_pid"; exit 130' INT
wait "$serve_pid"
