#!/usr/bin/env bash
# Lints the C++ code:
#  1. clang-format: the formatting of every C++ file against .clang-format (no changes made);
#  2. clang-tidy: the checks in .clang-tidy on every lib/**/*.cpp (and, through its
#     HeaderFilterRegex, the headers of lib/ and include/chromawal/ they include), using a
#     compile database from a configure-only build tree, build/lint (nothing is compiled).
#     Any warning fails (WarningsAsErrors: '*'); the files that failed are named at the end.
#
# Usage: scripts/lint.sh [--fix] [--format-only]
#   --fix          reformat the files in place instead of checking the format (clang-tidy still
#                  only reports; it never edits)
#   --format-only  skip clang-tidy (quick local check); CI runs both
# Environment: CHROMAWAL_JOBS    parallel clang-tidy processes (default: number of cores)
#              CLANG_TIDY        the clang-tidy binary (default: clang-tidy-14, else clang-tidy)
set -euo pipefail
cd "$(dirname "$0")/.."

fix=0
tidy=1
for arg in "$@"; do
  case "$arg" in
    --fix) fix=1 ;;
    --format-only) tidy=0 ;;
    -h | --help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "lint.sh: unknown option '$arg' (--fix, --format-only)" >&2; exit 2 ;;
  esac
done

# --- clang-format -------------------------------------------------------------------------
command -v clang-format >/dev/null || { echo "lint.sh: clang-format not found (scripts/install-deps.sh --dev)" >&2; exit 1; }
mapfile -t files < <(git ls-files '*.cpp' '*.hpp' '*.h' 2>/dev/null || find include lib tests examples bench tools -name '*.[ch]pp')
if [ "${#files[@]}" -gt 0 ]; then
  if [ "$fix" = 1 ]; then
    clang-format -i "${files[@]}"
  else
    clang-format --dry-run -Werror "${files[@]}"
  fi
fi
[ "$tidy" = 1 ] || exit 0

# --- clang-tidy ---------------------------------------------------------------------------
tidy_bin=${CLANG_TIDY:-$(command -v clang-tidy-14 || command -v clang-tidy || true)}
[ -n "$tidy_bin" ] || { echo "lint.sh: clang-tidy not found (scripts/install-deps.sh --dev)" >&2; exit 1; }
jobs=${CHROMAWAL_JOBS:-$(nproc)}
build=build/lint

# Configure only: the compile database is all clang-tidy needs. The library's targets only,
# with the same flags as a real build.
cmake -S . -B "$build" -DCMAKE_EXPORT_COMPILE_COMMANDS=ON -DCHROMAWAL_BUILD_TESTS=OFF \
  -DCHROMAWAL_BUILD_EXAMPLES=OFF -DCHROMAWAL_BUILD_BENCH=OFF -DCHROMAWAL_BUILD_TOOLS=OFF \
  -DCHROMAWAL_INSTALL=OFF >/dev/null

mapfile -t sources < <(git ls-files 'lib/*.cpp' 2>/dev/null || find lib -name '*.cpp')
[ "${#sources[@]}" -gt 0 ] || exit 0

# GCC's default dialect is gnu++17, so CMake writes no -std flag for cxx_std_17; clang 14's
# default is gnu++14, hence the explicit -std. GCC's standard library headers are found by
# clang's default toolchain detection (checked: /usr/include/c++/12).
export LINT_TIDY_BIN="$tidy_bin" LINT_BUILD="$build"
log_dir=$(mktemp -d)
trap 'rm -rf "$log_dir"' EXIT
export LINT_LOG_DIR="$log_dir"
status=0
start=$(date +%s)
echo "lint.sh: clang-tidy on ${#sources[@]} files ($jobs in parallel)"
printf '%s\0' "${sources[@]}" | xargs -0 -n 1 -P "$jobs" bash -c '
  f=$1
  if out=$("$LINT_TIDY_BIN" -p "$LINT_BUILD" --quiet --extra-arg=-std=gnu++17 "$f" 2>&1); then
    exit 0
  fi
  printf "%s\n" "$out" | grep -v -e "^[0-9]* warnings\? \(and [0-9]* errors\? \)\?generated\.$" \
    -e "^Suppressed [0-9]* warnings" -e "^Use -header-filter=" >&2 || true
  echo "$f" >>"$LINT_LOG_DIR/failed"
  echo "lint.sh: clang-tidy FAILED: $f" >&2
  exit 1
' _ || status=$?
echo "lint.sh: clang-tidy took $(($(date +%s) - start)) s"
if [ -s "$log_dir/failed" ]; then
  echo "lint.sh: clang-tidy found problems in:" >&2
  sort "$log_dir/failed" | sed 's/^/  /' >&2
  exit 1
fi
[ "$status" = 0 ] || { echo "lint.sh: clang-tidy did not run (xargs exit status $status)" >&2; exit 1; }
