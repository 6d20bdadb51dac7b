#!/usr/bin/env bash
# Builds matplotlib from its PyPI sdist (pinned in tools/sources.lock) for
# wasm32-wasip1, as static archives to link into the guest (see
# tools/pyext.sh for how): its pybind11 C++ modules (ft2font, _path, _image,
# _backend_agg, _c_internal_utils, _tri, _qhull) against tools/mpl_clibs.sh's
# FreeType and libqhull_r, its Python files and mpl-data. The default
# backend is Agg (rcParams-backend, written into the installed matplotlibrc);
# the Tk backend's helper module is left out (no GUI, no dlopen).
# tools/pyext/patch_matplotlib.py points its data path at the read-only
# folder the host serves (docs/data-stack.md, "mpl-data") and moves
# ft2font's enum setup from C++ static initialization (which runs before
# Py_Initialize in a linked-in module) to its module init.
# Output (path printed last):
#   $CLOCHE_CACHE/matplotlib-<ver>-wasip1-<key>/
#     lib/*.a, modules.txt, link-args.txt, site/matplotlib/...  (pyext_collect)
#     logs/, build-time.txt
. "$(dirname "$0")/common.sh"
. "$CLOCHE_ROOT/tools/pyext.sh"

MPL_VERSION=3.10.9
TC=$(bash "$CLOCHE_ROOT/tools/toolchain.sh" | tail -n1)
PY=$(bash "$CLOCHE_ROOT/tools/cpython.sh" | tail -n1)
CLIBS=$(bash "$CLOCHE_ROOT/tools/mpl_clibs.sh" | tail -n1)
pyext_setup "$PY" "$TC"
TARBALL=$(source_file matplotlib)
key=$( (cat "$CLOCHE_ROOT/tools/matplotlib.sh" "$CLOCHE_ROOT/tools/pyext/patch_matplotlib.py";
        echo "$PYEXT_KEY $TARBALL $CLIBS") | sha256sum | cut -c1-8)
OUT="$CLOCHE_CACHE/matplotlib-$MPL_VERSION-wasip1-$key"
stamp_ok "$OUT" && { echo "$OUT"; exit 0; }

t0=$SECONDS
WORK="$CLOCHE_CACHE/matplotlib-$MPL_VERSION-work-$key"
rm -rf "$OUT" "$WORK"; mkdir -p "$OUT/logs" "$WORK/pypath/setuptools_scm"
tar -xzf "$TARBALL" -C "$WORK"
SRC="$WORK/matplotlib-$MPL_VERSION"
"$PY/native/bin/python3.13" "$CLOCHE_ROOT/tools/pyext/patch_matplotlib.py" "$SRC"

# meson.build asks `python -m setuptools_scm` for the version; the sdist's
# version is known, so a stand-in prints it instead of a git lookup.
: > "$WORK/pypath/setuptools_scm/__init__.py"
echo "print('$MPL_VERSION')" > "$WORK/pypath/setuptools_scm/__main__.py"
pyext_pkgconfig_cross "$WORK" "$CLIBS/lib/pkgconfig"

# wasm32's long is 32 bits: _backend_agg_wrapper.cpp puts unsigned image
# sizes into a brace list of py::ssize_t, which clang rejects as narrowing
# (the sizes are far below 2^31).
CPPARGS="$PYEXT_CFLAGS, '-Wno-c++11-narrowing'"
export PATH="$PYEXT/venv/bin:$PATH"
export PYTHONPATH="$WORK/pypath"
log "matplotlib $MPL_VERSION: meson setup (log: $OUT/logs/setup.log)"
cd "$SRC"
run_logged "$OUT/logs/setup.log" meson setup \
  --cross-file "$PYEXT/cross.ini" --cross-file "$WORK/cross-pc.ini" \
  --prefix=/usr/local -Dbuildtype=release -Db_ndebug=true \
  -Dc_args="[$PYEXT_CFLAGS]" -Dcpp_args="[$CPPARGS]" \
  -Dsystem-freetype=true -Dsystem-qhull=true -Dmacosx=false \
  -DrcParams-backend=Agg "$WORK/build"
log "matplotlib: compiling with ninja -j$JOBS (log: $OUT/logs/build.log)"
run_logged "$OUT/logs/build.log" ninja -C "$WORK/build" -j "$JOBS"
run_logged "$OUT/logs/install.log" meson install -C "$WORK/build" \
  --destdir "$WORK/dest" --tags data,python-runtime,runtime
pyext_collect "$WORK/build" "$WORK/dest" "$OUT" --skip matplotlib.backends._tkagg
s=$(( SECONDS - t0 ))
printf 'matplotlib %s: %dm%02ds (JOBS=%s)\n' "$MPL_VERSION" $((s / 60)) $((s % 60)) "$JOBS" \
  | tee "$OUT/build-time.txt" >&2
rm -rf "$WORK"   # kept on failure, for its meson logs
stamp_set "$OUT"
echo "$OUT"
