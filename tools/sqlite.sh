#!/usr/bin/env bash
# Builds SQLite for wasm32-wasip1 as a static library, from the Debian
# (trixie) source package's upstream tarball, pinned in tools/sources.lock.
# It carries SQLite's full source tree, not the amalgamation, so the amalgamation
# (sqlite3.c) is generated first with a native configure + make (needs tclsh
# and a host C compiler), then compiled once with the wasm toolchain.
# Output: $CLOCHE_CACHE/wasm-sqlite-<ver>-llvm<ver>/ (prints the path), holding
#   include/{sqlite3.h,sqlite3ext.h}  lib/libsqlite3.a  lib/pkgconfig/sqlite3.pc
#   amalgamation/ (generated sqlite3.c etc.)  build.log
. "$(dirname "$0")/common.sh"

SQLITE_VERSION=3.46.1
LOCKS_KEY=$(sha256sum "$CLOCHE_ROOT/tools/sqlite_wasi_locks.c" | cut -c1-8)
OUT="$CLOCHE_CACHE/wasm-sqlite-$SQLITE_VERSION-llvm$LLVM_VER-locks$LOCKS_KEY"
stamp_ok "$OUT" && { echo "$OUT"; exit 0; }

TC=$("$CLOCHE_ROOT/tools/toolchain.sh")
SDK="$TC/sdk/bin"
TARBALL=$(source_file sqlite)   # pinned by SHA-256 in tools/sources.lock

apt_install tcl   # tclsh generates the amalgamation

rm -rf "$OUT"; mkdir -p "$OUT/src" "$OUT/amalgamation" "$OUT/include" "$OUT/lib/pkgconfig"
LOG="$OUT/build.log"
log "building sqlite $SQLITE_VERSION for wasm32-wasip1 (log: $LOG)"

# Options for the wasm build. SQLite's own __wasi__ block (end of sqlite3.h)
# already implies SQLITE_OMIT_WAL, SQLITE_OMIT_LOAD_EXTENSION and
# SQLITE_THREADSAFE=0; they are spelled out here as well so the intent is
# visible. Temporary tables/indices live in memory: the guest may have no
# writable temp dir. LONGDOUBLE_TYPE=double: wasm's long double is a
# software 128-bit float; with a plain double SQLite uses its double-double
# code paths instead (same results, no soft-float calls). Locking: "unix"
# (per-process lock table, native semantics between connections) through
# tools/sqlite_wasi_locks.c, instead of WASI's default "unix-dotfile".
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
  -DSQLITE_EXTRA_INIT=cloche_sqlite_init
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
  "$SDK/clang" -O2 -g0 -Wall -Wextra -Werror -I. -c "$CLOCHE_ROOT/tools/sqlite_wasi_locks.c" -o locks.o
  rm -f "$OUT/lib/libsqlite3.a"
  "$SDK/llvm-ar" rcs "$OUT/lib/libsqlite3.a" sqlite3.o locks.o
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
