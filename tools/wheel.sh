#!/usr/bin/env bash
# Builds the Python package's wheel from this tree with pip
# (scikit-build-core, reusing a tools/build.sh build's wasm artifacts) into
# BUILD_DIR/python-dist, with the build tools in the venv
# BUILD_DIR/python-venv. Prints the wheel's path last.
#   tools/wheel.sh [BUILD_DIR]
# Used by tools/test.sh (the package's tests) and `make compare` (which
# measures cloche through the package), so neither uses a stale wheel.
. "$(dirname "$0")/common.sh"
BUILD_DIR=$(cd "${1:-$CLOCHE_ROOT/build}" && pwd)
venv="$BUILD_DIR/python-venv" dist="$BUILD_DIR/python-dist"

[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
for var in CLOCHE_WASMTIME_DIR CLOCHE_GUEST_DIR; do
  val=$(sed -n "s/^$var:PATH=//p" "$BUILD_DIR/CMakeCache.txt")
  if [ -n "$val" ]; then export "$var=$val"; fi
done
rm -rf "$dist"
"$venv/bin/pip" install --quiet scikit-build-core==1.1.2 >&2
# Its own CMake tree (not build/python/, which `pip install .` uses), so a
# developer's pip build cannot race this one.
"$venv/bin/pip" wheel --quiet --no-deps --no-build-isolation -w "$dist" \
  --config-settings=build-dir="$BUILD_DIR/python-build" "$CLOCHE_ROOT" >&2 ||
  { log "building the Python package failed"; exit 1; }
ls "$dist"/cloche-*.whl
