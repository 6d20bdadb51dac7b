#!/usr/bin/env bash
# Runs every test against a build made by tools/build.sh:
#   C tests (unit + integration) with ctest, then the Python tests (the CLI's
#   in tests/python, the package's in python/tests) with pytest, then the
#   quick part of the fidelity suite (tools/fidelity.py --quick: CPython's
#   own tests, natively and in the sandbox). Prints each runner's summary.
#   tools/test.sh [BUILD_DIR]
. "$(dirname "$0")/common.sh"
BUILD_DIR=$(cd "${1:-$CLOCHE_ROOT/build}" && pwd)  # absolute: some steps cd

status=0
ctest --test-dir "$BUILD_DIR" --output-on-failure -j "$JOBS" || status=1

if ! python3 -m pytest --version >/dev/null 2>&1; then
  log "installing pytest"
  python3 -m pip install --quiet pytest >&2
fi
# A data-stack build: the native reference venv (pinned wheels) that
# tests/python/test_data_scripts.py compares with; the test never builds it.
if grep -q '^CLOCHE_GUEST_DIR:PATH=.*/guest-data-' "$BUILD_DIR/CMakeCache.txt" &&
   NATIVE_DATA=$(bash "$CLOCHE_ROOT/tools/native_data.sh" | tail -n 1); then
  export CLOCHE_NATIVE_DATA_PYTHON=$NATIVE_DATA
fi
CLOCHE_BIN="$BUILD_DIR/cloche" python3 -m pytest -q "$CLOCHE_ROOT/tests/python" \
  || status=1

# The Python package (python/tests): its wheel built by tools/wheel.sh,
# installed with its pinned test tools in the venv that script made under
# the build folder, then tested with pytest + pytest-asyncio (the wheel is
# also installed in a fresh venv by one of the tests).
python_package_tests() {
  local venv="$BUILD_DIR/python-venv" wheel
  wheel=$(bash "$CLOCHE_ROOT/tools/wheel.sh" "$BUILD_DIR" | tail -n 1) || return 1
  "$venv/bin/pip" install --quiet --force-reinstall --no-deps "$wheel" >&2 &&
    "$venv/bin/pip" install --quiet "$wheel[test]" >&2 || return 1
  (cd "$CLOCHE_ROOT/python/tests" && CLOCHE_WHEEL="$wheel" \
    "$venv/bin/python" -m pytest -q -p no:cacheprovider .)
}
python_package_tests || status=1

# CPython's own tests natively and in the sandbox, compared with
# tests/fidelity/expected.toml (`make fidelity` runs every module).
CPYTHON=$(bash "$CLOCHE_ROOT/tools/cpython.sh" | tail -n 1)
CLOCHE_CPYTHON=$CPYTHON "$CPYTHON/native/bin/python3.13" \
  "$CLOCHE_ROOT/tools/fidelity.py" --quick --build "$BUILD_DIR" || status=1

# A data-stack build: a quick part of numpy's and pandas' own tests (about
# a minute; `make data-tests` runs the whole subset).
if grep -q '^CLOCHE_GUEST_DIR:PATH=.*/guest-data-' "$BUILD_DIR/CMakeCache.txt"; then
  python3 "$CLOCHE_ROOT/tools/data_tests.py" --quick --build "$BUILD_DIR" ||
    status=1
fi
exit $status
