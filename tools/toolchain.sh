#!/usr/bin/env bash
# Installs the Debian packages the build needs and prepares a private
# "WASI SDK" folder: clang-19 wrappers targeting wasm32-wasip1, trixie's
# wasi-libc (extracted privately, nothing from trixie is installed), and a
# resource dir where clang finds the wasm builtins. Also fetches the Debian
# source packages (python3.13, zlib, sqlite3) from trixie.
# Output: $CLOCHE_CACHE/toolchain-llvm<ver>/ (prints the path).
. "$(dirname "$0")/common.sh"

OUT="$CLOCHE_CACHE/toolchain-llvm$LLVM_VER"
stamp_ok "$OUT" && { echo "$OUT"; exit 0; }

APT_PKGS="clang-$LLVM_VER lld-$LLVM_VER llvm-$LLVM_VER libclang-rt-$LLVM_VER-dev-wasm32
  libzstd-dev libcmocka-dev libssl-dev libjansson-dev cmake ninja-build
  dpkg-dev xz-utils pkg-config nodejs gpgv openssl"
missing=""
for p in $APT_PKGS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing="$missing $p"
done
if [ -n "$missing" ]; then
  log "apt-get install:$missing"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update >&2
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends $missing >&2
fi

mkdir -p "$OUT"
# --- private apt setup that can see trixie, without touching the system ----
APT="$OUT/apt"
mkdir -p "$APT/lists/partial" "$APT/cache/archives/partial"
cat > "$APT/sources.list" <<SRC
deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian trixie main
deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian trixie main
SRC
APTOPT=(-o "Dir::Etc::SourceList=$APT/sources.list" -o "Dir::Etc::SourceParts=-"
        -o "Dir::State::Lists=$APT/lists" -o "Dir::Cache=$APT/cache"
        -o "Dir::State::Status=/var/lib/dpkg/status" -o "APT::Get::List-Cleanup=0")
log "apt-get update (private trixie lists)"
apt-get "${APTOPT[@]}" update >&2

# --- wasi-libc from trixie, extracted privately -----------------------------
DL="$OUT/downloads"; mkdir -p "$DL"
(cd "$DL" && apt-get "${APTOPT[@]}" download "$WASI_LIBC_DEB/trixie" >&2)
rm -rf "$OUT/wasi-libc" && dpkg -x "$DL"/wasi-libc_*.deb "$OUT/wasi-libc"
SYSROOT="$OUT/wasi-libc/usr"
[ -d "$SYSROOT/lib/wasm32-wasip1" ] || { log "unexpected wasi-libc layout"; exit 1; }

# --- source packages ---------------------------------------------------------
SRCDIR="$OUT/src"; mkdir -p "$SRCDIR"
for pkg in "$PY_DEB_SRC" "$ZLIB_DEB_SRC" "$SQLITE_DEB_SRC"; do
  (cd "$SRCDIR" && apt-get "${APTOPT[@]}" source --download-only "$pkg/trixie" >&2)
done

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
