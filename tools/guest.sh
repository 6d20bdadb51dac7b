#!/usr/bin/env bash
# Builds the guest: the C glue linked with libpython3.13.a into a wasm32-wasip1
# reactor, the stdlib image (zip of .pyc), then pre-initializes the
# interpreter with Wizer. Output (path printed last):
#   $CLOCHE_CACHE/guest-<key>/cloche-guest.wasm   pre-initialized module
#   $CLOCHE_CACHE/guest-<key>/python313.zip       stdlib image
# The key hashes the guest sources and the build inputs, so editing guest/
# rebuilds only this step.
#
# By default this is the data-stack flavour (docs/data-stack.md): numpy,
# pandas, matplotlib and their compiled dependencies (tools/numpy.sh,
# pandas.sh, mpl_deps.sh, contourpy.sh, matplotlib.sh) compiled in, their
# extension modules registered as built-ins, their Python files and
# pure-Python dependencies in the image, and pre-imported.
# CLOCHE_DATA_STACK=0 builds the minimal flavour (CPython's stdlib only).
. "$(dirname "$0")/common.sh"

TC=$(bash "$CLOCHE_ROOT/tools/toolchain.sh")
PY=$(bash "$CLOCHE_ROOT/tools/cpython.sh" | tail -n1)
WIZER=$(bash "$CLOCHE_ROOT/tools/wizer.sh" | tail -n1)

TZDATA=$(source_file tzdata)   # IANA time zones for zoneinfo, pinned
DATA_STACK=${CLOCHE_DATA_STACK:-1}
pkgs=()      # package folders made by tools/pyext.sh (lib/, site/, ...)
flavour=""
wheels=()    # pure-Python wheels the packages need (pinned)
if [ "$DATA_STACK" = 1 ]; then
  pkgs+=("$(bash "$CLOCHE_ROOT/tools/numpy.sh" | tail -n1)")
  pkgs+=("$(bash "$CLOCHE_ROOT/tools/pandas.sh" | tail -n1)")
  pkgs+=("$(bash "$CLOCHE_ROOT/tools/mpl_deps.sh" | tail -n1)")    # kiwisolver, Pillow
  pkgs+=("$(bash "$CLOCHE_ROOT/tools/contourpy.sh" | tail -n1)")
  pkgs+=("$(bash "$CLOCHE_ROOT/tools/matplotlib.sh" | tail -n1)")
  for w in dateutil six pyparsing cycler packaging fonttools openpyxl et_xmlfile tabulate; do
    wheels+=("$(source_file "$w")")
  done
  flavour="data-"
fi
key=$( (cd "$CLOCHE_ROOT" && cat tools/guest.sh tools/make_stdlib_zip.py tools/sources.lock \
        $(find guest -type f -name '*.[ch]' -o -type f -name '*.py' | sort); \
        echo "$PY $WIZER"; [ ${#pkgs[@]} = 0 ] || { echo "${pkgs[*]}"; \
        cat tools/pyext/gen_builtins.py tools/pyext/cxa_stubs.c; }) | sha256sum | cut -c1-16)
OUT="$CLOCHE_CACHE/guest-$flavour$key"
stamp_ok "$OUT" && { echo "$OUT"; exit 0; }
rm -rf "$OUT"; mkdir -p "$OUT/stage/usr/local/lib"

CC="$TC/sdk/bin/clang"
log "guest: stdlib image"
sysconfigdata=$(ls "$PY"/wasm/build/lib.wasi-wasm32-3.13/_sysconfigdata_*.py | head -n1)
"$PY/native/bin/python3.13" "$CLOCHE_ROOT/tools/make_stdlib_zip.py" \
    "$OUT/python313.zip" "$PY/src/Lib" "$sysconfigdata" \
    "$CLOCHE_ROOT/guest/cloche_guest" "$TZDATA" "${wheels[@]}" "${pkgs[@]/%//site}"
cp "$OUT/python313.zip" "$OUT/stage/usr/local/lib/python313.zip"
# The host also serves the image's uncompressed members as files under
# /usr/local/share/python313 (src/embedded.c); Wizer's run sees the same.
"$PY/native/bin/python3.13" - "$OUT/python313.zip" "$OUT/stage/usr/local/share/python313" <<'PY'
import sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
z.extractall(sys.argv[2], [i for i in z.infolist()
                           if i.compress_type == zipfile.ZIP_STORED and not i.is_dir()])
PY

log "guest: compile and link the reactor"
objs=()
for src in "$CLOCHE_ROOT"/guest/*.c; do
  obj="$OUT/$(basename "${src%.c}").o"
  "$CC" -O2 -std=c11 -Wall -Wextra -Werror -Wno-unused-parameter \
      -I"$PY/src/Include" -I"$PY/wasm" -c "$src" -o "$obj"
  objs+=("$obj")
done
pkg_libs=()
if [ ${#pkgs[@]} -gt 0 ]; then
  # The packages' modules as built-ins (overrides guest/builtins.c's weak
  # default), their archives, and libc++ for their C++ parts.
  "$PY/native/bin/python3.13" "$CLOCHE_ROOT/tools/pyext/gen_builtins.py" \
      "$OUT/data_stack_builtins.c" "${pkgs[@]/%//modules.txt}"
  "$CC" -O2 -std=c11 -Wall -Wextra -Werror -I"$PY/src/Include" -I"$PY/wasm" \
      -c "$OUT/data_stack_builtins.c" -o "$OUT/data_stack_builtins.o"
  "$CC" -O2 -std=c11 -Wall -Wextra -Werror -c "$CLOCHE_ROOT/tools/pyext/cxa_stubs.c" \
      -o "$OUT/cxa_stubs.o"
  objs+=("$OUT/data_stack_builtins.o" "$OUT/cxa_stubs.o")
  for p in "${pkgs[@]}"; do mapfile -t -O ${#pkg_libs[@]} pkg_libs < "$p/link-args.txt"; done
  pkg_libs+=("-L/usr/lib/llvm-$LLVM_VER/lib/wasm32-wasi" -lc++ -lc++abi)
fi
# No -O at the link: with one, clang runs binaryen's wasm-opt on the module
# whenever one is on PATH, so the guest would depend on what the machine has
# installed (clang 19's --no-wasm-opt skips the link altogether). The objects
# are compiled with -O2 already. libpython is ThinLTO bitcode
# (tools/cpython.sh): the cache folder keeps its per-file code generation,
# so relinking after a glue change takes a second, not a minute.
# shellcheck disable=SC2046
"$CC" -mexec-model=reactor -z stack-size=8388608 -Wl,--stack-first \
    -Wl,--thinlto-cache-dir="$CLOCHE_CACHE/thinlto-guest" \
    -Wl,--strip-debug -o "$OUT/cloche-guest-raw.wasm" "${objs[@]}" \
    "${pkg_libs[@]}" $(cat "$PY/link-libs.txt")

log "guest: pre-initialize with Wizer"
"$WIZER" --allow-wasi --init-func cloche_init --inherit-stdio true \
    --mapdir "/::$OUT/stage" -o "$OUT/cloche-guest.wasm" "$OUT/cloche-guest-raw.wasm"
rm -rf "$OUT/stage" "${objs[@]}"
stamp_set "$OUT"
echo "$OUT"
