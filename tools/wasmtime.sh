#!/usr/bin/env bash
# Builds wasmtime's C API (static library + headers) from the crates.io crate
# wasmtime-c-api-impl, with only the features cloche uses. Output:
#   $CLOCHE_CACHE/wasmtime-<ver>/{lib/libwasmtime.a,include/}
. "$(dirname "$0")/common.sh"

FEATURES="cranelift,parallel-compilation,pooling-allocator,cache,disable-logging"
OUT="$CLOCHE_CACHE/wasmtime-$WASMTIME_VERSION"
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
(cd "$WORK" && cargo build --release -j "$JOBS" >&2)

mkdir -p "$OUT/lib"
cp "$WORK/target/release/libcloche_wasmtime.a" "$OUT/lib/libwasmtime.a"
inc=$(ls -d "$WORK"/target/release/build/wasmtime-c-api-impl-*/out/include | head -n1)
rm -rf "$OUT/include" && cp -r "$inc" "$OUT/include"
stamp_set "$OUT"
echo "$OUT"
