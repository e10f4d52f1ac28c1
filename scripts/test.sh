#!/usr/bin/env bash
# Runs every test on a fresh Debian machine: installs what is missing, builds a developer
# build with warnings as errors and ASan+UBSan, an optimised build that is also installed and
# consumed, a shared-library build (its exported symbols checked), a TSan build and the
# fuzzers, and runs the unit tests, the integration tests against real Chroma servers and
# PostgreSQL that the tests start themselves, and the consumer project test; then the packages
# people install (scripts/test-packages.sh: Conan, vcpkg layout, pip, wheel; needs PyPI).
# Exits non-zero on any failure.
#
# Usage: scripts/test.sh            (from anywhere; build trees go to ./build/)
# Environment: CHROMAWAL_CACHE_DIR  where the Chroma server is installed (default ~/.cache/chromawal)
#              CHROMAWAL_JOBS       parallel build jobs (default: number of cores)
#              CHROMAWAL_LONG=1     long forms of the torture (200 kills) and concurrency (600 ops/thread) tests
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
jobs=${CHROMAWAL_JOBS:-$(nproc)}
if [ "${CHROMAWAL_LONG:-0}" = 1 ]; then
  export CHROMAWAL_TORTURE_KILLS="${CHROMAWAL_TORTURE_KILLS:-200}"
  export CHROMAWAL_CONCURRENCY_OPS="${CHROMAWAL_CONCURRENCY_OPS:-600}"
fi

step() { printf '\n==> %s\n' "$*"; }

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

step "release build: examples, benchmarks, install + find_package / pkg-config consumers"
cmake -S . -B build/release -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCHROMAWAL_WERROR=ON >/dev/null
cmake --build build/release -j "$jobs"
(cd build/release && ctest --output-on-failure --no-tests=error)

step "shared library: BUILD_SHARED_LIBS=ON, unit tests, install + consumers, exported symbols"
# The programs built here that use only the public headers link the shared library, so a public
# function or class left without CHROMAWAL_API fails to link; the install consumer runs one
# (exceptions caught across the library boundary). The unit tests link chromawal_internal.
cmake -S . -B build/shared -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCHROMAWAL_WERROR=ON -DBUILD_SHARED_LIBS=ON >/dev/null
cmake --build build/shared -j "$jobs" --target chromawal chromawal_cli chromawal_unit_tests quickstart \
  torture_writer concurrent_writer chromawal_client_bench
(cd build/shared && ctest --output-on-failure --no-tests=error -R 'unit|install_consumer')
bash scripts/check-exports.sh build/shared/libchromawal.so

step "ThreadSanitizer: unit tests, replication tests, concurrent writers"
cmake -S . -B build/tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCHROMAWAL_WERROR=ON -DCHROMAWAL_SANITIZE=thread \
  -DCHROMAWAL_BUILD_BENCH=OFF -DCHROMAWAL_BUILD_EXAMPLES=OFF -DCHROMAWAL_INSTALL=OFF >/dev/null
cmake --build build/tsan -j "$jobs" --target chromawal_unit_tests chromawal_integration_tests chromawal_concurrency_test
(cd build/tsan && export TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" &&
  tests/chromawal_unit_tests && tests/chromawal_integration_tests "[replication]" &&
  CHROMAWAL_TEST_LOG_STORE=sqlite tests/chromawal_integration_tests "[replication]~[postgresql]" &&
  tests/torture/chromawal_concurrency_test)

step "fuzzing: libFuzzer targets, 20 s each"
bash scripts/fuzz.sh 20

step "Python bindings: pip install (no package index), pytest against real servers, example"
CHROMAWAL_PY_BUILD_DIR="$root/build/python/cmake" CHROMAWAL_JOBS="$jobs" \
  /usr/bin/python3 -m pip install -q --no-build-isolation --no-index --no-deps --upgrade \
  --target build/python/site ./bindings/python
PYTHONPATH="$root/build/python/site" /usr/bin/python3 -m pytest -q -p no:cacheprovider bindings/python/tests
PYTHONPATH="$root/build/python/site" /usr/bin/python3 examples/python/ingest.py

step "packages: docs/install.md's routes (CMake, pkg-config, Conan, vcpkg layout, pip, wheel + auditwheel)"
# Packaging tools from PyPI (pinned) into build/pkg/venv; reuses build/python/cmake from above.
CHROMAWAL_JOBS="$jobs" bash scripts/test-packages.sh

step "all tests passed"
