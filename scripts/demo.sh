#!/usr/bin/env bash
# The main job: installs what is missing, builds chromawal, starts a real Chroma server on a
# free loopback port with a throwaway data folder, runs the quickstart against it, stops it.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=${CHROMAWAL_JOBS:-$(nproc)}

bash scripts/install-deps.sh
bash scripts/chroma.sh install
cmake -S . -B build/release -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build/release -j "$jobs" --target quickstart >/dev/null

work=$(mktemp -d)
trap 'bash scripts/chroma.sh stop --pidfile "$work/pid" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
port=$(bash scripts/chroma.sh free-port)
bash scripts/chroma.sh start --port "$port" --path "$work/data" --pidfile "$work/pid" --log "$work/chroma.log"
echo "Chroma server running on 127.0.0.1:$port"
build/release/examples/quickstart "http://127.0.0.1:$port"
