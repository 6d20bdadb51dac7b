#!/usr/bin/env bash
# Builds liblzma (from xz-utils) for wasm32-wasip1 as a static library from
# the upstream tarball pinned in tools/sources.lock (for CPython's _lzma).
# Single-threaded (wasip1 has no threads); only the library is built.
# Output: $CLOCHE_CACHE/wasm-xz-<ver>-llvm<ver>/ (prints the path), holding
#   include/lzma.h include/lzma/  lib/liblzma.a  lib/pkgconfig/liblzma.pc
. "$(dirname "$0")/common.sh"

XZ_VERSION=5.8.1
OUT="$CLOCHE_CACHE/wasm-xz-$XZ_VERSION-llvm$LLVM_VER"
stamp_ok "$OUT" && { echo "$OUT"; exit 0; }

TC=$("$CLOCHE_ROOT/tools/toolchain.sh")
SDK="$TC/sdk/bin"
TARBALL=$(source_file xz)

rm -rf "$OUT"; mkdir -p "$OUT/build"
tar -xJf "$TARBALL" -C "$OUT/build" --strip-components=1
LOG="$OUT/build.log"
log "building liblzma $XZ_VERSION for wasm32-wasip1 (log: $LOG)"
(
  set -x
  cd "$OUT/build"
  CC="$SDK/clang" AR="$SDK/llvm-ar" RANLIB="$SDK/llvm-ranlib" CFLAGS="-O2 -g0" \
    ./configure --host=wasm32-wasip1 --prefix="$OUT" --enable-static --disable-shared \
      --disable-threads --disable-xz --disable-xzdec --disable-lzmadec \
      --disable-lzmainfo --disable-lzma-links --disable-scripts --disable-doc \
      --disable-nls --disable-sandbox --disable-ifunc --disable-clmul-crc
  make -j"$JOBS" -C src/liblzma
  make -C src/liblzma install
) >"$LOG" 2>&1 || { log "xz build failed; tail of $LOG:"; tail -n 60 "$LOG" >&2; exit 1; }
for f in include/lzma.h lib/liblzma.a; do
  [ -f "$OUT/$f" ] || { log "liblzma install lacks $f"; exit 1; }
done
rm -rf "$OUT/build"
stamp_set "$OUT"
echo "$OUT"
