#!/usr/bin/env bash
# Runs every test on a fresh Debian machine: installs what is missing, builds a developer
# build with warnings as errors and ASan+UBSan and runs every C++ test in it (unit, the
# integration, torture and concurrency tests against real Chroma servers and PostgreSQL that
# the tests start themselves, once per log store, and the demos); an optimised shared-library
# build (examples, benchmarks, exported symbols checked, installed and consumed, the demos); a
# TSan build (unit, replication, concurrency) and the fuzzers; then the packages people install
# (scripts/test-packages.sh: CMake, pkg-config, Conan, vcpkg layout, pip, the wheel with the
# Python test suite and example against it, the offline Debian route; needs PyPI).
# Each test runs once, in the build that can find the most in it. Exits non-zero on any failure.
#
# Usage: scripts/test.sh            (from anywhere; build trees go to ./build/)
# Environment: CHROMAWAL_CACHE_DIR  where the Chroma server is installed (default ~/.cache/chromawal)
#              CHROMAWAL_JOBS       parallel build jobs (default: number of cores)
#              CHROMAWAL_LONG=1     long forms of the torture (200 kills) and concurrency (600 ops/thread) tests
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=${CHROMAWAL_JOBS:-$(nproc)}
if [ "${CHROMAWAL_LONG:-0}" = 1 ]; then
  export CHROMAWAL_TORTURE_KILLS="${CHROMAWAL_TORTURE_KILLS:-200}"
  export CHROMAWAL_CONCURRENCY_OPS="${CHROMAWAL_CONCURRENCY_OPS:-600}"
fi

step_start=$SECONDS
step() {
  printf '\n(%d s)\n==> %s\n' "$((SECONDS - step_start))" "$*"
  step_start=$SECONDS
}

step "dependencies"
bash scripts/install-deps.sh --dev --python
bash scripts/chroma.sh install

step "lint: clang-format, clang-tidy"
bash scripts/lint.sh

step "developer build: -Werror, ASan + UBSan"
cmake -S . -B build/asan -DCMAKE_BUILD_TYPE=Debug -DCHROMAWAL_WERROR=ON \
  -DCHROMAWAL_SANITIZE=address,undefined -DCHROMAWAL_BUILD_BENCH=OFF >/dev/null
cmake --build build/asan -j "$jobs"
(cd build/asan && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --output-on-failure --no-tests=error)

step "release build, shared: examples, benchmarks, exported symbols, install + consumers, demos"
# BUILD_SHARED_LIBS=ON: the programs built here that use only the public headers link the shared
# library, so a public function or class left without CHROMAWAL_API fails to link; the install
# consumer runs one (exceptions caught across the library boundary). The tests link
# chromawal_internal (the same objects, static). The integration, torture and concurrency tests
# ran under ASan above; a static release build is the vcpkg and Conan package steps' own.
cmake -S . -B build/release -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCHROMAWAL_WERROR=ON -DBUILD_SHARED_LIBS=ON >/dev/null
cmake --build build/release -j "$jobs"
(cd build/release && ctest --output-on-failure --no-tests=error -R '^(unit|install_consumer|demo.*)$')
bash scripts/check-exports.sh build/release/libchromawal.so

step "ThreadSanitizer: unit tests, replication tests, concurrent writers"
cmake -S . -B build/tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCHROMAWAL_WERROR=ON -DCHROMAWAL_SANITIZE=thread \
  -DCHROMAWAL_BUILD_BENCH=OFF -DCHROMAWAL_BUILD_EXAMPLES=OFF -DCHROMAWAL_INSTALL=OFF >/dev/null
cmake --build build/tsan -j "$jobs" --target chromawal_unit_tests chromawal_integration_tests chromawal_concurrency_test
(cd build/tsan && export TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 suppressions=$PWD/../../tests/tsan.supp" &&
  tests/chromawal_unit_tests && tests/chromawal_integration_tests "[replication]" &&
  CHROMAWAL_TEST_LOG_STORE=sqlite tests/chromawal_integration_tests "[replication]~[postgresql]" &&
  tests/torture/chromawal_concurrency_test)

step "fuzzing: libFuzzer targets, 20 s each"
bash scripts/fuzz.sh 20

step "packages: docs/install.md's routes (CMake, pkg-config, Conan, vcpkg layout, pip, wheel + auditwheel + the Python tests)"
# Packaging tools from PyPI (pinned) into build/pkg/venv. The Python test suite and example run
# here, against the installed repaired wheel.
CHROMAWAL_JOBS="$jobs" bash scripts/test-packages.sh

step "all tests passed"
