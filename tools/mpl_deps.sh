#!/usr/bin/env bash
# Builds matplotlib's two compiled dependencies whose builds are setuptools
# (which cannot cross-compile) for wasm32-wasip1, module by module with
# tools/pyext/build_direct.py, from their PyPI sdists (tools/sources.lock):
#   kiwisolver  kiwisolver._cext (C++, cppy headers; constrained_layout)
#   Pillow      PIL._imaging with zlib only (PNG read/write; no JPEG, TIFF,
#               WebP, AVIF, LCMS, FreeType text, Tk), PIL._imagingmath and
#               PIL._imagingmorph; the list of C files is read from setup.py
# Output (path printed last):
#   $CLOCHE_CACHE/mpl-deps-wasip1-<key>/
#     lib/*.a, modules.txt, link-args.txt, site/{kiwisolver,PIL}/...
. "$(dirname "$0")/common.sh"
. "$CLOCHE_ROOT/tools/pyext.sh"

TC=$(bash "$CLOCHE_ROOT/tools/toolchain.sh" | tail -n1)
PY=$(bash "$CLOCHE_ROOT/tools/cpython.sh" | tail -n1)
pyext_setup "$PY" "$TC"
KIWI=$(source_file kiwisolver)
PILLOW=$(source_file pillow)
key=$( (cd "$CLOCHE_ROOT/tools" && cat mpl_deps.sh pyext/build_direct.py pyext/patch_kiwisolver.py;
        echo "$PYEXT_KEY $KIWI $PILLOW") | sha256sum | cut -c1-8)
OUT="$CLOCHE_CACHE/mpl-deps-wasip1-$key"
stamp_ok "$OUT" && { echo "$OUT"; exit 0; }

t0=$SECONDS
WORK="$CLOCHE_CACHE/mpl-deps-work-$key"
rm -rf "$OUT" "$WORK"; mkdir -p "$OUT/site" "$WORK"
tar -xzf "$KIWI" -C "$WORK"
tar -xzf "$PILLOW" -C "$WORK"
PYH="$PYEXT/wasm-python/include/python3.13"
NATIVE="$PY/native/bin/python3.13"
build() { "$NATIVE" "$CLOCHE_ROOT/tools/pyext/build_direct.py" "$OUT" "$@"; }
cflags=(-O2 -flto -DNDEBUG -I"$PYH")

log "kiwisolver: kiwisolver._cext"
K=$(echo "$WORK"/kiwisolver-*)
# One-parameter methods cast to PyCFunction trap on wasm's typed calls.
"$NATIVE" "$CLOCHE_ROOT/tools/pyext/patch_kiwisolver.py" "$K"
cppy=$(echo "$PYEXT"/venv/lib/python3.*/site-packages/cppy/include)
build "$PYEXT/bin/c++" "$JOBS" kiwisolver._cext "$K"/py/src/*.cpp -- \
  "${cflags[@]}" -std=c++17 -I"$K" -I"$cppy"
cp -r "$K/py/kiwisolver" "$OUT/site/"

log "Pillow: PIL._imaging (zlib), PIL._imagingmath, PIL._imagingmorph"
P=$(echo "$WORK"/pillow-*)
pver=$(basename "$P"); pver=${pver#pillow-}
mapfile -t imaging < <("$NATIVE" - "$P/setup.py" <<'PY'
import ast, sys
# setup.py's _IMAGING and _LIB_IMAGING tuples name PIL._imaging's C files.
tree = ast.parse(open(sys.argv[1]).read())
names = {t.id: ast.literal_eval(n.value) for n in tree.body
         if isinstance(n, ast.Assign) for t in n.targets
         if isinstance(t, ast.Name) and t.id in ("_IMAGING", "_LIB_IMAGING")}
print("src/_imaging.c")
print("src/libImaging/Mode.c")
for f in names["_IMAGING"]:
    print(f"src/{f}.c")
for f in names["_LIB_IMAGING"]:
    print(f"src/libImaging/{f}.c")
PY
)
pflags=("${cflags[@]}" -I"$P/src/libImaging" -I"$PY/deps/include" -DHAVE_LIBZ
        "-DPILLOW_VERSION=\"$pver\"" -Wno-implicit-function-declaration)
build "$PYEXT/bin/cc" "$JOBS" PIL._imaging "${imaging[@]/#/$P/}" -- "${pflags[@]}"
build "$PYEXT/bin/cc" "$JOBS" PIL._imagingmath "$P/src/_imagingmath.c" -- "${pflags[@]}"
build "$PYEXT/bin/cc" "$JOBS" PIL._imagingmorph "$P/src/_imagingmorph.c" -- "${pflags[@]}"
cp -r "$P/src/PIL" "$OUT/site/"
find "$OUT/site" \( -name '*.pyi' -o -name 'py.typed' -o -name '*.c' -o -name '*.h' \) -delete
rm -rf "$OUT/obj"
s=$(( SECONDS - t0 ))
printf 'kiwisolver+pillow: %dm%02ds (JOBS=%s)\n' $((s / 60)) $((s % 60)) "$JOBS" \
  | tee "$OUT/build-time.txt" >&2
rm -rf "$WORK"
stamp_set "$OUT"
echo "$OUT"
