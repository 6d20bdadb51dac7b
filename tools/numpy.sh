#!/usr/bin/env bash
# Builds numpy from its PyPI sdist (pinned in tools/sources.lock) for
# wasm32-wasip1, as static archives to link into the guest (see
# tools/pyext.sh for how). numpy's own vendored meson drives the build with
# the cross file from pyext_setup. No BLAS/LAPACK (numpy's lapack_lite), no
# threads, no SIMD dispatch, no SVML/Highway/x86-simd-sort.
# Output (path printed last):
#   $CLOCHE_CACHE/numpy-<ver>-wasip1-<key>/
#     lib/*.a, modules.txt, link-args.txt, site/numpy/...   (pyext_collect)
#     include/    numpy's C headers (numpy/*.h) for packages built on it
#     logs/, build-time.txt
. "$(dirname "$0")/common.sh"
. "$CLOCHE_ROOT/tools/pyext.sh"

NUMPY_VERSION=2.4.6
TC=$(bash "$CLOCHE_ROOT/tools/toolchain.sh" | tail -n1)
PY=$(bash "$CLOCHE_ROOT/tools/cpython.sh" | tail -n1)
pyext_setup "$PY" "$TC"
TARBALL=$(source_file numpy)
key=$( (cat "$CLOCHE_ROOT/tools/numpy.sh"; echo "$PYEXT_KEY $TARBALL") |
       sha256sum | cut -c1-8)
OUT="$CLOCHE_CACHE/numpy-$NUMPY_VERSION-wasip1-$key"
stamp_ok "$OUT" && { echo "$OUT"; exit 0; }

t0=$SECONDS
WORK="$CLOCHE_CACHE/numpy-$NUMPY_VERSION-work-$key"
rm -rf "$OUT" "$WORK"; mkdir -p "$OUT/logs" "$WORK"
tar -xzf "$TARBALL" -C "$WORK"
SRC="$WORK/numpy-$NUMPY_VERSION"

export PATH="$PYEXT/venv/bin:$PATH"
# -DNDEBUG: numpy asserts it holds the GIL through PyGILState_Check, which
# the guest's single-threaded interpreter answers differently.
# long double printf (numpy formats np.longdouble) needs wasi-libc's
# printscan-long-double at the final link (link-args.txt).
CARGS="$PYEXT_CFLAGS, '-Wno-implicit-function-declaration'"
log "numpy $NUMPY_VERSION: meson setup (log: $OUT/logs/setup.log)"
cd "$SRC"
run_logged "$OUT/logs/setup.log" python vendored-meson/meson/meson.py setup \
  --cross-file "$PYEXT/cross.ini" --prefix=/usr/local \
  -Dbuildtype=release -Db_ndebug=true \
  -Dc_args="[$CARGS]" -Dcpp_args="[$CARGS]" \
  -Dallow-noblas=true -Dblas=none -Dlapack=none \
  -Ddisable-threading=true -Ddisable-optimization=true -Ddisable-svml=true \
  -Ddisable-highway=true -Ddisable-intel-sort=true \
  -Dcpu-baseline=none -Dcpu-dispatch=none \
  "$WORK/build"
log "numpy: compiling with ninja -j$JOBS (log: $OUT/logs/build.log)"
run_logged "$OUT/logs/build.log" ninja -C "$WORK/build" -j "$JOBS"
run_logged "$OUT/logs/install.log" python vendored-meson/meson/meson.py install \
  -C "$WORK/build" --destdir "$WORK/dest" --tags runtime,python-runtime,devel

# numpy's test-only extension modules stay out of the guest.
pyext_collect "$WORK/build" "$WORK/dest" "$OUT" \
  --skip numpy._core._multiarray_tests --skip numpy._core._umath_tests \
  --skip numpy._core._rational_tests --skip numpy._core._struct_ufunc_tests \
  --skip numpy._core._operand_flag_tests --skip numpy._core._simd
echo "-lc-printscan-long-double" >> "$OUT/link-args.txt"
inc=$(find "$WORK/dest" -path '*/numpy/_core/include' -type d | head -n1)
cp -r "$inc" "$OUT/include"
s=$(( SECONDS - t0 ))
printf 'numpy %s: %dm%02ds (JOBS=%s)\n' "$NUMPY_VERSION" $((s / 60)) $((s % 60)) "$JOBS" \
  | tee "$OUT/build-time.txt" >&2
rm -rf "$WORK"   # kept on failure, for its meson logs
stamp_set "$OUT"
echo "$OUT"
