#!/usr/bin/env bash
# The main job: installs what is missing, builds chromawal, and runs examples/failover_demo,
# which starts two real Chroma servers on free loopback ports (the log is the embedded SQLite
# default, as for a client with no log configured; --postgres starts a PostgreSQL for it instead),
# writes through chromawal, kills one instance with SIGKILL, keeps writing, restarts it,
# prints the status while it catches up (then the same for the primary), and ends by showing that both
# instances hold identical records. It runs the metrics listener on a free port, prints its
# address, and the answer of GET /health while chroma-b is down. Everything it starts is
# stopped when it ends.
# Usage: scripts/demo.sh [--postgres]
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=${CHROMAWAL_JOBS:-$(nproc)}

bash scripts/install-deps.sh
bash scripts/chroma.sh install
cmake -S . -B build/release -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build/release -j "$jobs" --target failover_demo >/dev/null
exec build/release/examples/failover_demo "$@"
