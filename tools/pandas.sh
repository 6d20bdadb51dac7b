#!/usr/bin/env bash
# Builds pandas from its PyPI sdist (pinned in tools/sources.lock) for
# wasm32-wasip1 against tools/numpy.sh's numpy, as static archives to link
# into the guest (see tools/pyext.sh for how). Its pure-Python dependencies
# (python-dateutil, six; tzdata is in every guest) are pinned wheels that
# tools/guest.sh adds to the image.
# Output (path printed last):
#   $CLOCHE_CACHE/pandas-<ver>-wasip1-<key>/
#     lib/*.a, modules.txt, link-args.txt, site/pandas/...   (pyext_collect)
#     logs/, build-time.txt
. "$(dirname "$0")/common.sh"
. "$CLOCHE_ROOT/tools/pyext.sh"

PANDAS_VERSION=3.0.6
TC=$(bash "$CLOCHE_ROOT/tools/toolchain.sh" | tail -n1)
PY=$(bash "$CLOCHE_ROOT/tools/cpython.sh" | tail -n1)
NUMPY=$(bash "$CLOCHE_ROOT/tools/numpy.sh" | tail -n1)
pyext_setup "$PY" "$TC"
TARBALL=$(source_file pandas)
NUMPY_TARBALL=$(source_file numpy)
key=$( (cat "$CLOCHE_ROOT/tools/pandas.sh" "$CLOCHE_ROOT/tools/pyext/patch_pandas.py"; echo "$PYEXT_KEY $TARBALL $NUMPY") |
       sha256sum | cut -c1-8)
OUT="$CLOCHE_CACHE/pandas-$PANDAS_VERSION-wasip1-$key"
stamp_ok "$OUT" && { echo "$OUT"; exit 0; }

t0=$SECONDS
WORK="$CLOCHE_CACHE/pandas-$PANDAS_VERSION-work-$key"
rm -rf "$OUT" "$WORK"; mkdir -p "$OUT/logs" "$WORK"
tar -xzf "$TARBALL" -C "$WORK"
SRC="$WORK/pandas-$PANDAS_VERSION"
# Imports the guest lacks (ctypes, mmap) made optional: tools/pyext/patch_pandas.py.
"$PY/native/bin/python3.13" "$CLOCHE_ROOT/tools/pyext/patch_pandas.py" "$SRC"

# pandas asks the build's python for numpy.get_include(): a stand-in numpy
# answers with the wasm numpy's headers. Cython finds numpy's .pxd files
# (from the numpy sdist) on PYTHONPATH. generate_version.py imports
# versioneer but, the sdist holding _version_meson.py, never uses it. Its
# .pxi generators run with that python and need Cython's Tempita.
mkdir -p "$WORK/np-stub/numpy" "$WORK/pypath"
: > "$WORK/pypath/versioneer.py"
printf 'def get_include():\n    return %s\n' "'$NUMPY/include'" \
  > "$WORK/np-stub/numpy/__init__.py"
nv=$(basename "$NUMPY_TARBALL" .tar.gz)
tar -xzf "$NUMPY_TARBALL" -C "$WORK/pypath" --strip-components=1 \
  "$nv/numpy/__init__.pxd" "$nv/numpy/__init__.cython-30.pxd"
cat > "$WORK/python3" <<SH
#!/bin/sh
PYTHONPATH=$WORK/np-stub:$(echo "$PYEXT"/venv/lib/python3.*/site-packages) \\
exec $PYEXT/wasm-python/bin/python3 "\$@"
SH
chmod +x "$WORK/python3"
cat > "$WORK/cross-pandas.ini" <<INI
[binaries]
python = '$WORK/python3'
python3 = '$WORK/python3'
INI

export PATH="$PYEXT/venv/bin:$PATH"
export PYTHONPATH="$WORK/pypath"
CARGS="$PYEXT_CFLAGS"
log "pandas $PANDAS_VERSION: meson setup (log: $OUT/logs/setup.log)"
cd "$SRC"
run_logged "$OUT/logs/setup.log" meson setup \
  --cross-file "$PYEXT/cross.ini" --cross-file "$WORK/cross-pandas.ini" \
  --prefix=/usr/local -Dbuildtype=release -Db_ndebug=true \
  -Dc_args="[$CARGS]" -Dcpp_args="[$CARGS]" \
  "$WORK/build"
log "pandas: compiling with ninja -j$JOBS (log: $OUT/logs/build.log)"
run_logged "$OUT/logs/build.log" ninja -C "$WORK/build" -j "$JOBS"
run_logged "$OUT/logs/install.log" meson install \
  -C "$WORK/build" --destdir "$WORK/dest"
pyext_collect "$WORK/build" "$WORK/dest" "$OUT"
s=$(( SECONDS - t0 ))
printf 'pandas %s: %dm%02ds (JOBS=%s)\n' "$PANDAS_VERSION" $((s / 60)) $((s % 60)) "$JOBS" \
  | tee "$OUT/build-time.txt" >&2
rm -rf "$WORK"   # kept on failure, for its meson logs
stamp_set "$OUT"
echo "$OUT"
