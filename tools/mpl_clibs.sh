#!/usr/bin/env bash
# Builds the C libraries matplotlib links for wasm32-wasip1: FreeType (text
# rendering, ft2font) and Qhull's reentrant libqhull_r (Delaunay, _qhull),
# both from Debian trixie's upstream tarballs (pinned in tools/sources.lock).
# Compiled to LLVM bitcode like the extension modules, so pyext_link.py
# pulls each library into the one module that uses it and keeps it private.
# Neither may use setjmp (tools/pyext/nosjlj/setjmp.h says why; FreeType's
# rasterizer is patched by tools/pyext/patch_freetype.py).
# Output (path printed last):
#   $CLOCHE_CACHE/mpl-clibs-<key>/
#     lib/libfreetype.a, lib/libqhull_r.a, include/, lib/pkgconfig/*.pc
. "$(dirname "$0")/common.sh"
. "$CLOCHE_ROOT/tools/pyext.sh"

TC=$(bash "$CLOCHE_ROOT/tools/toolchain.sh" | tail -n1)
PY=$(bash "$CLOCHE_ROOT/tools/cpython.sh" | tail -n1)
pyext_setup "$PY" "$TC"
FT_TARBALL=$(source_file freetype)
QH_TARBALL=$(source_file qhull)
key=$( (cd "$CLOCHE_ROOT/tools" && cat mpl_clibs.sh pyext/patch_freetype.py pyext/nosjlj/*;
        echo "$PYEXT_KEY $FT_TARBALL $QH_TARBALL") | sha256sum | cut -c1-8)
OUT="$CLOCHE_CACHE/mpl-clibs-$key"
stamp_ok "$OUT" && { echo "$OUT"; exit 0; }

t0=$SECONDS
WORK="$CLOCHE_CACHE/mpl-clibs-work-$key"
rm -rf "$OUT" "$WORK"; mkdir -p "$OUT/logs" "$OUT/lib/pkgconfig" "$WORK"
export PATH="$PYEXT/venv/bin:$PATH"
NOSJLJ="$CLOCHE_ROOT/tools/pyext/nosjlj"

# FreeType with its meson build: no zlib/bzip2/png/brotli/harfbuzz (fonts
# are plain TrueType/OpenType files), no mmap (WASI has none).
tar -xJf "$FT_TARBALL" -C "$WORK"
FT=$(echo "$WORK"/freetype-*)
"$PY/native/bin/python3.13" "$CLOCHE_ROOT/tools/pyext/patch_freetype.py" "$FT"
log "freetype: meson (log: $OUT/logs/freetype.log)"
run_logged "$OUT/logs/freetype.log" meson setup --cross-file "$PYEXT/cross.ini" \
  --prefix="$OUT" --libdir=lib -Dbuildtype=release -Db_ndebug=true \
  -Ddefault_library=static -Dc_args="[$PYEXT_CFLAGS, '-I$NOSJLJ']" \
  -Dbrotli=disabled -Dbzip2=disabled -Dharfbuzz=disabled -Dpng=disabled \
  -Dzlib=disabled -Dmmap=disabled -Dtests=disabled "$FT" "$WORK/ft-build"
run_logged "$OUT/logs/freetype-build.log" ninja -C "$WORK/ft-build" -j "$JOBS" install

# libqhull_r: its C files less the test/user examples, compiled directly.
tar -xzf "$QH_TARBALL" -C "$WORK"
QH=$(echo "$WORK"/qhull-*/src/libqhull_r)
log "qhull: libqhull_r"
mkdir -p "$WORK/qh-obj" "$OUT/include/libqhull_r"
ls "$QH"/*.c | grep -v -e '/testqset_r\.c$' -e '/user_eg' |
  xargs -P "$JOBS" -I{} sh -c '"$0" $1 -I"$2" -c "$3" -o "$4/$(basename "$3" .c).o"' \
    "$PYEXT/bin/cc" "-O2 -flto -DNDEBUG -D_WASI_EMULATED_PROCESS_CLOCKS" "$NOSJLJ" {} "$WORK/qh-obj"
"$PYEXT/bin/llvm-ar" qcs "$OUT/lib/libqhull_r.a" "$WORK"/qh-obj/*.o
cp "$QH"/*.h "$OUT/include/libqhull_r/"
cat > "$OUT/lib/pkgconfig/qhull_r.pc" <<PC
prefix=$OUT
Name: qhull_r
Description: Qhull, reentrant (Debian's qhull 2020.2 upstream tarball)
Version: 8.0.2
Libs: -L\${prefix}/lib -lqhull_r
Cflags: -I\${prefix}/include -I\${prefix}/include/nosjlj
PC
# Both libraries' public headers include <setjmp.h>: whoever compiles
# against them gets the same stand-in through the .pc files.
mkdir -p "$OUT/include/nosjlj"
cp "$NOSJLJ/setjmp.h" "$OUT/include/nosjlj/"
sed -i 's|^Cflags: .*|& -I${includedir}/nosjlj|' "$OUT/lib/pkgconfig/freetype2.pc"
s=$(( SECONDS - t0 ))
printf 'freetype+qhull: %dm%02ds (JOBS=%s)\n' $((s / 60)) $((s % 60)) "$JOBS" \
  | tee "$OUT/build-time.txt" >&2
rm -rf "$WORK"
stamp_set "$OUT"
echo "$OUT"
