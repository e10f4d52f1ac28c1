#!/usr/bin/env bash
# Replication benchmark: chromawal writing to two Chroma servers through its log, once with
# the PostgreSQL log and once with an SQLite log, against a direct write to one server and a
# naive parallel write to both; 8 writers at batch 10, a pipelined single writer, a collection
# that already holds 50k records; busy cores, CPU per record of each process, PostgreSQL
# statements and WAL flushes per write; catch-up after an outage through each log against a
# direct ingest of the same request size; restart-command-to-converged time; log appends per
# second of each store with real entries. Ratios from the same run, and the goals met or not.
# See docs/benchmarks.md ("Replication", "SQLite and PostgreSQL logs").
#
# Usage:
#   bench/run_replication_bench.sh [PATH/TO/chromawal_replication_bench] [-- BENCH FLAGS...]
#       (default binary: build/release/bench/chromawal_replication_bench; this script builds
#        nothing. Build it with, e.g.:
#          cmake -S . -B build/release -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCHROMAWAL_BUILD_TESTS=OFF
#          cmake --build build/release --target chromawal_replication_bench -j)
#
# The program starts its own PostgreSQL (scripts/postgres.sh) and two Chroma servers
# (scripts/chroma.sh) in temporary directories, makes a folder for its SQLite logs, and removes
# them all at the end.
#
# Environment (defaults in brackets), passed on as flags:
#   ROUNDS [3]          rounds of part 1 (its cases in rotating order)
#   RECORDS [5000]  DIM [384]  BATCH [100]   the single-writer cases of part 1
#   SMALL_RECORDS [2000]  SMALL_BATCH [10]  WRITERS [8]   the many-writers cases of part 1
#   WINDOW [8]          writes in flight in the pipelined case (needs collection::add_async)
#   PRELOAD [50000]     records in the collection of the preloaded cases (0: leave them out)
#   BACKLOG [10000]     records written while an instance is down (part 2)
#   SMALL_BACKLOG [20]  entries written while an instance is down (part 3)  REPEATS [5]
#   APPEND_SECONDS [3]  APPEND_THREADS [1,4,16]   (part 4)
#   PARTS [1234]        which parts to run
#   STORES [postgresql,sqlite]  the log stores of parts 1, 2 and 4 (part 3 uses the first)
#   CHROMAWAL_TEST_TMP  where the servers' temporary directories go [/tmp]; the script
#                       makes a private folder there and removes it (and stops any
#                       PostgreSQL left in it) at the end, also after an interruption
#   CHROMAWAL_CACHE_DIR where scripts/chroma.sh caches the Chroma server
# Takes about 16-24 minutes on a loaded 2-core machine with the defaults (both stores; 3-4 of
# them for the 50k-record preload), 13-14 with STORES=postgresql; PRELOAD=0 saves the preload.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"

bin="$root/build/release/bench/chromawal_replication_bench"
if [ $# -gt 0 ] && [ "$1" != "--" ]; then bin="$1"; shift; fi
if [ $# -gt 0 ] && [ "$1" = "--" ]; then shift; fi

die() { echo "run_replication_bench.sh: error: $*" >&2; exit 1; }

[ -x "$bin" ] || die "benchmark binary '$bin' not found or not executable (build the target chromawal_replication_bench, or pass its path)"
[ -f "$root/scripts/chroma.sh" ] || die "$root/scripts/chroma.sh not found"
[ -f "$root/scripts/postgres.sh" ] || die "$root/scripts/postgres.sh not found"

ROUNDS="${ROUNDS:-3}"
RECORDS="${RECORDS:-5000}"
SMALL_RECORDS="${SMALL_RECORDS:-2000}"
SMALL_BATCH="${SMALL_BATCH:-10}"
WRITERS="${WRITERS:-8}"
WINDOW="${WINDOW:-8}"
PRELOAD="${PRELOAD:-50000}"
DIM="${DIM:-384}"
BATCH="${BATCH:-100}"
BACKLOG="${BACKLOG:-10000}"
SMALL_BACKLOG="${SMALL_BACKLOG:-20}"
REPEATS="${REPEATS:-5}"
APPEND_SECONDS="${APPEND_SECONDS:-3}"
APPEND_THREADS="${APPEND_THREADS:-1,4,16}"
PARTS="${PARTS:-1234}"
STORES="${STORES:-postgresql,sqlite}"
[[ "$PRELOAD" =~ ^[0-9]+$ ]] || die "PRELOAD must be a non-negative integer, got '$PRELOAD'"
for v in ROUNDS RECORDS DIM BATCH SMALL_RECORDS SMALL_BATCH WRITERS WINDOW BACKLOG SMALL_BACKLOG REPEATS APPEND_SECONDS; do
  [[ "${!v}" =~ ^[1-9][0-9]*$ ]] || die "$v must be a positive integer, got '${!v}'"
done
[[ "$APPEND_THREADS" =~ ^[1-9][0-9]*(,[1-9][0-9]*)*$ ]] || die "APPEND_THREADS must be a comma-separated list of positive integers"
[[ "$PARTS" =~ ^[1-4]+$ ]] || die "PARTS must be made of the digits 1-4"
[[ "$STORES" =~ ^(postgresql|sqlite)(,(postgresql|sqlite))?$ ]] || die "STORES must be postgresql, sqlite or both, comma-separated"

# The servers find the repository's scripts through this (the compiled-in path may be stale
# when the binary was built from another checkout).
export CHROMAWAL_SOURCE_DIR="${CHROMAWAL_SOURCE_DIR:-$root}"

# The servers' directories go into a private folder, so that whatever an interrupted run leaves
# (a PostgreSQL cluster outlives a killed parent; Chroma does not) is stopped and removed here.
tmp="$(mktemp -d "${CHROMAWAL_TEST_TMP:-${TMPDIR:-/tmp}}/chromawal-repl-bench.XXXXXX")"
chmod 0755 "$tmp"  # PostgreSQL runs as user postgres when we are root
cleanup() {
  local d
  for d in "$tmp"/chromawal-pg-*/cluster; do
    [ -d "$d" ] && bash "$root/scripts/postgres.sh" stop "$d" immediate >/dev/null 2>&1 || true
  done
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
export CHROMAWAL_TEST_TMP="$tmp"

echo "binary:   $bin"
echo "os:       $( (. /etc/os-release 2>/dev/null && echo "${PRETTY_NAME:-unknown}") || echo unknown)"
"$bin" --rounds "$ROUNDS" --records "$RECORDS" --dim "$DIM" --batch "$BATCH" --small-records "$SMALL_RECORDS" \
  --small-batch "$SMALL_BATCH" --writers "$WRITERS" --window "$WINDOW" --preload "$PRELOAD" --backlog "$BACKLOG" \
  --small-backlog "$SMALL_BACKLOG" --repeats "$REPEATS" --append-seconds "$APPEND_SECONDS" \
  --append-threads "$APPEND_THREADS" --parts "$PARTS" --stores "$STORES" "$@"
