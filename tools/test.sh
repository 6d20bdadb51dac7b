#!/usr/bin/env bash
# Runs every test against a build made by tools/build.sh:
#   C tests (unit + integration) with ctest, then the Python tests (the CLI's
#   in tests/python, the package's in python/tests) with pytest. Prints each
#   runner's summary.
#   tools/test.sh [BUILD_DIR]
. "$(dirname "$0")/common.sh"
BUILD_DIR=${1:-$CLOCHE_ROOT/build}

status=0
ctest --test-dir "$BUILD_DIR" --output-on-failure -j "$JOBS" || status=1

if ! python3 -m pytest --version >/dev/null 2>&1; then
  log "installing pytest"
  python3 -m pip install --quiet pytest >&2
fi
CLOCHE_BIN="$BUILD_DIR/cloche" python3 -m pytest -q "$CLOCHE_ROOT/tests/python" \
  || status=1

# The Python package (python/tests): its wheel built with pip from this
# tree (scikit-build-core, reusing this build's wasm artifacts), installed
# with its pinned test tools in a venv under the build folder, then tested
# with pytest + pytest-asyncio (the wheel is also installed in a fresh venv
# by one of the tests).
PYVENV="$BUILD_DIR/python-venv"
[ -x "$PYVENV/bin/python" ] || python3 -m venv "$PYVENV"
for var in CLOCHE_WASMTIME_DIR CLOCHE_GUEST_DIR; do
  val=$(sed -n "s/^$var:PATH=//p" "$BUILD_DIR/CMakeCache.txt")
  if [ -n "$val" ]; then export "$var=$val"; fi
done
rm -rf "$BUILD_DIR/python-dist"
if "$PYVENV/bin/pip" install --quiet scikit-build-core==1.1.2 >&2 &&
   "$PYVENV/bin/pip" wheel --quiet --no-deps --no-build-isolation \
     -w "$BUILD_DIR/python-dist" "$CLOCHE_ROOT" >&2; then
  WHEEL=$(ls "$BUILD_DIR"/python-dist/cloche-*.whl)
  "$PYVENV/bin/pip" install --quiet --force-reinstall --no-deps "$WHEEL" >&2
  "$PYVENV/bin/pip" install --quiet "$WHEEL[test]" >&2
  (cd "$CLOCHE_ROOT/python/tests" && CLOCHE_WHEEL="$WHEEL" \
    "$PYVENV/bin/python" -m pytest -q -p no:cacheprovider .) || status=1
else
  log "building the Python package failed"; status=1
fi
exit $status
