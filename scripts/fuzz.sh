#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/, clang with ASan + UBSan) in build/fuzz and runs each one
# for N seconds on its seed corpus (fuzz/corpus/<target>, read only; what the fuzzer finds goes
# to build/fuzz/corpus/<target>). Exits non-zero on any crash, sanitizer report, leak or
# timeout, leaving the input in build/fuzz/artifacts/.
#
# Usage: scripts/fuzz.sh [seconds]     (per target; default 20)
# Environment: CHROMAWAL_FUZZ_BUILD_DIR  build tree (default build/fuzz)
#              CHROMAWAL_JOBS            parallel build jobs (default: number of cores)
# Reproduce a crash: build/fuzz/fuzz/<target> build/fuzz/artifacts/<target>-crash-...
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-20}
build=${CHROMAWAL_FUZZ_BUILD_DIR:-build/fuzz}
jobs=${CHROMAWAL_JOBS:-$(nproc)}
targets=(fuzz_response_decoder fuzz_config fuzz_filters fuzz_redact)

die() { echo "fuzz.sh: error: $*" >&2; exit 1; }
[[ "$seconds" =~ ^[0-9]+$ ]] && [ "$seconds" -gt 0 ] || die "seconds must be a positive integer, got '$seconds'"
command -v clang >/dev/null 2>&1 && command -v clang++ >/dev/null 2>&1 \
  || die "clang not found: run scripts/install-deps.sh --dev"

CC=clang CXX=clang++ cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCHROMAWAL_BUILD_FUZZERS=ON -DCHROMAWAL_SANITIZE=address,undefined \
  -DCHROMAWAL_BUILD_TESTS=OFF -DCHROMAWAL_BUILD_EXAMPLES=OFF -DCHROMAWAL_BUILD_BENCH=OFF \
  -DCHROMAWAL_INSTALL=OFF >/dev/null
cmake --build "$build" -j "$jobs" --target "${targets[@]}"

mkdir -p "$build/artifacts"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
failed=()
for t in "${targets[@]}"; do
  mkdir -p "$build/corpus/$t"
  dict=()
  case "$t" in fuzz_response_decoder|fuzz_filters) dict=(-dict=fuzz/json.dict) ;; esac
  echo "==> $t: ${seconds} s"
  if ! "$build/fuzz/$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
      "${dict[@]}" -artifact_prefix="$build/artifacts/$t-" "$build/corpus/$t" "fuzz/corpus/$t" \
      >"$build/$t.log" 2>&1; then
    tail -n 60 "$build/$t.log" >&2
    failed+=("$t")
  else
    grep -E '^(stat::number_of_executed_units|stat::new_units_added)' "$build/$t.log" | tr '\n' ' '
    echo
  fi
done
[ "${#failed[@]}" -eq 0 ] || die "crash in: ${failed[*]} (inputs in $build/artifacts/)"
echo "fuzz.sh: no crash in ${targets[*]} (${seconds} s each)"
