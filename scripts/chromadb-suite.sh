#!/usr/bin/env bash
# Runs the official chromadb 1.5.9 client's own tests (chromadb/test/ from its source
# distribution, unchanged) against real Chroma servers three times: with the official
# chromadb.HttpClient (the reference), with chromawal.HttpClient and with the replicated
# chromawal.Client (two servers, an SQLite log), and compares: for each chromawal client, at
# least 95% of the tests that pass with the official client must pass. The work is done by
# tests/chromadb_suite/run.py (its --help lists the options); docs/python.md, "chromadb's own
# client tests", says what is run and what fails.
#
# Usage: scripts/chromadb-suite.sh [--python PY] [run.py options...] [-- pytest options...]
#
# Environment:
#   CHROMADB_SUITE_PYTHON  the interpreter (default: python3); it needs chromadb-client, pytest and
#                          hypothesis (packaging/requirements-test.txt), chromawal, and
#                          tests/chromadb_suite/requirements.txt. --python overrides it.
#   CHROMADB_SUITE_SDIST   a local copy of chromadb-1.5.9.tar.gz to use instead of downloading it
#                          from PyPI (its sha256 is checked all the same)
# Needs the Chroma server (scripts/chroma.sh install). Everything goes under build/chromadb-suite/.
# Exit status: 0 when both chromawal clients reach 95%, 1 when one does not or when the official
# run breaks down (fewer than 100 tests passed), 2 on a setup error.
set -euo pipefail
cd "$(dirname "$0")/.."

python="${CHROMADB_SUITE_PYTHON:-python3}"
if [ "${1:-}" = --python ]; then
  [ $# -ge 2 ] || { echo "chromadb-suite.sh: error: --python needs a value" >&2; exit 2; }
  python="$2"
  shift 2
fi
export ANONYMIZED_TELEMETRY=False
exec "$python" tests/chromadb_suite/run.py "$@"
