#!/usr/bin/env bash
# Runs the official chromadb 1.5.9 client's own tests (chromadb/test/ from its source
# distribution, unchanged) against real Chroma servers three times: with the official
# chromadb.HttpClient (the reference), with chromawal.HttpClient and with the replicated
# chromawal.Client (two servers, an SQLite log), and compares: for each chromawal client, at
# least 95% of the tests that pass with the official client must pass. See
# tests/chromadb_suite/run.py and docs/python.md ("chromadb's own client tests").
#
# Usage:
#   scripts/chromadb-suite.sh [--python PY] [run.py options...]
#   scripts/chromadb-suite.sh serve CONFIG.yaml     (internal: one server, foreground, exec)
#
# Environment:
#   CHROMADB_SUITE_PYTHON  the interpreter (default: python3), with chromadb-client, pytest,
#                          hypothesis, chromawal and tests/chromadb_suite/requirements.txt
#   CHROMADB_SUITE_SDIST   a local copy of the sdist to use instead of downloading it (its
#                          sha256 is checked all the same)
# Everything goes under build/chromadb-suite/.
set -euo pipefail
cd "$(dirname "$0")/.."

die() { echo "chromadb-suite.sh: error: $*" >&2; exit 1; }

# A Chroma server started from a configuration file. scripts/chroma.sh starts servers with
# `chroma run --path --host --port`, and the Chroma CLI takes allow_reset (which the official
# client's reset() needs) only from a configuration file, which it refuses together with those
# options. So this starts the same installed server the way chroma.sh's `run` does (its install,
# and its private glibc loader on hosts older than glibc 2.39), with the file instead.
serve() {
  [ $# -eq 1 ] || die "serve takes one argument: the configuration file"
  local config="$1"
  [ -f "$config" ] || die "no configuration file $config"
  # Sourcing chroma.sh with "install" installs the server if needed and defines its helpers
  # (CHROMA_DIR, need_loader, glibc_loader, multiarch), which this reuses.
  # shellcheck source=scripts/chroma.sh
  source scripts/chroma.sh install
  local bin script node
  bin="$CHROMA_DIR/node_modules/.bin/chroma"
  script="$(readlink -f "$bin")" || die "cannot resolve $bin"
  case "$script" in *.js|*.mjs|*.cjs) ;; *) die "$script is not a node script" ;; esac
  node="$(readlink -f "$(command -v node)")" || die "node not found"
  if ! need_loader; then
    exec "$node" "$script" run "$config"
  fi
  local loader
  loader="$(glibc_loader)" || die "the private glibc loader is missing (run scripts/chroma.sh install)"
  exec "$loader" --library-path "$GLIBC_DIR/usr/lib/$(multiarch):/usr/lib/$(multiarch)" "$node" "$script" run "$config"
}

if [ "${1:-}" = serve ]; then
  shift
  serve "$@"
fi

python="${CHROMADB_SUITE_PYTHON:-python3}"
if [ "${1:-}" = --python ]; then
  [ $# -ge 2 ] || die "--python needs a value"
  python="$2"
  shift 2
fi
export ANONYMIZED_TELEMETRY=False
exec "$python" tests/chromadb_suite/run.py "$@"
