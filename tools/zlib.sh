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
shopt -s nullglob
tarballs=("$TC/src/${ZLIB_DEB_SRC}_"*"$ZLIB_VERSION.orig.tar.gz")
dscs=("$TC/src/${ZLIB_DEB_SRC}_"*"$ZLIB_VERSION-"*.dsc)
shopt -u nullglob
[ ${#tarballs[@]} = 1 ] && [ ${#dscs[@]} = 1 ] ||
  { log "zlib $ZLIB_VERSION source package not found in $TC/src"; exit 1; }
TARBALL=${tarballs[0]}

# The tarball must match the checksum in the .dsc (which apt fetched through
# Debian's signed index).
want=$(awk -v f="$(basename "$TARBALL")" '/^Checksums-Sha256:/{s=1;next} /^[^ ]/{s=0} s&&$3==f{print $1}' "${dscs[0]}")
have=$(sha256sum "$TARBALL" | cut -d' ' -f1)
[ -n "$want" ] && [ "$want" = "$have" ] ||
  { log "checksum mismatch for $TARBALL (dsc: '$want', file: $have)"; exit 1; }

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
