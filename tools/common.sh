# Shared settings for the build scripts in tools/. Sourced, never run.
# Everything built here lands in a cache outside the work tree, one folder per
# component and version, so a second build reuses it.
set -euo pipefail

CLOCHE_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CLOCHE_CACHE=${CLOCHE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/cloche}
JOBS=${JOBS:-$(nproc)}

# Pinned versions: change one and its cache key changes with it.
PY_VERSION=3.13.5
LLVM_VER=19
WASMTIME_VERSION=48.0.8
WIZER_VERSION=10.0.0

mkdir -p "$CLOCHE_CACHE"

log() { printf '[cloche-build] %s\n' "$*" >&2; }

# run_logged LOG CMD...: run CMD with its output in LOG; on failure show
# the log's tail and stop the script.
run_logged() {
  local logf=$1; shift
  if ! "$@" >"$logf" 2>&1; then
    log "FAILED: $* (log: $logf); last lines:"
    tail -n 80 "$logf" >&2
    exit 1
  fi
}

# stamp_ok DIR: true when DIR was completed by an earlier run.
stamp_ok() { [ -f "$1/.complete" ]; }
stamp_set() { touch "$1/.complete"; }

# source_file NAME: local path of the tools/sources.lock entry NAME, fetched
# and checked against its SHA-256 by tools/fetch.sh when not yet cached.
source_file() {
  local dir file
  dir=$(bash "$CLOCHE_ROOT/tools/fetch.sh" "$1") || exit 1
  file=$(awk -v n="$1" '$1==n{print $4}' "$CLOCHE_ROOT/tools/sources.lock")
  echo "$dir/$file"
}

# apt_install PKG...: install the Debian packages that are missing.
apt_install() {
  local p missing="" SUDO=""
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing="$missing $p"
  done
  [ -z "$missing" ] && return 0
  log "apt-get install:$missing"
  [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update >&2
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends $missing >&2
}
