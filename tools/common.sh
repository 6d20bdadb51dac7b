# Shared settings for the build scripts in tools/. Sourced, never run.
# Everything built here lands in a cache outside the work tree, one folder per
# component and version, so a second build reuses it.
set -euo pipefail

CLOCHE_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CLOCHE_CACHE=${CLOCHE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/cloche}
JOBS=${JOBS:-$(nproc)}

# Pinned versions: change one and its cache key changes with it.
PY_VERSION=3.13.5
PY_DEB_SRC=python3.13          # Debian source package (trixie)
WASI_LIBC_DEB=wasi-libc        # binary package from trixie
LLVM_VER=19
WASMTIME_VERSION=48.0.8
WIZER_VERSION=10.0.0
ZLIB_DEB_SRC=zlib
SQLITE_DEB_SRC=sqlite3

mkdir -p "$CLOCHE_CACHE"

log() { printf '[cloche-build] %s\n' "$*" >&2; }

# stamp_ok DIR: true when DIR was completed by an earlier run.
stamp_ok() { [ -f "$1/.complete" ]; }
stamp_set() { touch "$1/.complete"; }
