#!/usr/bin/env bash
# Builds the guest: the C glue linked with libpython3.13.a into a wasm32-wasip1
# reactor, the stdlib image (zip of .pyc), then pre-initializes the
# interpreter with Wizer. Output (path printed last):
#   $CLOCHE_CACHE/guest-<key>/cloche-guest.wasm   pre-initialized module
#   $CLOCHE_CACHE/guest-<key>/python313.zip       stdlib image
# The key hashes the guest sources and the build inputs, so editing guest/
# rebuilds only this step.
. "$(dirname "$0")/common.sh"

TC=$(bash "$CLOCHE_ROOT/tools/toolchain.sh")
PY=$(bash "$CLOCHE_ROOT/tools/cpython.sh" | tail -n1)
WIZER=$(bash "$CLOCHE_ROOT/tools/wizer.sh" | tail -n1)

TZDATA=$(source_file tzdata)   # IANA time zones for zoneinfo, pinned
key=$( (cd "$CLOCHE_ROOT" && cat tools/guest.sh tools/make_stdlib_zip.py tools/sources.lock \
        $(find guest -type f -name '*.[ch]' -o -type f -name '*.py' | sort); \
        echo "$PY $WIZER") | sha256sum | cut -c1-16)
OUT="$CLOCHE_CACHE/guest-$key"
stamp_ok "$OUT" && { echo "$OUT"; exit 0; }
rm -rf "$OUT"; mkdir -p "$OUT/stage/usr/local/lib"

CC="$TC/sdk/bin/clang"
log "guest: stdlib image"
sysconfigdata=$(ls "$PY"/wasm/build/lib.wasi-wasm32-3.13/_sysconfigdata_*.py | head -n1)
"$PY/native/bin/python3.13" "$CLOCHE_ROOT/tools/make_stdlib_zip.py" \
    "$OUT/python313.zip" "$PY/src/Lib" "$sysconfigdata" \
    "$CLOCHE_ROOT/guest/cloche_guest" "$TZDATA"
cp "$OUT/python313.zip" "$OUT/stage/usr/local/lib/python313.zip"

log "guest: compile and link the reactor"
objs=()
for src in "$CLOCHE_ROOT"/guest/*.c; do
  obj="$OUT/$(basename "${src%.c}").o"
  "$CC" -O2 -std=c11 -Wall -Wextra -Werror -Wno-unused-parameter \
      -I"$PY/src/Include" -I"$PY/wasm" -c "$src" -o "$obj"
  objs+=("$obj")
done
# shellcheck disable=SC2046
"$CC" -O2 -mexec-model=reactor -z stack-size=8388608 -Wl,--stack-first \
    -Wl,--strip-debug -o "$OUT/cloche-guest-raw.wasm" "${objs[@]}" \
    $(cat "$PY/link-libs.txt")

log "guest: pre-initialize with Wizer"
"$WIZER" --allow-wasi --init-func cloche_init --inherit-stdio true \
    --mapdir "/::$OUT/stage" -o "$OUT/cloche-guest.wasm" "$OUT/cloche-guest-raw.wasm"
rm -rf "$OUT/stage" "${objs[@]}"
stamp_set "$OUT"
echo "$OUT"
