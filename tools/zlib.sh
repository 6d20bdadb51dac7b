#!/usr/bin/env bash
# Builds zlib for wasm32-wasip1 as a static library, from the Debian (trixie)
# source package that tools/toolchain.sh downloaded.
# Output: $CLOCHE_CACHE/wasm-zlib-<ver>-llvm<ver>/ (prints the path), holding
#   include/{zlib.h,zconf.h}  lib/libz.a  lib/pkgconfig/zlib.pc
#   build/ (the configured source tree)  build.log
. "$(dirname "$0")/common.sh"

ZLIB_VERSION=1.3.1
OUT="$CLOCHE_CACHE/wasm-zlib-$ZLIB_VERSION-llvm$LLVM_VER"
stamp_ok "$OUT" && { echo "$OUT"; exit 0; }

TC=$("$CLOCHE_ROOT/tools/toolchain.sh")
SDK="$TC/sdk/bin"
TARBALL=$(source_file zlib)   # pinned by SHA-256 in tools/sources.lock

rm -rf "$OUT"; mkdir -p "$OUT/build"
tar -xzf "$TARBALL" -C "$OUT/build" --strip-components=1
LOG="$OUT/build.log"
log "building zlib $ZLIB_VERSION for wasm32-wasip1 (log: $LOG)"
(
  cd "$OUT/build"
  # --static: no shared library (there is no dynamic linking on wasip1).
  CC="$SDK/clang" AR="$SDK/llvm-ar" RANLIB="$SDK/llvm-ranlib" \
  CFLAGS="-O2 -g0" CHOST=wasm32-wasip1 \
    ./configure --static --prefix="$OUT"
  make -j"$JOBS" libz.a
  make install
) >"$LOG" 2>&1 || { log "zlib build failed; tail of $LOG:"; tail -n 60 "$LOG" >&2; exit 1; }

for f in include/zlib.h include/zconf.h lib/libz.a lib/pkgconfig/zlib.pc; do
  [ -f "$OUT/$f" ] || { log "zlib install lacks $f"; exit 1; }
done
stamp_set "$OUT"
echo "$OUT"
