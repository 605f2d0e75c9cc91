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

host=${LIBROMIND_LISTEN%:*}
port=${LIBROMIND_LISTEN##*:}
echo "" >&2
echo "  Libro-Mind API:  http://$host:$port/api/v1/books" >&2
echo "  Search:          http://$host:$port/api/v1/search?q=whaling+voyages+in+the+arctic" >&2
echo "  Search status:   http://$host:$port/api/v1/search/status  (book vectors are computed in" >&2
echo "                   the background on the first run: dense results improve as they arrive)" >&2
echo "  Health:          http://$host:$port/readyz   Metrics: http://$host:$port/metrics" >&2
echo "  Admin account:   $admin_email (password in $secrets/admin-password)" >&2
echo "" >&2
exec "$bin" serve
