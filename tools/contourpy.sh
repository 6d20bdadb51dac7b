#!/usr/bin/env bash
# Builds contourpy (matplotlib's contour engine) from its PyPI sdist (pinned
# in tools/sources.lock) for wasm32-wasip1: one pybind11 C++ module,
# contourpy._contourpy, as a static archive to link into the guest (see
# tools/pyext.sh for how). Its "threaded" algorithm sees one core
# (tools/pyext/threads/ shims) and so runs on the calling thread.
# Output (path printed last):
#   $CLOCHE_CACHE/contourpy-<ver>-wasip1-<key>/
#     lib/*.a, modules.txt, link-args.txt, site/contourpy/...  (pyext_collect)
. "$(dirname "$0")/common.sh"
. "$CLOCHE_ROOT/tools/pyext.sh"

CONTOURPY_VERSION=1.4.0
TC=$(bash "$CLOCHE_ROOT/tools/toolchain.sh" | tail -n1)
PY=$(bash "$CLOCHE_ROOT/tools/cpython.sh" | tail -n1)
pyext_setup "$PY" "$TC"
TARBALL=$(source_file contourpy)
key=$( (cd "$CLOCHE_ROOT/tools" && cat contourpy.sh pyext/threads/*;
        echo "$PYEXT_KEY $TARBALL") | sha256sum | cut -c1-8)
OUT="$CLOCHE_CACHE/contourpy-$CONTOURPY_VERSION-wasip1-$key"
stamp_ok "$OUT" && { echo "$OUT"; exit 0; }

t0=$SECONDS
WORK="$CLOCHE_CACHE/contourpy-$CONTOURPY_VERSION-work-$key"
rm -rf "$OUT" "$WORK"; mkdir -p "$OUT/logs" "$WORK"
tar -xzf "$TARBALL" -C "$WORK"
SRC="$WORK/contourpy-$CONTOURPY_VERSION"
pyext_pkgconfig_cross "$WORK"
# Its meson build records meson-python's version in _build_config.py; meson
# is run directly here, and a metadata-only stand-in says so.
mkdir -p "$WORK/pypath/meson_python-0.dist-info"
printf 'Metadata-Version: 2.1\nName: meson-python\nVersion: not-used\n' \
  > "$WORK/pypath/meson_python-0.dist-info/METADATA"
export PYTHONPATH="$WORK/pypath"

export PATH="$PYEXT/venv/bin:$PATH"
log "contourpy $CONTOURPY_VERSION: meson (logs: $OUT/logs)"
cd "$SRC"
run_logged "$OUT/logs/setup.log" meson setup \
  --cross-file "$PYEXT/cross.ini" --cross-file "$WORK/cross-pc.ini" \
  --prefix=/usr/local -Dbuildtype=release -Db_ndebug=true -Dwerror=false \
  -Dcpp_args="[$PYEXT_CFLAGS, '-I$CLOCHE_ROOT/tools/pyext/threads']" "$WORK/build"
run_logged "$OUT/logs/build.log" ninja -C "$WORK/build" -j "$JOBS"
run_logged "$OUT/logs/install.log" meson install -C "$WORK/build" --destdir "$WORK/dest"
pyext_collect "$WORK/build" "$WORK/dest" "$OUT"
s=$(( SECONDS - t0 ))
printf 'contourpy %s: %dm%02ds (JOBS=%s)\n' "$CONTOURPY_VERSION" $((s / 60)) $((s % 60)) "$JOBS" \
  | tee "$OUT/build-time.txt" >&2
rm -rf "$WORK"
stamp_set "$OUT"
echo "$OUT"
