#!/usr/bin/env bash
# Builds SQLite for wasm32-wasip1 as a static library, from the Debian
# (trixie) source package that tools/toolchain.sh downloaded. That package
# carries SQLite's full source tree, not the amalgamation, so the amalgamation
# (sqlite3.c) is generated first with a native configure + make (needs tclsh
# and a host C compiler), then compiled once with the wasm toolchain.
# Output: $CLOCHE_CACHE/wasm-sqlite-<ver>-llvm<ver>/ (prints the path), holding
#   include/{sqlite3.h,sqlite3ext.h}  lib/libsqlite3.a  lib/pkgconfig/sqlite3.pc
#   amalgamation/ (generated sqlite3.c etc.)  build.log
. "$(dirname "$0")/common.sh"

SQLITE_VERSION=3.46.1
OUT="$CLOCHE_CACHE/wasm-sqlite-$SQLITE_VERSION-llvm$LLVM_VER"
stamp_ok "$OUT" && { echo "$OUT"; exit 0; }

TC=$("$CLOCHE_ROOT/tools/toolchain.sh")
SDK="$TC/sdk/bin"
TARBALL="$TC/src/${SQLITE_DEB_SRC}_$SQLITE_VERSION.orig.tar.xz"
shopt -s nullglob; dscs=("$TC/src/${SQLITE_DEB_SRC}_$SQLITE_VERSION-"*.dsc); shopt -u nullglob
[ -f "$TARBALL" ] && [ ${#dscs[@]} = 1 ] ||
  { log "sqlite $SQLITE_VERSION source package not found in $TC/src"; exit 1; }

# The tarball must match the checksum in the .dsc (which apt fetched through
# Debian's signed index).
want=$(awk -v f="$(basename "$TARBALL")" '/^Checksums-Sha256:/{s=1;next} /^[^ ]/{s=0} s&&$3==f{print $1}' "${dscs[0]}")
have=$(sha256sum "$TARBALL" | cut -d' ' -f1)
[ -n "$want" ] && [ "$want" = "$have" ] ||
  { log "checksum mismatch for $TARBALL (dsc: '$want', file: $have)"; exit 1; }

if ! command -v tclsh >/dev/null; then
  log "apt-get install tcl (needed to generate the SQLite amalgamation)"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update >&2
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends tcl >&2
fi

rm -rf "$OUT"; mkdir -p "$OUT/src" "$OUT/amalgamation" "$OUT/include" "$OUT/lib/pkgconfig"
LOG="$OUT/build.log"
log "building sqlite $SQLITE_VERSION for wasm32-wasip1 (log: $LOG)"

# Options for the wasm build. SQLite's own __wasi__ block (end of sqlite3.h)
# already implies SQLITE_OMIT_WAL, SQLITE_OMIT_LOAD_EXTENSION and
# SQLITE_THREADSAFE=0; they are spelled out here as well so the intent is
# visible. Temporary tables/indices live in memory: the guest may have no
# writable temp dir. LONGDOUBLE_TYPE=double: wasm's long double is a
# software 128-bit float; with a plain double SQLite uses its double-double
# code paths instead (same results, no soft-float calls). The default VFS on WASI is "unix-dotfile" (no fcntl locks).
SQLITE_WASM_FLAGS=(
  -DSQLITE_THREADSAFE=0
  -DSQLITE_OMIT_LOAD_EXTENSION=1
  -DSQLITE_OMIT_WAL=1
  -DSQLITE_MAX_MMAP_SIZE=0
  -DSQLITE_TEMP_STORE=3
  -DLONGDOUBLE_TYPE=double
  -DSQLITE_ENABLE_FTS3=1 -DSQLITE_ENABLE_FTS3_PARENTHESIS=1
  -DSQLITE_ENABLE_FTS4=1 -DSQLITE_ENABLE_FTS5=1
  -DSQLITE_ENABLE_RTREE=1 -DSQLITE_ENABLE_MATH_FUNCTIONS=1
  -DSQLITE_ENABLE_COLUMN_METADATA=1
  -DSQLITE_ENABLE_DBSTAT_VTAB=1
)

(
  set -x
  tar -xJf "$TARBALL" -C "$OUT/src" --strip-components=1
  # 1. Amalgamation, generated natively (lemon, mkkeywordhash... are host tools).
  cd "$OUT/amalgamation"
  CC=cc CFLAGS=-O1 "$OUT/src/configure" --disable-tcl --disable-readline >/dev/null
  make -j"$JOBS" sqlite3.c sqlite3.h sqlite3ext.h
  # 2. One translation unit compiled for wasm32-wasip1.
  "$SDK/clang" -O2 -g0 "${SQLITE_WASM_FLAGS[@]}" -c sqlite3.c -o sqlite3.o
  rm -f "$OUT/lib/libsqlite3.a"
  "$SDK/llvm-ar" rcs "$OUT/lib/libsqlite3.a" sqlite3.o
  cp sqlite3.h sqlite3ext.h "$OUT/include/"
) >"$LOG" 2>&1 || { log "sqlite build failed; tail of $LOG:"; tail -n 60 "$LOG" >&2; exit 1; }

cat > "$OUT/lib/pkgconfig/sqlite3.pc" <<PC
prefix=$OUT
libdir=\${prefix}/lib
includedir=\${prefix}/include

Name: SQLite
Description: SQL database engine (static, wasm32-wasip1)
Version: $SQLITE_VERSION
Libs: -L\${libdir} -lsqlite3
Cflags: -I\${includedir}
PC
printf '%s\n' "${SQLITE_WASM_FLAGS[@]}" > "$OUT/compile-options.txt"

grep -q "define SQLITE_VERSION *\"$SQLITE_VERSION\"" "$OUT/include/sqlite3.h" ||
  { log "generated sqlite3.h is not version $SQLITE_VERSION"; exit 1; }
rm -rf "$OUT/src"
find "$OUT/amalgamation" -mindepth 1 -maxdepth 1 \
  ! -name sqlite3.c ! -name sqlite3.h ! -name sqlite3ext.h -exec rm -rf {} +
stamp_set "$OUT"
echo "$OUT"
