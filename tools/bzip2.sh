#!/usr/bin/env bash
# Builds libbz2 for wasm32-wasip1 as a static library from the upstream
# tarball pinned in tools/sources.lock (for CPython's _bz2 module).
# bzip2's Makefile builds host tools too, so the seven library sources are
# compiled directly.
# Output: $CLOCHE_CACHE/wasm-bzip2-<ver>-llvm<ver>/ (prints the path), holding
#   include/bzlib.h  lib/libbz2.a  build.log
. "$(dirname "$0")/common.sh"

BZIP2_VERSION=1.0.8
OUT="$CLOCHE_CACHE/wasm-bzip2-$BZIP2_VERSION-llvm$LLVM_VER"
stamp_ok "$OUT" && { echo "$OUT"; exit 0; }

TC=$("$CLOCHE_ROOT/tools/toolchain.sh")
SDK="$TC/sdk/bin"
TARBALL=$(source_file bzip2)

rm -rf "$OUT"; mkdir -p "$OUT/build" "$OUT/include" "$OUT/lib"
tar -xzf "$TARBALL" -C "$OUT/build" --strip-components=1
LOG="$OUT/build.log"
log "building bzip2 $BZIP2_VERSION for wasm32-wasip1 (log: $LOG)"
(
  set -x
  cd "$OUT/build"
  objs=()
  for f in blocksort huffman crctable randtable compress decompress bzlib; do
    "$SDK/clang" -O2 -g0 -D_FILE_OFFSET_BITS=64 -c "$f.c" -o "$f.o"
    objs+=("$f.o")
  done
  "$SDK/llvm-ar" rcs "$OUT/lib/libbz2.a" "${objs[@]}"
  cp bzlib.h "$OUT/include/"
) >"$LOG" 2>&1 || { log "bzip2 build failed; tail of $LOG:"; tail -n 60 "$LOG" >&2; exit 1; }
rm -rf "$OUT/build"
stamp_set "$OUT"
echo "$OUT"
