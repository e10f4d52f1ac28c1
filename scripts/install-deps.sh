#!/usr/bin/env bash
# Install the Debian packages chromawal needs to build and test, but only the
# missing ones. Fast (no apt call at all) when everything is already there.
#
# Usage: scripts/install-deps.sh [--python] [--dev]
#   --python  also pybind11, Python headers, pytest, numpy, pip, venv (for scripts/test-packages.sh)
#   --dev     also clang, sanitizer runtimes, clang-format, clang-tidy, prometheus (promtool,
#             which the integration tests use to check the metrics exposition)
set -euo pipefail

die() { echo "install-deps.sh: error: $*" >&2; exit 1; }

pkgs=(build-essential cmake pkg-config git curl ca-certificates
      libcurl4-openssl-dev libpq-dev libsqlite3-dev libsimdjson-dev libfmt-dev libcli11-dev libcivetweb-dev catch2
      postgresql nginx openssl)
# node/npm may come from elsewhere (e.g. nodesource); only add Debian's if absent.
command -v node >/dev/null 2>&1 || pkgs+=(nodejs)
command -v npm >/dev/null 2>&1 || pkgs+=(npm)

for arg in "$@"; do
  case "$arg" in
    --python) pkgs+=(pybind11-dev python3-dev python3-pytest python3-numpy python3-pip python3-venv) ;;
    --dev)    pkgs+=(clang libclang-rt-14-dev clang-format clang-tidy prometheus) ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    *) die "unknown argument '$arg' (expected --python and/or --dev)" ;;
  esac
done

command -v dpkg-query >/dev/null 2>&1 || die "dpkg-query not found: this script supports Debian/Ubuntu only"

# One dpkg-query call for all packages; unknown packages print nothing useful.
installed="$(dpkg-query -W -f='${db:Status-Abbrev} ${Package}\n' "${pkgs[@]}" 2>/dev/null || true)"
missing=()
for p in "${pkgs[@]}"; do
  if ! grep -qE "^ii +${p}\$" <<<"$installed"; then
    missing+=("$p")
  fi
done

[ "${#missing[@]}" -eq 0 ] && exit 0

sudo=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || die "missing packages (${missing[*]}) and not root (no sudo available)"
  sudo=(sudo)
fi

echo "install-deps.sh: installing: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
# Wait for a concurrently running apt/dpkg instead of failing on the lock.
apt_opts=(-o DPkg::Lock::Timeout=600 -q)
"${sudo[@]}" apt-get "${apt_opts[@]}" update >/dev/null \
  || die "apt-get update failed"
"${sudo[@]}" apt-get "${apt_opts[@]}" install -y --no-install-recommends "${missing[@]}" >/dev/null \
  || die "apt-get install failed for: ${missing[*]}"
