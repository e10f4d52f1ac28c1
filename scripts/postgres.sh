#!/usr/bin/env bash
# Throwaway PostgreSQL clusters for chromawal's tests.
#
# Usage:
#   scripts/postgres.sh start  DIR            create (if needed) and start; prints the libpq URI
#   scripts/postgres.sh stop   DIR [fast|immediate]   (default fast)
#   scripts/postgres.sh status DIR            prints running/stopped; exit 0 if running, 3 if not
#
# Layout: DIR/data (cluster), DIR/sock (unix socket), DIR/log, DIR/port.
# Listens on 127.0.0.1 only, trust auth, superuser "postgres", database "chromawal".
# As root, everything runs as user "postgres": DIR and all its parents must be
# traversable by that user (put DIR under /tmp, not under a private home directory).
# Environment: PG_BINDIR overrides where initdb/pg_ctl/psql are looked up.
set -euo pipefail

DB_NAME=chromawal
DB_USER=postgres

die() { echo "postgres.sh: error: $*" >&2; exit 1; }
usage() { sed -n '2,13p' "$0" >&2; exit 2; }

find_bindir() {
  local d cand="" v
  if [ -n "${PG_BINDIR:-}" ]; then
    [ -x "$PG_BINDIR/initdb" ] || die "PG_BINDIR=$PG_BINDIR has no initdb"
    echo "$PG_BINDIR"; return 0
  fi
  if command -v pg_config >/dev/null 2>&1; then
    d="$(pg_config --bindir 2>/dev/null || true)"
    if [ -n "$d" ] && [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then echo "$d"; return 0; fi
  fi
  # Highest version first (sort -V: 15 > 9.6).
  for v in $(printf '%s\n' /usr/lib/postgresql/*/bin | sort -rV); do
    if [ -x "$v/initdb" ]; then cand="$v"; break; fi
  done
  if [ -n "$cand" ] && [ -x "$cand/initdb" ] && [ -x "$cand/pg_ctl" ]; then echo "$cand"; return 0; fi
  die "PostgreSQL server binaries (initdb, pg_ctl) not found; run scripts/install-deps.sh (package postgresql)"
}

AS_ROOT=0
[ "$(id -u)" -eq 0 ] && AS_ROOT=1

# Run a command as the cluster owner (postgres when we are root).
as_owner() {
  if [ "$AS_ROOT" = 1 ]; then
    (cd / && runuser -u "$DB_USER" -- "$@")
  else
    (cd / && "$@")
  fi
}

free_port() {
  local py
  for py in /usr/bin/python3 python3; do
    if command -v "$py" >/dev/null 2>&1; then
      "$py" -c 'import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()' && return 0
    fi
  done
  local port hex _
  for _ in $(seq 200); do
    port=$((20000 + RANDOM % 40000))
    hex="$(printf ':%04X' "$port")"
    if ! cat /proc/net/tcp /proc/net/tcp6 2>/dev/null | awk '{print $2}' | grep -q "${hex}\$"; then
      echo "$port"; return 0
    fi
  done
  die "could not find a free port"
}

# Create DIR (chmod 0755 whatever we create) and, as root, hand it to postgres,
# after checking that postgres can reach it.
prepare_dir() {
  local dir="$1" p created=()
  p="$dir"
  while [ ! -e "$p" ]; do created+=("$p"); p="$(dirname "$p")"; done
  if [ "$AS_ROOT" = 1 ]; then
    id "$DB_USER" >/dev/null 2>&1 || die "user $DB_USER does not exist (install the postgresql package)"
    # p is the deepest existing ancestor; everything below it we create 0755.
    [ "${#created[@]}" -gt 0 ] || p="$(dirname "$dir")"
    while :; do
      runuser -u "$DB_USER" -- test -x "$p" \
        || die "user $DB_USER cannot traverse $p (a parent of $dir); use a directory under /tmp or chmod o+x $p"
      [ "$p" = / ] && break
      p="$(dirname "$p")"
    done
  fi
  mkdir -p "$dir" || die "cannot create $dir"
  for p in "${created[@]}"; do chmod 0755 "$p"; done
  [ -d "$dir" ] || die "$dir is not a directory"
  if [ "$AS_ROOT" = 1 ]; then chown "$DB_USER:" "$dir"; fi
}

is_running() { as_owner "$BINDIR/pg_ctl" status -D "$DIR/data" >/dev/null 2>&1; }

cmd_start() {
  local port sock
  sock="$DIR/sock"
  # sun_path is 108 bytes; the socket is sock/.s.PGSQL.PORT.
  [ "${#sock}" -le 90 ] || die "socket path $sock is too long for a unix socket; use a shorter DIR"
  if [ ! -f "$DIR/data/PG_VERSION" ]; then
    prepare_dir "$DIR"
    port="$(free_port)"
    rm -rf "$DIR/data"   # leftover of a failed initdb
    as_owner mkdir -p "$DIR/sock"
    if ! as_owner "$BINDIR/initdb" -D "$DIR/data" -U "$DB_USER" -A trust -E UTF8 \
           --locale=C --no-sync >"$DIR/initdb.log" 2>&1; then
      cat "$DIR/initdb.log" >&2
      die "initdb failed for $DIR/data"
    fi
    as_owner tee -a "$DIR/data/postgresql.conf" >/dev/null <<CONF

# chromawal test cluster
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$sock'
CONF
    echo "$port" >"$DIR/port.tmp" && mv "$DIR/port.tmp" "$DIR/port"
  else
    [ -s "$DIR/port" ] || die "$DIR has a cluster but no $DIR/port"
    port="$(cat "$DIR/port")"
  fi
  [[ "$port" =~ ^[0-9]+$ ]] || die "bad port '$port' in $DIR/port"

  if ! is_running; then
    if ! as_owner "$BINDIR/pg_ctl" start -D "$DIR/data" -w -t 60 -l "$DIR/log" \
           -o "-p $port -k $sock -c listen_addresses=127.0.0.1" >/dev/null 2>&1; then
      tail -n 30 "$DIR/log" >&2 || true
      die "pg_ctl start failed for $DIR/data (port $port); log: $DIR/log"
    fi
  fi

  local psql=("$BINDIR/psql" -X -q -h 127.0.0.1 -p "$port" -U "$DB_USER" -d postgres -v ON_ERROR_STOP=1)
  local exists
  exists="$(as_owner "${psql[@]}" -tAc "select 1 from pg_database where datname = '$DB_NAME'")" \
    || die "cannot connect to the cluster on port $port"
  if [ "$exists" != 1 ]; then
    as_owner "${psql[@]}" -c "create database $DB_NAME" >/dev/null \
      || die "create database $DB_NAME failed"
  fi
  echo "postgresql://$DB_USER@127.0.0.1:$port/$DB_NAME"
}

cmd_stop() {
  local mode="${1:-fast}"
  case "$mode" in fast|immediate|smart) ;; *) die "stop mode must be fast or immediate, not '$mode'" ;; esac
  [ -f "$DIR/data/PG_VERSION" ] || return 0
  is_running || return 0
  as_owner "$BINDIR/pg_ctl" stop -D "$DIR/data" -m "$mode" -w -t 60 >/dev/null \
    || die "pg_ctl stop -m $mode failed for $DIR/data"
}

cmd_status() {
  if [ -f "$DIR/data/PG_VERSION" ] && is_running; then
    echo "running on port $(cat "$DIR/port" 2>/dev/null || echo '?')"
    return 0
  fi
  echo "stopped"
  return 3
}

[ $# -ge 1 ] || usage
sub="$1"; shift
case "$sub" in -h|--help|help) usage ;; esac
[ $# -ge 1 ] || die "$sub: DIR is required"
DIR="$(realpath -m -- "$1")"; shift
BINDIR="$(find_bindir)"
case "$sub" in
  start)  [ $# -eq 0 ] || die "start takes only DIR"; cmd_start ;;
  stop)   [ $# -le 1 ] || die "stop takes DIR [fast|immediate]"; cmd_stop "$@" ;;
  status) [ $# -eq 0 ] || die "status takes only DIR"; cmd_status ;;
  *) die "unknown subcommand '$sub' (start|stop|status)" ;;
esac
