#!/usr/bin/env bash
# Installs the Debian packages Libro-Mind needs, only those missing. Usage:
#   scripts/setup.sh run     # build and run the service
#   scripts/setup.sh test    # + test tools (PostgreSQL, pytest, promtool, clang for libFuzzer, Chromium)
#   scripts/setup.sh bench   # + benchmark tools (wrk, nginx, Django baseline)
set -euo pipefail

profile=${1:-run}

run_pkgs=(g++ cmake ninja-build ccache pkg-config libboost-dev nlohmann-json3-dev libcli11-dev
  libsqlite3-dev sqlite3 libpq-dev zlib1g-dev libutf8proc-dev libopenblas-dev libssl-dev libsodium-dev curl
  libcurl4-openssl-dev libfaiss-dev liblapack-dev wordnet-base)
test_pkgs=(libgtest-dev libyaml-cpp-dev postgresql python3-pytest python3-requests python3-yaml
  python3-jsonschema prometheus clang libclang-rt-14-dev clang-format python3-aiosmtpd
  chromium fonts-liberation)
bench_pkgs=(wrk nginx-light python3-django python3-djangorestframework gunicorn python3-psycopg2
  libbenchmark-dev)

pkgs=("${run_pkgs[@]}")
case "$profile" in
  run) ;;
  test) pkgs+=("${test_pkgs[@]}") ;;
  bench) pkgs+=("${test_pkgs[@]}" "${bench_pkgs[@]}") ;;
  *) echo "usage: $0 run|test|bench" >&2; exit 2 ;;
esac

missing=()
for p in "${pkgs[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "setup: installing ${missing[*]}" >&2
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "setup: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
  sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
