#!/usr/bin/env bash
# The storefront (web/, Next.js). Usage:
#   scripts/web.sh install   # npm ci when node_modules is missing or older than package-lock.json
#   scripts/web.sh build     # install + next build when the sources changed since the last build
#   scripts/web.sh check     # install + API types fresh, ESLint, tsc, Vitest, next build (make test)
#   scripts/web.sh start     # build + next start (LIBROMIND_WEB_LISTEN, LIBROMIND_API_URL)
set -euo pipefail
cd "$(dirname "$0")/../web"
# No usage reports from Next.js (this machine reaches no such host anyway).
export NEXT_TELEMETRY_DISABLED=1

need_node() {
  command -v node >/dev/null && command -v npm >/dev/null || {
    echo "web: Node.js >= 20.9 and npm are needed for the storefront (https://nodejs.org)" >&2; exit 1; }
  node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=9)?0:1)' || {
    echo "web: Node.js $(node --version) is too old; the storefront (Next.js 16) needs >= 20.9" >&2; exit 1; }
}

install() {
  need_node
  if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    echo "web: installing the storefront's packages (npm ci)..." >&2
    npm ci --no-audit --no-fund --loglevel=error
  fi
}

build() {
  install
  local stamp=.next/BUILD_ID
  if [ ! -f "$stamp" ] || [ -n "$(find src ../api/openapi.yaml package-lock.json next.config.ts -newer "$stamp" -print -quit)" ]; then
    echo "web: building the storefront (next build)..." >&2
    npx next build >/dev/null
  fi
}

case "${1:-}" in
  install) install ;;
  build) build ;;
  check)
    install
    npm run --silent api:check
    npx eslint --max-warnings 0 .
    npx tsc --noEmit
    npx vitest run
    npx next build
    ;;
  start)
    build
    listen=${LIBROMIND_WEB_LISTEN:-127.0.0.1:3000}
    # exec node, not npx: the PID the caller holds is the server itself, so its TERM stops it.
    exec node node_modules/next/dist/bin/next start -H "${listen%:*}" -p "${listen##*:}"
    ;;
  *) echo "usage: $0 install|build|check|start" >&2; exit 2 ;;
esac
