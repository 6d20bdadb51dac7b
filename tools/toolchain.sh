#!/usr/bin/env bash
# Installs the Debian packages the build needs and prepares a private
# "WASI SDK" folder: clang-19 wrappers targeting wasm32-wasip1, trixie's
# wasi-libc (extracted privately, nothing from trixie is installed), and a
# resource dir where clang finds the wasm builtins. Sources are fetched by
# tools/fetch.sh (pinned by SHA-256 in tools/sources.lock).
# Output: $CLOCHE_CACHE/toolchain-llvm<ver>/ (prints the path).
. "$(dirname "$0")/common.sh"

OUT="$CLOCHE_CACHE/toolchain-llvm$LLVM_VER"
stamp_ok "$OUT" && { echo "$OUT"; exit 0; }

APT_PKGS="clang-$LLVM_VER lld-$LLVM_VER llvm-$LLVM_VER libclang-rt-$LLVM_VER-dev-wasm32
  libzstd-dev libcmocka-dev libssl-dev libjansson-dev cmake ninja-build
  dpkg-dev xz-utils pkg-config nodejs openssl tcl"
apt_install $APT_PKGS

mkdir -p "$OUT"
# --- wasi-libc from trixie (pinned .deb), extracted privately ----------------
SRCS=$(bash "$CLOCHE_ROOT/tools/fetch.sh" wasi-libc)
rm -rf "$OUT/wasi-libc" && dpkg -x "$SRCS"/wasi-libc_*.deb "$OUT/wasi-libc"
SYSROOT="$OUT/wasi-libc/usr"
[ -d "$SYSROOT/lib/wasm32-wasip1" ] || { log "unexpected wasi-libc layout"; exit 1; }

# --- resource dir: clang's headers plus the wasm builtins where clang-19 looks
RES_SYS=$(clang-$LLVM_VER -print-resource-dir)
RES="$OUT/resource"
rm -rf "$RES"; mkdir -p "$RES/lib/wasm32-unknown-wasip1"
ln -s "$RES_SYS/include" "$RES/include"
cp "$RES_SYS/lib/wasi/libclang_rt.builtins-wasm32.a" \
   "$RES/lib/wasm32-unknown-wasip1/libclang_rt.builtins.a"

# --- WASI_SDK_PATH-style folder of wrappers ---------------------------------
SDK="$OUT/sdk"; mkdir -p "$SDK/bin"
for tool in clang clang++; do
  cat > "$SDK/bin/$tool" <<W
#!/bin/sh
exec ${tool/clang/clang}-$LLVM_VER --target=wasm32-wasip1 --sysroot=$SYSROOT -resource-dir=$RES "\$@"
W
done
cat > "$SDK/bin/clang-cpp" <<W
#!/bin/sh
exec clang-$LLVM_VER -E --target=wasm32-wasip1 --sysroot=$SYSROOT -resource-dir=$RES "\$@"
W
for tool in ar ranlib nm strip objdump; do
  ln -sf "$(command -v llvm-$tool-$LLVM_VER)" "$SDK/bin/llvm-$tool"
done
ln -sf "$(command -v wasm-ld-$LLVM_VER)" "$SDK/bin/wasm-ld"
chmod +x "$SDK/bin/"*
ln -sfn "$SYSROOT" "$SDK/share-sysroot"
mkdir -p "$SDK/share"; ln -sfn "$SYSROOT" "$SDK/share/wasi-sysroot"

# Smoke test: a C program compiles and links for wasm32-wasip1.
printf '#include <stdio.h>\nint main(void){puts("ok");return 0;}\n' > "$OUT/hello.c"
"$SDK/bin/clang" -O2 "$OUT/hello.c" -o "$OUT/hello.wasm"
stamp_set "$OUT"
echo "$OUT"
