#!/usr/bin/env bash
# Builds the native reference for the data guest: a venv of the native
# CPython 3.13.5 built from the same source as the guest (tools/cpython.sh)
# with numpy, pandas, matplotlib and the pure packages the data guest's
# image carries, at the same versions, from PyPI's manylinux wheels pinned
# by SHA-256 in tools/native-data-requirements.txt.
# Used by bench/data_kernels.py (native vs sandbox timings) and
# tests/python/test_data_scripts.py (byte-for-byte output); the test never
# builds it, it skips when it is missing.
# Output: $CLOCHE_CACHE/native-data-<key>/venv; prints its python last.
# The key covers this script, the requirements and the CPython folder.
. "$(dirname "$0")/common.sh"

REQ="$CLOCHE_ROOT/tools/native-data-requirements.txt"
CPY=$(bash "$CLOCHE_ROOT/tools/cpython.sh" | tail -n 1)
KEY=$( (cat "$CLOCHE_ROOT/tools/native_data.sh" "$REQ"; echo "$CPY") \
       | sha256sum | cut -c1-16)
OUT="$CLOCHE_CACHE/native-data-$KEY"
PY="$OUT/venv/bin/python3.13"
stamp_ok "$OUT" && { echo "$PY"; exit 0; }

NATIVE="$CPY/native/bin/python3.13"
# venv bootstraps pip with ensurepip (the wheel inside CPython's source).
"$NATIVE" -c 'import ensurepip, venv, ssl, zlib' \
    || { log "native CPython lacks ensurepip/ssl/zlib: $NATIVE"; exit 1; }

rm -rf "$OUT"; mkdir -p "$OUT"
log "native-data: venv with numpy, pandas, matplotlib (pinned wheels)"
"$NATIVE" -m venv "$OUT/venv"
# --no-deps: the requirements list the whole set; --only-binary: no
# source builds (the point is PyPI's own native wheels).
"$PY" -m pip install --quiet --disable-pip-version-check --require-hashes \
    --no-deps --only-binary :all: -r "$REQ" >&2
"$PY" -m pip check >&2
"$PY" -c 'import numpy, pandas, matplotlib, openpyxl, tabulate' >&2
stamp_set "$OUT"
echo "$PY"
