#!/usr/bin/env bash
# Builds CPython $PY_VERSION twice from the same verified source:
#   * natively (the cross-build python, and the benchmark baseline), and
#   * for wasm32-wasip1, fully static, with zlib and _sqlite3 built in
#     (zlib and SQLite come from tools/zlib.sh and tools/sqlite.sh).
# Every step is cached under $CLOCHE_CACHE and skipped when already complete;
# an interrupted `make` resumes where it stopped. Logs stay in the cache; on
# failure the tail of the relevant log is printed.
#
# Output folder (the last line printed on stdout):
#   $CLOCHE_CACHE/cpython-<py>-wasip1-llvm<n>-deps<hash of the dep folders>-pymalloc-lto/
#     src/           -> ../cpython-src-<py>      verified, pristine source tree
#                                                (Include/, Lib/, ...)
#     native/        -> ../cpython-native-<py>/install   native install
#                       (bin/python3.13, lib/python3.13/...)
#     wasm/          wasm32-wasip1 build dir: python.wasm, libpython3.13.a,
#                    pyconfig.h, Modules/_decimal/libmpdec/libmpdec.a,
#                    Modules/expat/libexpat.a, Modules/_hacl/*.a,
#                    build/lib.wasi-wasm32-3.13/ (sysconfig data)
#     deps/          include/ and lib/{libz.a,libsqlite3.a,pkgconfig/} (links
#                    into the zlib/sqlite caches; .pc files written here)
#     link-libs.txt  one line: every archive and -l flag that links a wasm
#                    program or reactor against libpython (the LIBS, MODLIBS
#                    and SYSLIBS of the generated Makefile, paths absolute)
#     node-wasi-run.mjs  copy of tools/node-wasi-run.mjs (the HOSTRUNNER)
#     python-wasm.sh run python.wasm under Node: python-wasm.sh -c '...'
#     builtin-modules.txt  sys.builtin_module_names of python.wasm
#     build-times.txt, logs/
# Other cache folders it uses or fills:
#   cpython-src-<py>/     extracted source (after gpgv + checksum checks)
#   cpython-native-<py>/  build/ (out of tree), install/, logs/
#   wasm-{zlib,sqlite,bzip2,xz}-*/, toolchain-llvm<n>/ (other tools/ scripts)
. "$(dirname "$0")/common.sh"

NODE=$(command -v node) || { log "node (v20+) is required"; exit 1; }
TC=$("$CLOCHE_ROOT/tools/toolchain.sh")
SDK="$TC/sdk/bin"
t_deps=$SECONDS
ZDIR=$("$CLOCHE_ROOT/tools/zlib.sh")
SQDIR=$("$CLOCHE_ROOT/tools/sqlite.sh")
BZDIR=$("$CLOCHE_ROOT/tools/bzip2.sh")
XZDIR=$("$CLOCHE_ROOT/tools/xz.sh")
t_deps=$(( SECONDS - t_deps ))
ZLIB_V=$(basename "$ZDIR");  ZLIB_V=${ZLIB_V#wasm-zlib-};  ZLIB_V=${ZLIB_V%-llvm*}
SQLITE_V=$(basename "$SQDIR"); SQLITE_V=${SQLITE_V#wasm-sqlite-}; SQLITE_V=${SQLITE_V%-llvm*}
BZIP2_V=$(basename "$BZDIR"); BZIP2_V=${BZIP2_V#wasm-bzip2-}; BZIP2_V=${BZIP2_V%-llvm*}
XZ_V=$(basename "$XZDIR"); XZ_V=${XZ_V#wasm-xz-}; XZ_V=${XZ_V%-llvm*}
# The deps' folder names carry every input that changes them (e.g. SQLite's
# locking shim); their hash keys this build.
DEPS_KEY=$(printf '%s\n' "$ZDIR" "$SQDIR" "$BZDIR" "$XZDIR" | xargs -n1 basename | sha256sum | cut -c1-8)

PY_MM=${PY_VERSION%.*}                       # 3.13
SRC_DIR="$CLOCHE_CACHE/cpython-src-$PY_VERSION"
NAT_DIR="$CLOCHE_CACHE/cpython-native-$PY_VERSION"
OUT="$CLOCHE_CACHE/cpython-$PY_VERSION-wasip1-llvm$LLVM_VER-deps$DEPS_KEY-pymalloc-lto"
stamp_ok "$OUT" && { echo "$OUT"; exit 0; }

mkdir -p "$OUT/logs"
TIMES="$OUT/build-times.txt"   # appended to: a resumed build adds lines

timed() {  # timed NAME SECONDS_AT_START [FILE]
  local s=$(( SECONDS - $2 ))
  printf '%-24s %4dm%02ds  (%s, JOBS=%s)\n' "$1" $((s / 60)) $((s % 60)) \
    "$(date -u +%FT%TZ)" "$JOBS" >> "${3:-$TIMES}"
}

[ "$t_deps" -gt 2 ] && timed "zlib.sh+sqlite.sh" $(( SECONDS - t_deps ))

# ---------------------------------------------------------------------------
# 1. Source: the upstream tarball, pinned by SHA-256 in tools/sources.lock
#    (fetch.sh checks it; the pin was taken from the signed upstream release).
# ---------------------------------------------------------------------------
TARBALL=$(source_file cpython)
if ! stamp_ok "$SRC_DIR"; then
  t0=$SECONDS
  rm -rf "$SRC_DIR" "$SRC_DIR.tmp"; mkdir -p "$SRC_DIR.tmp"
  tar -xJf "$TARBALL" -C "$SRC_DIR.tmp" --strip-components=1
  mv "$SRC_DIR.tmp" "$SRC_DIR"
  stamp_set "$SRC_DIR"
  timed "extract" "$t0"
fi

# ---------------------------------------------------------------------------
# 2. Native CPython (default optimizations, no PGO/LTO, no test modules).
# ---------------------------------------------------------------------------
NATIVE="$NAT_DIR/install"
if ! stamp_ok "$NAT_DIR"; then
  t0=$SECONDS
  mkdir -p "$NAT_DIR/build" "$NAT_DIR/logs"
  NAT_ARGS="--prefix=$NATIVE --with-ensurepip=no --disable-test-modules"
  cd "$NAT_DIR/build"
  if [ "$(cat .cloche-configured 2>/dev/null)" != "$NAT_ARGS" ]; then
    log "configuring native CPython $PY_VERSION (log: $NAT_DIR/logs/configure.log)"
    # configure must be called by a relative path for an out-of-tree build.
    # shellcheck disable=SC2086
    run_logged "$NAT_DIR/logs/configure.log" \
      "$(realpath --relative-to=. "$SRC_DIR")/configure" $NAT_ARGS
    echo "$NAT_ARGS" > .cloche-configured
  fi
  log "building native CPython with make -j$JOBS (log: $NAT_DIR/logs/make.log)"
  run_logged "$NAT_DIR/logs/make.log" make -j"$JOBS"
  log "installing native CPython into $NATIVE"
  run_logged "$NAT_DIR/logs/install.log" make -j"$JOBS" install
  "$NATIVE/bin/python$PY_MM" -c "import sys; assert sys.version.split()[0] == '$PY_VERSION', sys.version" ||
    { log "native python is not $PY_VERSION"; exit 1; }
  timed "native build+install" "$t0" "$NAT_DIR/build-time.txt"
  stamp_set "$NAT_DIR"
fi
cd "$OUT"

# ---------------------------------------------------------------------------
# 3. Output folder skeleton: src/native links, deps prefix, host runner.
# ---------------------------------------------------------------------------
ln -sfn "$(realpath --relative-to="$OUT" "$SRC_DIR")" "$OUT/src"
ln -sfn "$(realpath --relative-to="$OUT" "$NATIVE")" "$OUT/native"
rm -rf "$OUT/deps"; mkdir -p "$OUT/deps/include" "$OUT/deps/lib/pkgconfig"
for f in "$ZDIR"/include/*.h "$SQDIR"/include/*.h "$BZDIR"/include/*.h \
         "$XZDIR"/include/*; do ln -s "$f" "$OUT/deps/include/"; done
ln -s "$ZDIR/lib/libz.a" "$SQDIR/lib/libsqlite3.a" "$BZDIR/lib/libbz2.a" \
      "$XZDIR/lib/liblzma.a" "$OUT/deps/lib/"
for pc in zlib:"$ZLIB_V":z sqlite3:"$SQLITE_V":sqlite3 bzip2:"$BZIP2_V":bz2 liblzma:"$XZ_V":lzma; do
  IFS=: read -r name ver lib <<<"$pc"
  cat > "$OUT/deps/lib/pkgconfig/$name.pc" <<PC
prefix=$OUT/deps
libdir=\${prefix}/lib
includedir=\${prefix}/include

Name: $name
Description: $name (static, wasm32-wasip1)
Version: $ver
Libs: -L\${libdir} -l$lib
Cflags: -I\${includedir}
PC
done
cp "$CLOCHE_ROOT/tools/node-wasi-run.mjs" "$OUT/node-wasi-run.mjs"
HOSTRUNNER="$NODE $OUT/node-wasi-run.mjs"

# ---------------------------------------------------------------------------
# 4. wasm32-wasip1 CPython (the steps of Tools/wasm/wasi.py, with our
#    toolchain wrappers, deps and host runner).
# ---------------------------------------------------------------------------
WB="$OUT/wasm"
mkdir -p "$WB"
cd "$WB"
WASM_ARGS="--host=wasm32-wasip1 --build=$("$SRC_DIR/config.guess") --with-build-python=$NATIVE/bin/python$PY_MM --with-ensurepip=no --disable-test-modules"
# configure turns pymalloc off for WASI by default; CPython's small-object
# allocator is worth ~25% on allocation-heavy code (bench/), so ask for it.
WASM_ARGS="$WASM_ARGS --with-pymalloc"
# ThinLTO: libpython's objects are LLVM bitcode, optimized across files when
# the guest is linked. Measured (bench/kernels.py, builds alternated in one
# sitting, issue 13): kernels 2.54x -> 2.23x native (geometric mean); full
# LTO gained 1% more at a slower link. configure must be told which llvm-ar
# reads clang 19's bitcode (/usr/bin/llvm-ar may be an older LLVM).
WASM_ARGS="$WASM_ARGS --with-lto=thin"
t0=$SECONDS
if [ "$(cat .cloche-configured 2>/dev/null)" != "$WASM_ARGS" ]; then
  log "configuring CPython for wasm32-wasip1 (log: $OUT/logs/wasm-configure.log)"
  find "$WB" -mindepth 1 -delete
  # No PKG_CONFIG_SYSROOT_DIR: the .pc files hold absolute paths already.
  # shellcheck disable=SC2086
  run_logged "$OUT/logs/wasm-configure.log" env \
    CONFIG_SITE="$SRC_DIR/Tools/wasm/config.site-wasm32-wasi" \
    HOSTRUNNER="$HOSTRUNNER" \
    CC="$SDK/clang" CPP="$SDK/clang-cpp" CXX="$SDK/clang++" \
    AR="$SDK/llvm-ar" RANLIB="$SDK/llvm-ranlib" LLVM_AR="$SDK/llvm-ar" \
    PKG_CONFIG_PATH="" PKG_CONFIG_LIBDIR="$OUT/deps/lib/pkgconfig" \
    ../src/configure $WASM_ARGS
  echo "$WASM_ARGS" > .cloche-configured
fi

# Static modules the guest runtime relies on must be enabled ("yes").
missing=""
for m in zlib _sqlite3 _bz2 _lzma binascii _json _decimal pyexpat _elementtree _sha1 _sha2 \
         _sha3 _md5 _blake2 _asyncio _random math cmath _datetime _struct \
         _pickle _bisect _heapq array _csv _contextvars _queue _statistics \
         _zoneinfo unicodedata select _socket _opcode _posixsubprocess; do
  state=$(sed -n "s/^MODULE_$(echo "$m" | tr a-z A-Z)_STATE=//p" Makefile)
  case "$m:$state" in
    _posixsubprocess:n/a) ;;         # no processes on wasip1: expected
    *:yes) ;;
    *) missing="$missing $m($state)";;
  esac
done
grep -q '^MODULE_BINASCII_CFLAGS=.*USE_ZLIB_CRC32' Makefile || missing="$missing binascii-zlib-crc32"
[ "$(grep -m1 -E '^\*(static|shared)\*' Modules/Setup.stdlib)" = '*static*' ] ||
  missing="$missing static-buildtype"
[ -z "$missing" ] || { log "wasm configure: modules not enabled:$missing (see $OUT/logs/wasm-configure.log and wasm/config.log)"; exit 1; }

log "building CPython for wasm32-wasip1 with make -j$JOBS (log: $OUT/logs/wasm-make.log)"
run_logged "$OUT/logs/wasm-make.log" make -j"$JOBS" all
timed "wasm configure+make" "$t0"

for f in python.wasm "libpython$PY_MM.a" pyconfig.h Modules/_decimal/libmpdec/libmpdec.a \
         Modules/expat/libexpat.a pybuilddir.txt; do
  [ -f "$WB/$f" ] || { log "wasm build lacks $f"; exit 1; }
done
ls "$WB"/Modules/_hacl/*.a >/dev/null || { log "wasm build lacks Modules/_hacl/*.a"; exit 1; }

# ---------------------------------------------------------------------------
# 5. link-libs.txt from the generated Makefile: python.wasm is linked from
#    Programs/python.o, $(LINK_PYTHON_OBJS) (= the objects of libpython),
#    $(LIBS), $(MODLIBS) and $(SYSLIBS). Relative paths are made absolute and
#    -l flags that resolve to one of our deps' archives become that archive.
# ---------------------------------------------------------------------------
cat > "$OUT/logs/print-vars.mk" <<'MK'
cloche-print-%:
	@echo $($*)
MK
mkvar() { make -s -f Makefile -f "$OUT/logs/print-vars.mk" "cloche-print-$1"; }
[ "$(mkvar LINK_PYTHON_OBJS | tr -s ' ')" = "$(mkvar LIBRARY_OBJS | tr -s ' ')" ] ||
  { log "python.wasm is not linked from LIBRARY_OBJS; link-libs.txt logic needs review"; exit 1; }
read -r -a toks <<<"$(mkvar LIBS) $(mkvar MODLIBS) $(mkvar SYSLIBS)"
libdirs=()
for t in "${toks[@]}"; do
  case "$t" in -L*) d=${t#-L}; [ "${d#/}" = "$d" ] && d="$WB/$d"; libdirs+=("$d");; esac
done
declare -A seen=()
link=("$WB/libpython$PY_MM.a")
for t in "${toks[@]}"; do
  case "$t" in
    -L*) continue ;;
    -l*)
      for d in "${libdirs[@]}"; do
        if [ -f "$d/lib${t#-l}.a" ]; then t="$d/lib${t#-l}.a"; break; fi
      done ;;
    -*) ;;
    /*) ;;
    *) t="$WB/$t" ;;
  esac
  [ -n "${seen[$t]:-}" ] && continue
  seen[$t]=1; link+=("$t")
done
for t in "${link[@]}"; do
  case "$t" in
    -l*) ;;
    /*) [ -f "$t" ] || { log "link-libs: $t does not exist"; exit 1; } ;;
    *) log "link-libs: unexpected flag $t"; exit 1 ;;
  esac
done
echo "${link[*]}" > "$OUT/link-libs.txt"
for want in libz.a libsqlite3.a libbz2.a liblzma.a libmpdec.a libexpat.a; do
  grep -q "/$want" "$OUT/link-libs.txt" || { log "link-libs.txt lacks $want"; exit 1; }
done

# Prove link-libs.txt is complete: relink python.wasm's main from it alone.
t0=$SECONDS
LDFLAGS_WASM="$(mkvar PY_CORE_LDFLAGS) $(mkvar LINKFORSHARED)"
# shellcheck disable=SC2046,SC2086
run_logged "$OUT/logs/link-check.log" "$SDK/clang" $LDFLAGS_WASM \
  -o "$WB/link-check.wasm" "$WB/Programs/python.o" $(cat "$OUT/link-libs.txt")

# ---------------------------------------------------------------------------
# 6. Smoke test under Node, with the stdlib from src/Lib.
# ---------------------------------------------------------------------------
cat > "$OUT/python-wasm.sh" <<SH
#!/bin/sh
# Runs the wasm32-wasip1 python.wasm under Node (guest / is host /).
# Paths given to it must be absolute: the guest's current directory is /.
exec $HOSTRUNNER "$WB/python.wasm" "\$@"
SH
chmod +x "$OUT/python-wasm.sh"
SMOKE='
import sys, zlib, gzip, bz2, lzma, sqlite3, json, asyncio, decimal, zipfile, io, hashlib, binascii
assert sys.platform == "wasi", sys.platform
assert sqlite3.connect(":memory:").execute("select 1").fetchone() == (1,)
db = sqlite3.connect(":memory:")
db.execute("create table t(x)"); db.executemany("insert into t values (?)", [(i,) for i in range(100)])
assert db.execute("select sum(x), json_array(1,2) from t").fetchone() == (4950, "[1,2]")
assert zlib.decompress(zlib.compress(b"x" * 1000)) == b"x" * 1000
assert gzip.decompress(gzip.compress(b"abc")) == b"abc"
assert bz2.decompress(bz2.compress(b"abc" * 50)) == b"abc" * 50
assert lzma.decompress(lzma.compress(b"abc" * 50)) == b"abc" * 50
import tempfile, os
d = tempfile.mkdtemp(dir="/tmp"); p = os.path.join(d, "t.db")
a = sqlite3.connect(p); a.execute("create table t(x)"); a.commit()
b = sqlite3.connect(p); assert b.execute("select count(*) from t").fetchone() == (0,)
a.execute("insert into t values (1)"); a.commit()
assert b.execute("select count(*) from t").fetchone() == (1,)
buf = io.BytesIO()
with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z: z.writestr("a.txt", "hi" * 100)
assert zipfile.ZipFile(buf).read("a.txt") == b"hi" * 100
assert binascii.crc32(b"abc") == zlib.crc32(b"abc")
assert hashlib.sha256(b"").hexdigest().startswith("e3b0c442")
assert str(decimal.Decimal(1) / decimal.Decimal(7))[:8] == "0.142857"
assert json.loads(json.dumps({"a": [1, 2.5, None]})) == {"a": [1, 2.5, None]}
for m in ("zlib", "_sqlite3", "_bz2", "_lzma", "binascii", "_json", "_decimal", "pyexpat", "_sha2",
          "_asyncio", "_random", "math", "_datetime"):
    assert m in sys.builtin_module_names, m
print("sqlite", sqlite3.sqlite_version, "zlib", zlib.ZLIB_RUNTIME_VERSION)
print(" ".join(sys.builtin_module_names))
'
log "smoke test: python.wasm under node"
run_logged "$OUT/logs/smoke.log" "$OUT/python-wasm.sh" -c "$SMOKE"
run_logged "$OUT/logs/smoke-link-check.log" $HOSTRUNNER "$WB/link-check.wasm" \
  -c 'import zlib, _sqlite3, sys; print(len(sys.builtin_module_names))'
rm -f "$WB/link-check.wasm"
timed "link check+smoke test" "$t0"
tail -n 1 "$OUT/logs/smoke.log" | tr ' ' '\n' > "$OUT/builtin-modules.txt"

{
  echo "CPython $PY_VERSION for wasm32-wasip1: $(head -n 1 "$OUT/logs/smoke.log")"
  echo "  python.wasm: $(du -h "$WB/python.wasm" | cut -f1)   libpython$PY_MM.a: $(du -h "$WB/libpython$PY_MM.a" | cut -f1)"
  echo "  built-in modules ($(wc -l < "$OUT/builtin-modules.txt")): $(tr '\n' ' ' < "$OUT/builtin-modules.txt")"
  grep -E '^Checked [0-9]+ modules' "$OUT/logs/wasm-make.log" | sed 's/^/  /' || true
  echo "  link-libs.txt: $(cat "$OUT/link-libs.txt")"
  echo "  native: $("$NATIVE/bin/python$PY_MM" -VV)"
  sed 's/^/  time: /' "$NAT_DIR/build-time.txt" "$TIMES"
} | tee "$OUT/summary.txt" >&2
stamp_set "$OUT"
echo "$OUT"
