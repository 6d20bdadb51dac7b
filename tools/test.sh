#!/usr/bin/env bash
# Runs every test against a build made by tools/build.sh:
#   C tests (unit + integration) with ctest, then the Python tests (CLI and,
#   later, the Python package) with pytest. Prints each runner's summary.
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
exit $status
