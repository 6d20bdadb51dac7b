#!/usr/bin/env bash
# Builds everything: toolchain, wasmtime, CPython for wasm, the guest, then
# the host library, CLI and tests with CMake. Each step is cached under
# $CLOCHE_CACHE, so a second run only rebuilds what changed.
#   tools/build.sh [BUILD_DIR] [extra cmake args...]
. "$(dirname "$0")/common.sh"

BUILD_DIR=${1:-$CLOCHE_ROOT/build}
shift || true

bash "$CLOCHE_ROOT/tools/toolchain.sh" >/dev/null
# wasmtime (Rust) and CPython (C) are independent: build them side by side
# so one's serial phases (configure, linking) overlap the other's compiling.
wasmtime_log="$CLOCHE_CACHE/wasmtime-$WASMTIME_VERSION-build.log"
bash "$CLOCHE_ROOT/tools/wasmtime.sh" >"$wasmtime_log" 2>&1 &
wasmtime_pid=$!
GUEST=$(bash "$CLOCHE_ROOT/tools/guest.sh" | tail -n1)
PY=$(bash "$CLOCHE_ROOT/tools/cpython.sh" | tail -n1)
if ! wait "$wasmtime_pid"; then
  tail -n 40 "$wasmtime_log" >&2
  log "wasmtime build failed (log: $wasmtime_log)"
  exit 1
fi
WASMTIME=$(tail -n1 "$wasmtime_log")

generator=()
if [ ! -f "$BUILD_DIR/CMakeCache.txt" ]; then
  command -v ninja >/dev/null && generator=(-G Ninja)
  generator+=(-DCMAKE_BUILD_TYPE=RelWithDebInfo)
fi
cmake -S "$CLOCHE_ROOT" -B "$BUILD_DIR" "${generator[@]}" \
  -DCLOCHE_WASMTIME_DIR="$WASMTIME" -DCLOCHE_GUEST_DIR="$GUEST" \
  -DCLOCHE_NATIVE_PYTHON="$PY/native/bin/python3.13" "$@" >&2
cmake --build "$BUILD_DIR" -j "$JOBS" >&2
echo "$BUILD_DIR"
