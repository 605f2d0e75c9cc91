#!/usr/bin/env bash
# Builds the libFuzzer targets (preset `fuzz`) and runs each for SECONDS (default 30) on a copy
# of its seed corpus in a temporary directory, so the repository is never modified. Exits non-zero
# when a target crashes, leaks, times out or breaks an invariant; the reproducer is kept and named.
#
#   scripts/run-fuzzers.sh        # 30 s per target
#   scripts/run-fuzzers.sh 300    # 5 min per target
set -euo pipefail

seconds="${1:-30}"
if ! [[ "$seconds" =~ ^[0-9]+$ ]] || [ "$seconds" -eq 0 ]; then
  echo "usage: $0 [SECONDS]  (a positive whole number of seconds per target)" >&2
  exit 2
fi

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
# Every target tests/fuzz/CMakeLists.txt registers with lm_add_fuzzer, so a new one is run too.
mapfile -t targets < <(sed -n 's/^lm_add_fuzzer(\([A-Za-z0-9_]*\) .*/\1/p' tests/fuzz/CMakeLists.txt)
if [ "${#targets[@]}" -eq 0 ]; then
  echo "no lm_add_fuzzer targets in tests/fuzz/CMakeLists.txt" >&2
  exit 1
fi

cmake --preset fuzz >/dev/null
# Only the fuzz targets: the rest of the service is not needed here.
cmake --build --preset fuzz --target fuzzers

work="$(mktemp -d "${TMPDIR:-/tmp}/libromind-fuzz.XXXXXX")"
failed=()
for target in "${targets[@]}"; do
  corpus_name="${target#fuzz_}"
  corpus="$work/corpus-$corpus_name"
  artifacts="$work/artifacts-$corpus_name/"
  mkdir -p "$corpus" "$artifacts"
  cp -R "tests/fuzz/corpus/$corpus_name/." "$corpus/"
  echo "== $target: ${seconds}s"
  if ! "build/fuzz/tests/fuzz/$target" "$corpus" \
      -max_total_time="$seconds" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
      -artifact_prefix="$artifacts" -print_final_stats=1 >"$work/$target.log" 2>&1; then
    failed+=("$target")
    echo "!! $target failed; log: $work/$target.log; reproducer(s):" >&2
    ls "$artifacts" >&2 || true
    tail -n 40 "$work/$target.log" >&2
  else
    grep -E "^(stat::number_of_executed_units|stat::peak_rss_mb)|^Done" "$work/$target.log" || true
  fi
done

if [ "${#failed[@]}" -ne 0 ]; then
  echo "FAILED: ${failed[*]} (work directory kept: $work)" >&2
  exit 1
fi
rm -rf "$work"
echo "all fuzz targets ran ${seconds}s without a crash"
