#!/usr/bin/env bash
# Tests the packages people install, the routes of docs/install.md, by running that file's
# snippets (scripts/doc-snippets.sh extracts them; the text run is the text shown):
#   versions   the version of include/chromawal/version.hpp in every manifest
#   cmake      install tree + find_package consumer (shared), then pkg-config consumer
#   conan      conan create with test_package, static and shared (+ the chromawal command),
#              against a [platform_requires] profile (Debian's packages), then a consumer
#   vcpkg      the layout the port's calls produce (release + debug in one prefix, config under
#              share/chromawal), consumed with find_package in both configurations
#   python     pip install ./bindings/python (isolated build, PyPI), python -m build (sdist, and
#              a wheel built from it), auditwheel repair, install into a fresh venv, the pytest
#              suite, examples/python/ingest.py and chromadb's own client tests
#              (scripts/chromadb-suite.sh) against real servers with that wheel (the only run
#              of the Python tests in scripts/test.sh); the offline Debian route
# Tools come from PyPI at the versions pinned in packaging/requirements.txt, into a virtual
# environment under build/pkg/ (never system-wide). Everything else goes under build/pkg/ too.
#
# Usage: scripts/test-packages.sh [STEP...]     (default: all steps, in the order above)
# Environment: CHROMAWAL_JOBS  parallel build jobs (default: number of cores)
# Needs: scripts/install-deps.sh --python done, the Chroma server installed (scripts/chroma.sh
# install) for the Python tests, and access to PyPI.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
jobs=${CHROMAWAL_JOBS:-$(nproc)}
work="$root/build/pkg"
doc=docs/install.md

die() { echo "test-packages.sh: error: $*" >&2; exit 1; }
step() { printf '\n--> packages: %s\n' "$*"; }

steps=("$@")
[ ${#steps[@]} -gt 0 ] || steps=(versions cmake conan vcpkg python)
for s in "${steps[@]}"; do
  case "$s" in
    versions|cmake|conan|vcpkg|python) ;;
    *) die "unknown step '$s' (expected versions, cmake, conan, vcpkg, python)" ;;
  esac
done

mkdir -p "$work"
export CMAKE_BUILD_PARALLEL_LEVEL="$jobs"
# The snippets' variables (docs/install.md, top).
export TOOLS="$work/venv" PREFIX="$work/prefix" APP="$work/app" VENV="$work/venv-test"
# Conan's cache and settings stay in the build folder, builds use CHROMAWAL_JOBS jobs, and
# test_package is built there too, not in packaging/conan/test_package/.
export CONAN_HOME="$work/conan-home"
mkdir -p "$CONAN_HOME"
cat >"$CONAN_HOME/global.conf" <<CONF
tools.build:jobs=$jobs
tools.cmake.cmake_layout:test_folder=$work/conan-test-package
tools.cmake.cmaketoolchain:user_presets=
CONF

# Runs the snippets tagged test=$1, in a fresh bash with -euo pipefail, from the repository root.
run_snippets() {
  local script
  script=$(bash scripts/doc-snippets.sh "$doc" "test=$1")
  echo "+ docs/install.md, test=$1:"
  sed 's/^/    /' <<<"$script"
  bash -euo pipefail -c "$script" || die "docs/install.md snippet test=$1 failed"
}

# Writes the example project of docs/install.md (blocks tagged file=app/...) into $APP.
write_app() {
  rm -rf "$APP"
  mkdir -p "$APP"
  local f
  for f in CMakeLists.txt main.cpp conanfile.txt; do
    bash scripts/doc-snippets.sh "$doc" "file=app/$f" >"$APP/$f"
  done
}

# The tools' virtual environment, created again whenever packaging/requirements.txt changes.
ensure_tools() {
  local stamp="$TOOLS/.requirements"
  if [ -x "$TOOLS/bin/python" ] && cmp -s packaging/requirements.txt "$stamp"; then
    return
  fi
  rm -rf "$TOOLS"
  run_snippets tools
  cp packaging/requirements.txt "$stamp"
}

header_version() {
  sed -n -E 's/^#define CHROMAWAL_VERSION_(MAJOR|MINOR|PATCH) +([0-9]+)$/\2/p' include/chromawal/version.hpp |
    paste -sd.
}

json_version() {
  /usr/bin/python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["version"])' "$1"
}

step_versions() {
  step "versions: include/chromawal/version.hpp in every manifest"
  local want got f
  want=$(header_version)
  [[ "$want" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || die "cannot read the version from include/chromawal/version.hpp"
  for f in vcpkg.json packaging/vcpkg/ports/chromawal/vcpkg.json; do
    got=$(json_version "$f")
    [ "$got" = "$want" ] || die "$f says version $got, include/chromawal/version.hpp says $want"
  done
  ensure_tools
  got=$("$TOOLS/bin/conan" inspect packaging/conan --format=json |
    /usr/bin/python3 -c 'import json, sys; print(json.load(sys.stdin)["version"])')
  [ "$got" = "$want" ] || die "the Conan recipe says version $got, the header $want"
  grep -q "^chromawal/$want\$" <(bash scripts/doc-snippets.sh "$doc" file=app/conanfile.txt) ||
    die "docs/install.md: the example conanfile.txt does not require chromawal/$want"
  echo "version $want everywhere (the Python package's: bindings/python/tests/test_version.py)"
}

step_cmake() {
  step "CMake install tree (shared) + find_package, then pkg-config"
  rm -rf "$PREFIX"
  write_app
  run_snippets cmake
  run_snippets pkg-config
  local v
  v=$(PKG_CONFIG_PATH="$PREFIX/lib/pkgconfig" pkg-config --modversion chromawal)
  [ "$v" = "$(header_version)" ] || die "pkg-config says version $v, the header $(header_version)"
}

step_conan() {
  step "Conan: conan create + test_package, static and shared, then a consumer"
  ensure_tools
  write_app
  run_snippets conan
}

# What vcpkg_cmake_configure / vcpkg_cmake_install / vcpkg_cmake_config_fixup /
# vcpkg_fixup_pkgconfig produce for a static triplet (x64-linux), without vcpkg: both
# configurations into one prefix, debug under debug/, the CMake package under share/chromawal
# with the debug targets merged in, pointing at debug/lib.
step_vcpkg() {
  step "vcpkg port layout: release + debug in one prefix, find_package in both configurations"
  local prefix="$work/vcpkg/installed" config
  rm -rf "$prefix"
  for config in Release Debug; do
    local build="$work/vcpkg/build-$config" dest="$prefix"
    [ "$config" = Debug ] && dest="$prefix/debug"
    # The options of packaging/vcpkg/ports/chromawal/portfile.cmake, plus what vcpkg adds.
    cmake -S . -B "$build" -DCMAKE_BUILD_TYPE="$config" -DBUILD_SHARED_LIBS=OFF \
      -DCMAKE_INSTALL_PREFIX="$dest" -DCHROMAWAL_BUILD_TOOLS=OFF \
      -DCHROMAWAL_BUILD_TESTS=OFF -DCHROMAWAL_BUILD_EXAMPLES=OFF -DCHROMAWAL_BUILD_BENCH=OFF \
      -DCHROMAWAL_INSTALL_CMAKEDIR=share/chromawal >/dev/null
    cmake --build "$build"
    cmake --install "$build" >/dev/null
  done
  # vcpkg_cmake_config_fixup: the debug configuration's targets file joins the release one's,
  # its paths moved under debug/; vcpkg_fixup_pkgconfig: the .pc files stay per configuration
  # (ours are relocatable already); the debug headers and share/ are removed.
  local dbg="$prefix/debug/share/chromawal/chromawal-targets-debug.cmake"
  [ -f "$dbg" ] || die "no $dbg: the CMake package is not where the port expects it"
  sed 's#${_IMPORT_PREFIX}/#${_IMPORT_PREFIX}/debug/#g' "$dbg" >"$prefix/share/chromawal/chromawal-targets-debug.cmake"
  rm -rf "$prefix/debug/include" "$prefix/debug/share"
  [ -f "$prefix/share/chromawal/chromawal-config.cmake" ] || die "no share/chromawal/chromawal-config.cmake"
  [ -f "$prefix/debug/lib/libchromawal.a" ] || die "no debug/lib/libchromawal.a"
  [ -f "$prefix/debug/lib/pkgconfig/chromawal.pc" ] || die "no debug/lib/pkgconfig/chromawal.pc"
  write_app
  for config in Release Debug; do
    local build="$APP/build-vcpkg-$config" want="$prefix/lib/libchromawal.a"
    [ "$config" = Debug ] && want="$prefix/debug/lib/libchromawal.a"
    cmake -S "$APP" -B "$build" -DCMAKE_BUILD_TYPE="$config" -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
    cmake --build "$build" >/dev/null
    "$build/app"
    grep -rqF "$want" "$build/CMakeFiles/app.dir/link.txt" ||
      die "the $config consumer does not link $want"
    echo "$config consumer links ${want#"$prefix"/}"
  done
}

step_python() {
  step "Python: pip install ./bindings/python (isolated build from PyPI)"
  ensure_tools
  rm -rf "$VENV"
  run_snippets pip

  step "Python: sdist + wheel, auditwheel repair, install into a fresh venv, pytest"
  rm -rf "$VENV" build/dist build/wheelhouse
  run_snippets wheel
  local sdist
  sdist=$(ls build/dist/chromawal-*.tar.gz)
  # The listing first, then grep (grep -q in a pipe would cut tar off: SIGPIPE under pipefail).
  local listing
  listing=$(tar -tzf "$sdist")
  grep -q '/cpp/lib/wal/sqlite_log_store.cpp$' <<<"$listing" || die "$sdist lacks the C++ sources"
  "$VENV/bin/python" -m pip install -q -r packaging/requirements-test.txt
  # The extension's libpq and libcurl are the wheel's copies, not the system's.
  local ext libs
  ext=$("$VENV/bin/python" -c 'import chromawal._chromawal as m; print(m.__file__)')
  case "$ext" in "$VENV"/*) ;; *) die "chromawal was imported from $ext, not from the venv" ;; esac
  libs=$(ldd "$ext" | grep -E 'lib(pq|curl)[-.]')
  echo "$libs"
  if grep -v 'chromawal\.libs/' <<<"$libs"; then
    die "the repaired wheel's extension loads the libraries above from the system"
  fi
  # From the repository root (conftest.py finds scripts/ there), with nothing of the source
  # tree on sys.path: `chromawal` is the installed wheel.
  # The venv has the official client and hypothesis (packaging/requirements-test.txt): the
  # differential tests must run, not skip.
  CHROMAWAL_TEST_REQUIRE_CHROMADB=1 "$VENV/bin/python" -m pytest -q -p no:cacheprovider bindings/python/tests
  "$VENV/bin/python" examples/python/ingest.py

  step "Python: chromadb 1.5.9's own client tests with the official client and both chromawal clients"
  # Each chromawal client must pass 95% of those that pass with the official client
  # (docs/python.md, "chromadb's own client tests"); the sdist comes from PyPI, pinned by sha256.
  "$VENV/bin/python" -m pip install -q -r tests/chromadb_suite/requirements.txt
  bash scripts/chromadb-suite.sh --python "$VENV/bin/python"

  step "Python: the offline route with Debian's packages (setuptools, setup.py)"
  CHROMAWAL_PY_BUILD_DIR="$root/build/python/cmake" CHROMAWAL_JOBS="$jobs" run_snippets pip-debian
}

for s in "${steps[@]}"; do
  start=$SECONDS
  "step_$s"
  echo "packages: $s took $((SECONDS - start)) s"
done
echo "packages: all passed"
