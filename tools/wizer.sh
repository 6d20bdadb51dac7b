#!/usr/bin/env bash
# Installs Wizer (WebAssembly pre-initializer) from the npm registry into the
# cache. Prints the path of the wizer binary.
. "$(dirname "$0")/common.sh"

OUT="$CLOCHE_CACHE/wizer-$WIZER_VERSION"
if ! stamp_ok "$OUT"; then
  log "installing @bytecodealliance/wizer@$WIZER_VERSION from npm"
  mkdir -p "$OUT"
  npm install --silent --no-audit --no-fund --prefix "$OUT" \
      "@bytecodealliance/wizer@$WIZER_VERSION" >&2
  stamp_set "$OUT"
fi
bin=$(find "$OUT/node_modules/@bytecodealliance" -type f -name wizer -perm -u+x | head -n1)
[ -n "$bin" ] || { log "wizer binary not found under $OUT"; exit 1; }
echo "$bin"
