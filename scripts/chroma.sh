#!/usr/bin/env bash
# Install and run a real Chroma 1.x server (the Rust server shipped in the npm
# package "chromadb") for chromawal's tests.
#
# Usage:
#   scripts/chroma.sh install
#   scripts/chroma.sh run   --port P --path DIR [--host 127.0.0.1] [--allow-reset]   (foreground, exec)
#   scripts/chroma.sh start --port P --path DIR --pidfile F --log F [--host H] [--allow-reset]
#   scripts/chroma.sh stop  --pidfile F
#   scripts/chroma.sh free-port
#
# Environment:
#   CHROMAWAL_CACHE_DIR  where installs are cached (default ~/.cache/chromawal)
#
# The native module needs glibc >= 2.39. On older hosts (Debian 12 has 2.36)
# install downloads Debian 13's libc6 with apt-get (mirror read from this
# machine's apt sources), unpacks it privately with dpkg -x, and run starts
# node under that loader. Nothing is installed system wide.
set -euo pipefail

CHROMA_NPM_VERSION=3.5.0
GLIBC_MIN=2.39
GLIBC_SUITE=trixie

HOME_DIR="${HOME:-$(getent passwd "$(id -u)" | cut -d: -f6)}"
CACHE_DIR="${CHROMAWAL_CACHE_DIR:-$HOME_DIR/.cache/chromawal}"
CHROMA_DIR="$CACHE_DIR/chroma-$CHROMA_NPM_VERSION"
GLIBC_DIR="$CACHE_DIR/glibc-$GLIBC_SUITE"
LOCK_FILE="$CACHE_DIR/.install.lock"

die() { echo "chroma.sh: error: $*" >&2; exit 1; }

usage() { sed -n '2,13p' "$0" >&2; exit 2; }

# --- host facts --------------------------------------------------------------

host_glibc_version() {
  local v
  v="$(getconf GNU_LIBC_VERSION 2>/dev/null || true)"   # "glibc 2.36"
  echo "${v##* }"
}

# True if the host glibc is too old for the native module.
need_loader() {
  local have
  have="$(host_glibc_version)"
  [ -n "$have" ] || die "cannot determine glibc version (getconf GNU_LIBC_VERSION failed); a glibc-based Linux is required"
  [ "$(printf '%s\n%s\n' "$GLIBC_MIN" "$have" | sort -V | head -n1)" != "$GLIBC_MIN" ]
}

multiarch() {
  case "$(uname -m)" in
    x86_64)  echo "x86_64-linux-gnu" ;;
    aarch64) echo "aarch64-linux-gnu" ;;
    *) die "unsupported architecture $(uname -m)" ;;
  esac
}

loader_name() {
  case "$(uname -m)" in
    x86_64)  echo "ld-linux-x86-64.so.2" ;;
    aarch64) echo "ld-linux-aarch64.so.1" ;;
    *) die "unsupported architecture $(uname -m)" ;;
  esac
}

# Path of the private dynamic loader inside GLIBC_DIR.
glibc_loader() {
  local name cand
  name="$(loader_name)"
  for cand in "$GLIBC_DIR/usr/lib/$(multiarch)/$name" "$GLIBC_DIR/usr/lib64/$name" \
              "$GLIBC_DIR/lib64/$name" "$GLIBC_DIR/lib/$(multiarch)/$name"; do
    if [ -x "$cand" ]; then echo "$cand"; return 0; fi
  done
  return 1
}

# The Debian archive URI this machine's apt already uses (never hard-coded).
debian_mirror() {
  local uri=""
  if [ -n "${CHROMAWAL_DEBIAN_MIRROR:-}" ]; then echo "$CHROMAWAL_DEBIAN_MIRROR"; return 0; fi
  local f
  # deb822 sources: take the URIs of the first "deb" stanza whose suites are
  # not security/updates-only suites.
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -r "$f" ] || continue
    uri="$(awk '
      function flush() {
        if (types ~ /(^| )deb( |$)/ && uris != "" && suites ~ /(^| )[a-z]+( |$)/ && uris !~ /security/) {
          split(uris, u, " "); print u[1]; found = 1; exit
        }
        types = ""; uris = ""; suites = ""
      }
      /^[ \t]*$/ { flush(); next }
      /^[ \t]*#/ { next }
      tolower($1) == "types:"  { $1 = ""; types = $0 }
      tolower($1) == "uris:"   { $1 = ""; uris = $0; sub(/^ +/, "", uris) }
      tolower($1) == "suites:" { $1 = ""; suites = $0 }
      END { if (!found) flush() }
    ' "$f")"
    [ -n "$uri" ] && break
  done
  # One-line format: "deb [opts] URI suite comp..."
  if [ -z "$uri" ]; then
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
      [ -r "$f" ] || continue
      uri="$(awk '
        $1 == "deb" {
          i = 2
          if ($2 ~ /^\[/) { while (i <= NF && $i !~ /\]$/) i++; i++ }
          if ($i !~ /security/ && $(i + 1) ~ /^[a-z]+$/) { print $i; exit }
        }' "$f")"
      [ -n "$uri" ] && break
    done
  fi
  [ -n "$uri" ] || die "no Debian archive found in /etc/apt/sources.list{,.d}; set CHROMAWAL_DEBIAN_MIRROR to a Debian mirror URI"
  echo "${uri%/}"
}

# --- install -----------------------------------------------------------------

chroma_installed() { [ -f "$CHROMA_DIR/.installed" ]; }
glibc_installed()  { [ -f "$GLIBC_DIR/.installed" ]; }

install_chroma() {
  command -v npm >/dev/null 2>&1 || die "npm not found (run scripts/install-deps.sh)"
  command -v node >/dev/null 2>&1 || die "node not found (run scripts/install-deps.sh)"
  local tmp="$CHROMA_DIR.tmp.$$"
  rm -rf "$tmp" "$CHROMA_DIR"
  mkdir -p "$tmp"
  if ! npm install --no-audit --no-fund --no-update-notifier --loglevel=error \
        --prefix "$tmp" "chromadb@$CHROMA_NPM_VERSION" >"$tmp.log" 2>&1; then
    cat "$tmp.log" >&2
    rm -rf "$tmp" "$tmp.log"
    die "npm install chromadb@$CHROMA_NPM_VERSION failed"
  fi
  rm -f "$tmp.log"
  [ -e "$tmp/node_modules/.bin/chroma" ] || { rm -rf "$tmp"; die "npm package chromadb@$CHROMA_NPM_VERSION has no .bin/chroma"; }
  mv "$tmp" "$CHROMA_DIR"
  touch "$CHROMA_DIR/.installed"
}

install_glibc() {
  command -v apt-get >/dev/null 2>&1 || die "host glibc $(host_glibc_version) < $GLIBC_MIN and apt-get is not available to fetch a newer one"
  command -v dpkg >/dev/null 2>&1 || die "dpkg not found"
  local keyring=/usr/share/keyrings/debian-archive-keyring.gpg
  [ -r "$keyring" ] || die "$keyring missing (install debian-archive-keyring)"
  local mirror work
  mirror="$(debian_mirror)"
  work="$CACHE_DIR/apt-$GLIBC_SUITE"
  rm -rf "$work" "$GLIBC_DIR" "$GLIBC_DIR.tmp"
  mkdir -p "$work/lists/partial" "$work/cache" "$work/archives/partial" "$work/etc"
  echo "deb [signed-by=$keyring] $mirror $GLIBC_SUITE main" >"$work/etc/sources.list"
  local opts=(-q
    -oDir::Etc::SourceList="$work/etc/sources.list" -oDir::Etc::SourceParts=/dev/null
    -oDir::State::Lists="$work/lists" -oDir::Cache="$work/cache"
    -oDir::Cache::archives="$work/archives" -oAPT::Sandbox::User=root
    -oAcquire::Languages=none -oAPT::Architecture="$(dpkg --print-architecture)")
  if ! apt-get "${opts[@]}" update >"$work/log" 2>&1; then
    cat "$work/log" >&2; die "apt-get update for $GLIBC_SUITE ($mirror) failed"
  fi
  if ! (cd "$work/archives" && apt-get "${opts[@]}" download "libc6/$GLIBC_SUITE") >>"$work/log" 2>&1; then
    cat "$work/log" >&2; die "apt-get download libc6/$GLIBC_SUITE failed"
  fi
  local deb="" f
  for f in "$work"/archives/libc6_*.deb; do [ -f "$f" ] && deb="$f" && break; done
  [ -n "$deb" ] || die "libc6 .deb not found after download (see $work/log)"
  dpkg -x "$deb" "$GLIBC_DIR.tmp" || die "dpkg -x $deb failed"
  mv "$GLIBC_DIR.tmp" "$GLIBC_DIR"
  glibc_loader >/dev/null || die "no dynamic loader found in unpacked $deb"
  rm -rf "$work"
  touch "$GLIBC_DIR/.installed"
}

cmd_install() {
  local want_glibc=0
  need_loader && want_glibc=1
  if chroma_installed && { [ "$want_glibc" = 0 ] || glibc_installed; }; then
    return 0
  fi
  command -v flock >/dev/null 2>&1 || die "flock not found (util-linux)"
  mkdir -p "$CACHE_DIR"
  exec 9>"$LOCK_FILE"
  flock -w 600 9 || die "timed out waiting for install lock $LOCK_FILE"
  # Re-check under the lock: another process may have finished meanwhile.
  chroma_installed || install_chroma
  if [ "$want_glibc" = 1 ] && ! glibc_installed; then install_glibc; fi
  exec 9>&-
}

# --- run / start / stop ------------------------------------------------------

PORT="" DATA="" HOST=127.0.0.1 PIDFILE="" LOGFILE="" ALLOW_RESET=0
parse_args() {
  while [ $# -gt 0 ]; do
    case "$1" in
      --port)    [ $# -ge 2 ] || die "--port needs a value"; PORT="$2"; shift 2 ;;
      --path)    [ $# -ge 2 ] || die "--path needs a value"; DATA="$2"; shift 2 ;;
      --host)    [ $# -ge 2 ] || die "--host needs a value"; HOST="$2"; shift 2 ;;
      --pidfile) [ $# -ge 2 ] || die "--pidfile needs a value"; PIDFILE="$2"; shift 2 ;;
      --log)     [ $# -ge 2 ] || die "--log needs a value"; LOGFILE="$2"; shift 2 ;;
      --allow-reset) ALLOW_RESET=1; shift ;;   # the server's allow_reset (POST /api/v2/reset)
      *) die "unknown argument '$1'" ;;
    esac
  done
}
require_port() {
  [ -n "$PORT" ] || die "--port is required"
  if ! [[ "$PORT" =~ ^[0-9]+$ ]] || [ "$PORT" -lt 1 ] || [ "$PORT" -gt 65535 ]; then
    die "invalid port '$PORT'"
  fi
}

cmd_run() {
  parse_args "$@"
  require_port
  [ -n "$DATA" ] || die "--path is required"
  cmd_install
  mkdir -p "$DATA"

  local bin script node
  bin="$CHROMA_DIR/node_modules/.bin/chroma"
  script="$(readlink -f "$bin")" || die "cannot resolve $bin"
  node="$(command -v node)" || die "node not found"
  node="$(readlink -f "$node")"
  local args=(run --path "$DATA" --host "$HOST" --port "$PORT")
  if [ "$ALLOW_RESET" = 1 ]; then
    # The server takes a config file or these flags, not both: all of it in a file next to the data.
    printf 'persist_path: "%s"\nlisten_address: "%s"\nport: %s\nallow_reset: true\n' \
      "$DATA" "$HOST" "$PORT" >"$DATA/chromawal-server.yaml"
    args=(run "$DATA/chromawal-server.yaml")
  fi

  local first_line is_node=0
  IFS= read -r first_line <"$script" || true
  case "$script" in *.js|*.mjs|*.cjs) is_node=1 ;; esac
  case "$first_line" in '#!'*node*) is_node=1 ;; esac

  if ! need_loader; then
    if [ "$is_node" = 1 ]; then exec "$node" "$script" "${args[@]}"; fi
    exec "$script" "${args[@]}"
  fi

  local loader libpath
  loader="$(glibc_loader)" || die "private glibc loader missing under $GLIBC_DIR (remove $GLIBC_DIR and rerun install)"
  libpath="$GLIBC_DIR/usr/lib/$(multiarch):/usr/lib/$(multiarch)"
  if [ "$is_node" = 1 ]; then
    [ "$(head -c4 "$node" | od -An -c | tr -d ' ')" = '177ELF' ] \
      || die "node at $node is not an ELF binary; cannot start it under the private loader"
    exec "$loader" --library-path "$libpath" "$node" "$script" "${args[@]}"
  fi
  # A shell wrapper: put a "node" shim first on PATH that execs node under
  # the private loader, then exec the wrapper (which must exec node itself).
  local shim="$CACHE_DIR/node-shim"
  mkdir -p "$shim"
  printf '#!/bin/sh\nexec "%s" --library-path "%s" "%s" "$@"\n' "$loader" "$libpath" "$node" >"$shim/node.tmp.$$"
  chmod +x "$shim/node.tmp.$$"
  mv "$shim/node.tmp.$$" "$shim/node"
  PATH="$shim:$PATH" exec "$script" "${args[@]}"
}

# State letter of a process from /proc ("" if it does not exist).
proc_state() {
  local stat
  stat="$(cat "/proc/$1/stat" 2>/dev/null)" || return 0
  stat="${stat##*) }"
  echo "${stat%% *}"
}
alive() {
  local s
  s="$(proc_state "$1")"
  [ -n "$s" ] && [ "$s" != Z ] && [ "$s" != X ]
}

heartbeat() {
  curl -fsS -o /dev/null --max-time 2 "http://127.0.0.1:$1/api/v2/heartbeat" 2>/dev/null
}

cmd_start() {
  parse_args "$@"
  require_port
  [ -n "$DATA" ] || die "--path is required"
  [ -n "$PIDFILE" ] || die "--pidfile is required"
  [ -n "$LOGFILE" ] || die "--log is required"
  command -v curl >/dev/null 2>&1 || die "curl not found"
  cmd_install   # outside the start-up deadline
  mkdir -p "$(dirname "$PIDFILE")" "$(dirname "$LOGFILE")"
  if [ -s "$PIDFILE" ] && alive "$(cat "$PIDFILE")" && heartbeat "$PORT"; then
    return 0   # already running
  fi
  if heartbeat "$PORT"; then die "port $PORT already answers a heartbeat (another server?)"; fi

  local extra=()
  [ "$ALLOW_RESET" = 1 ] && extra=(--allow-reset)
  bash "$0" run --port "$PORT" --path "$DATA" --host "$HOST" "${extra[@]}" </dev/null >>"$LOGFILE" 2>&1 &
  local pid=$!
  echo "$pid" >"$PIDFILE"
  local deadline=$((SECONDS + 60))
  while :; do
    if heartbeat "$PORT"; then return 0; fi
    if ! alive "$pid"; then
      wait "$pid" 2>/dev/null || true
      rm -f "$PIDFILE"
      tail -n 30 "$LOGFILE" >&2
      die "chroma server (pid $pid) exited before answering on port $PORT; log: $LOGFILE"
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      kill -KILL "$pid" 2>/dev/null || true
      rm -f "$PIDFILE"
      tail -n 30 "$LOGFILE" >&2
      die "chroma server (pid $pid) did not answer on port $PORT within 60 s; log: $LOGFILE"
    fi
    sleep 0.1
  done
}

cmd_stop() {
  parse_args "$@"
  [ -n "$PIDFILE" ] || die "--pidfile is required"
  [ -f "$PIDFILE" ] || return 0
  local pid
  pid="$(cat "$PIDFILE")"
  [[ "$pid" =~ ^[0-9]+$ ]] || { rm -f "$PIDFILE"; die "bad pid '$pid' in $PIDFILE"; }
  # Guard against a recycled pid: it must still be a chroma process.
  if ! alive "$pid" || ! tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q chroma; then
    rm -f "$PIDFILE"; return 0
  fi
  kill -CONT "$pid" 2>/dev/null || true   # a paused server cannot handle TERM
  kill -TERM "$pid" 2>/dev/null || true
  local _
  for _ in $(seq 50); do alive "$pid" || break; sleep 0.1; done
  if alive "$pid"; then
    kill -KILL "$pid" 2>/dev/null || true
    for _ in $(seq 100); do alive "$pid" || break; sleep 0.1; done
    alive "$pid" && die "chroma server pid $pid did not exit after SIGKILL"
  fi
  rm -f "$PIDFILE"
}

cmd_free_port() {
  local py
  for py in /usr/bin/python3 python3; do
    if command -v "$py" >/dev/null 2>&1; then
      "$py" -c 'import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()' && return 0
    fi
  done
  # Bash only: random ports not listed as in use in /proc/net/tcp{,6}.
  local port hex _
  for _ in $(seq 200); do
    port=$((20000 + RANDOM % 40000))
    hex="$(printf ':%04X ' "$port")"
    if ! cat /proc/net/tcp /proc/net/tcp6 2>/dev/null | awk '{print $2}' | grep -q "${hex% }\$"; then
      echo "$port"; return 0
    fi
  done
  die "could not find a free port"
}

[ $# -ge 1 ] || usage
sub="$1"; shift
case "$sub" in
  install)   [ $# -eq 0 ] || die "install takes no arguments"; cmd_install ;;
  run)       cmd_run "$@" ;;
  start)     cmd_start "$@" ;;
  stop)      cmd_stop "$@" ;;
  free-port) cmd_free_port ;;
  -h|--help|help) usage ;;
  *) die "unknown subcommand '$sub' (install|run|start|stop|free-port)" ;;
esac
