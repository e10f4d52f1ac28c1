#!/usr/bin/env bash
# Client benchmark: chromawal vs the official JavaScript client (npm chromadb 3.5.0),
# against one fresh Chroma server, in one run. See docs/benchmarks.md.
#
# Usage:
#   bench/run_client_bench.sh [PATH/TO/chromawal_client_bench]
#       (default: build/bench/chromawal_client_bench; this script builds nothing)
#
# Environment (defaults in brackets):
#   ROUNDS [3]        rounds; each runs both benches, each on a fresh collection, the JS
#                     bench first in odd rounds and the chromawal bench first in even ones
#                     (so that drift and the first run's position hit both clients alike).
#                     Before each run, and in each program before each phase, the server
#                     must be idle: under 0.1 of a core for a second (/proc/PID/stat).
#   RECORDS [10000]  DIM [384]  BATCH [100]  QUERIES [200]
#   CHROMAWAL_CACHE_DIR   where scripts/chroma.sh caches the server (and the chromadb package
#                         the JS bench imports)
#   KEEP_TMP=1        keep the server's data folder and the raw outputs
#
# Prints every RESULT line, then a summary: the median over rounds of records/s and client
# CPU µs per record for each client and phase, and chromawal's ratio to the JS client, and
# the server's CPU µs per record during each client's phase (read from /proc/PID/stat).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
chroma_sh="$root/scripts/chroma.sh"

bin="${1:-$root/build/bench/chromawal_client_bench}"
ROUNDS="${ROUNDS:-3}"
RECORDS="${RECORDS:-10000}"
DIM="${DIM:-384}"
BATCH="${BATCH:-100}"
QUERIES="${QUERIES:-200}"

die() { echo "run_client_bench.sh: error: $*" >&2; exit 1; }

[ -x "$bin" ] || die "benchmark binary '$bin' not found or not executable (build the target chromawal_client_bench, or pass its path)"
command -v node >/dev/null 2>&1 || die "node not found (run scripts/install-deps.sh)"
[ -x "$chroma_sh" ] || [ -f "$chroma_sh" ] || die "$chroma_sh not found"
for v in ROUNDS RECORDS DIM BATCH QUERIES; do
  [[ "${!v}" =~ ^[1-9][0-9]*$ ]] || die "$v must be a positive integer, got '${!v}'"
done

# --- the machine ----------------------------------------------------------------------------
echo "== machine"
echo "cpus:    $(nproc) online ($(getconf _NPROCESSORS_CONF 2>/dev/null || echo '?') configured)"
echo "cpu:     $(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo 2>/dev/null || echo unknown)"
echo "memory:  $(awk '/^MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo 2>/dev/null || echo unknown)"
echo "kernel:  $(uname -srm)"
if [ -r /etc/os-release ]; then echo "os:      $(. /etc/os-release && echo "${PRETTY_NAME:-$ID}")"; fi
echo "node:    $(node --version)"
echo "load:    $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo unknown)"
echo "workload: $RECORDS records x $DIM dims, batches of $BATCH; $QUERIES queries (n_results 10); $ROUNDS rounds"

# --- a fresh server -------------------------------------------------------------------------
bash "$chroma_sh" install
tmp="$(mktemp -d "${TMPDIR:-/tmp}/chromawal-bench.XXXXXX")"
pidfile="$tmp/chroma.pid"
cleanup() {
  bash "$chroma_sh" stop --pidfile "$pidfile" || true
  if [ "${KEEP_TMP:-0}" = 1 ]; then echo "kept $tmp" >&2; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
port="$(bash "$chroma_sh" free-port)"
bash "$chroma_sh" start --port "$port" --path "$tmp/data" --pidfile "$pidfile" --log "$tmp/chroma.log"
url="http://127.0.0.1:$port"
echo "server:  chroma (npm chromadb 3.5.0) at $url, data in $tmp/data"

# --- the runs -------------------------------------------------------------------------------
server_pid="$(cat "$pidfile")"
export CHROMAWAL_CLK_TCK="$(getconf CLK_TCK 2>/dev/null || echo 100)"
common=(--url "$url" --records "$RECORDS" --dim "$DIM" --batch "$BATCH" --queries "$QUERIES" --server-pid "$server_pid")
out="$tmp/results.txt"
: >"$out"
run_one() {  # run_one LABEL COMMAND...
  local label="$1"; shift
  local log="$tmp/$label.out"
  if ! "$@" >"$log" 2>&1; then
    cat "$log" >&2
    die "$label failed"
  fi
  grep -E '^(RESULT|CHECK) ' "$log" | tee -a "$out"
}
# Waits until the server is idle: under 0.1 of a core in every 200 ms window for a second in a
# row (Chroma goes on indexing after add has returned), giving up after 90 s.
cpu_ticks() {  # user + system clock ticks of a process (fields 14 and 15 of /proc/PID/stat)
  local s
  s="$(cat "/proc/$1/stat" 2>/dev/null)" || { echo -1; return; }
  s="${s##*) }"
  # shellcheck disable=SC2086
  set -- $s
  echo $(( ${12} + ${13} ))
}
wait_idle() {
  local pid="$1" tck="$CHROMAWAL_CLK_TCK" start now quiet_since c0 c1
  start="$(date +%s%N)"; quiet_since="$start"; c0="$(cpu_ticks "$pid")"
  while :; do
    sleep 0.2
    c1="$(cpu_ticks "$pid")"; now="$(date +%s%N)"
    [ "$c0" -ge 0 ] && [ "$c1" -ge 0 ] || return 0
    # busy when at least 0.1 core over the 0.2 s window: (c1 - c0) / tck >= 0.02
    if [ $(( (c1 - c0) * 50 )) -ge "$tck" ]; then quiet_since="$now"; fi
    c0="$c1"
    [ $(( now - quiet_since )) -ge 1000000000 ] && return 0
    if [ $(( now - start )) -ge 90000000000 ]; then echo "(server still busy after 90 s; going on)" >&2; return 0; fi
  done
}
echo "== runs"
for r in $(seq "$ROUNDS"); do
  order=(js chromawal)
  if [ $((r % 2)) = 0 ]; then order=(chromawal js); fi
  for client in "${order[@]}"; do
    wait_idle "$server_pid"
    if [ "$client" = js ]; then
      run_one "js-$r" node "$here/js/client_bench.mjs" "${common[@]}" --collection "bench_js_r$r"
    else
      run_one "chromawal-$r" "$bin" "${common[@]}" --collection "bench_chromawal_r$r"
    fi
  done
done

# Both clients must have generated the same data.
digests="$(awk '/^CHECK / { for (i = 2; i <= NF; i++) if ($i ~ /^data=/) print $i }' "$out" | sort -u | wc -l)"
[ "$digests" = 1 ] || die "the two clients generated different data (CHECK data= differs)"

# --- summary --------------------------------------------------------------------------------
echo "== summary (median of $ROUNDS rounds; ratio = chromawal / js)"
awk -v rounds="$ROUNDS" '
  function median(key,   n, i, j, t, a) {
    n = cnt[key]
    for (i = 1; i <= n; i++) a[i] = val[key, i]
    for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
    return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
  }
  /^RESULT / {
    delete f
    for (i = 2; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
    k = f["client"] SUBSEP f["phase"]
    for (m in f) if (m ~ /_s$|_per_/) { key = k SUBSEP m; val[key, ++cnt[key]] = f[m] }
  }
  END {
    printf "%-6s %-10s %12s %10s %18s %10s %18s\n", "phase", "client", "records/s", "wall s", "client CPU us/rec", "CPU s", "server CPU us/rec"
    split("add query", phases, " "); split("js chromawal", clients, " ")
    ok = 1
    for (p = 1; p <= 2; p++) {
      ph = phases[p]
      for (c = 1; c <= 2; c++) {
        k = clients[c] SUBSEP ph
        rps[c] = median(k SUBSEP "records_per_s"); cpu[c] = median(k SUBSEP "cpu_us_per_record")
        srv = (cnt[k SUBSEP "server_cpu_us_per_record"] ? sprintf("%18.1f", median(k SUBSEP "server_cpu_us_per_record")) : sprintf("%18s", "n/a"))
        printf "%-6s %-10s %12.1f %10.3f %18.1f %10.3f %s\n", ph, clients[c], rps[c], median(k SUBSEP "wall_s"), cpu[c], median(k SUBSEP "cpu_s"), srv
      }
      rr = rps[2] / rps[1]; cr = cpu[2] / cpu[1]
      verdict = (rr >= 1 && cr <= 0.5) ? "goal met" : "goal NOT met"
      if (verdict != "goal met") ok = 0
      printf "%-6s %-10s %11.2fx %10s %17.2fx %10s %18s  %s (records/s ratio >= 1, client CPU ratio <= 0.5)\n", ph, "ratio", rr, "", cr, "", "", verdict
    }
    print (ok ? "GOAL MET for add and query" : "GOAL NOT MET (see above)")
  }
' "$out"
echo "(in the query phase a \"record\" is one query; client CPU is each client process's own user+sys"
echo " time; server CPU is the server process's user+sys time during that client's phase)"
