#!/usr/bin/env bash
# Builds wasmtime's C API (static library + headers) from the crates.io crate
# wasmtime-c-api-impl, with only the features cloche uses. Output:
#   $CLOCHE_CACHE/wasmtime-<ver>/{lib/libwasmtime.a,include/}
. "$(dirname "$0")/common.sh"

# "async" only so that async_stack_size can be raised: wasmtime requires
# max_wasm_stack <= async_stack_size even when async support is off, and the
# guest gets a 4 MiB stack (src/engine.c).
FEATURES="cranelift,parallel-compilation,pooling-allocator,cache,disable-logging,async"
# Every crate is pinned by the checksums in tools/wasmtime.Cargo.lock.
LOCK="$CLOCHE_ROOT/tools/wasmtime.Cargo.lock"
KEY=$( { [ ! -f "$LOCK" ] || cat "$LOCK"; echo "$FEATURES"; } | sha256sum | cut -c1-8)
OUT="$CLOCHE_CACHE/wasmtime-$WASMTIME_VERSION-$KEY"
stamp_ok "$OUT" && { echo "$OUT"; exit 0; }

WORK="$CLOCHE_CACHE/wasmtime-build-$WASMTIME_VERSION"
mkdir -p "$WORK/src"
# A tiny staticlib crate whose only job is to link the C API implementation.
cat > "$WORK/Cargo.toml" <<TOML
[package]
name = "cloche-wasmtime"
version = "0.0.0"
edition = "2021"
publish = false

[lib]
crate-type = ["staticlib"]
path = "src/lib.rs"

[dependencies]
wasmtime-c-api-impl = { version = "=$WASMTIME_VERSION", default-features = false, features = [$(echo "$FEATURES" | sed 's/[^,]*/"&"/g')] }

[profile.release]
opt-level = 3
debug = false
panic = "abort"
lto = "thin"
codegen-units = 16
TOML
echo 'pub use wasmtime_c_api::*;' > "$WORK/src/lib.rs"

log "building wasmtime C API $WASMTIME_VERSION (features: $FEATURES)"
locked=()
if [ -f "$LOCK" ]; then cp "$LOCK" "$WORK/Cargo.lock"; locked=(--locked); fi
(cd "$WORK" && cargo build --release -j "$JOBS" "${locked[@]}" >&2)
[ -f "$LOCK" ] || cp "$WORK/Cargo.lock" "$LOCK"  # first pin: commit it

mkdir -p "$OUT/lib"
cp "$WORK/target/release/libcloche_wasmtime.a" "$OUT/lib/libwasmtime.a"
inc=$(ls -d "$WORK"/target/release/build/wasmtime-c-api-impl-*/out/include | head -n1)
rm -rf "$OUT/include" && cp -r "$inc" "$OUT/include"
stamp_set "$OUT"
echo "$OUT"
