#!/usr/bin/env bash
# Fetches the external sources pinned in tools/sources.lock and checks each
# against its SHA-256. A file already present with the right hash is not
# fetched again.
#   tools/fetch.sh [--into DIR] [NAME...]   default DIR: $CLOCHE_CACHE/sources
# Prints DIR. NAME limits the fetch to those lock entries. CI runs it with
# --into an empty folder, so a source that vanished upstream fails CI rather
# than a new user's first build.
#
# Where files come from, in order (first one whose bytes match the pin wins):
#   deb-src  the upstream tarball alone, from every pool directory the trixie
#            source index lists for the package (any revision), then from the
#            package's conventional pool directory; no .dsc or Debian patch
#            is needed, so a revision the archive stopped serving is harmless
#   deb      the pinned .deb from the package's pool directory
#   pypi     `pip download` of the pinned wheel's version, else the file by
#            name from PyPI's simple index (always so for an sdist)
. "$(dirname "$0")/common.sh"

DEBIAN_MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
LOCK=${CLOCHE_SOURCES_LOCK:-$CLOCHE_ROOT/tools/sources.lock}
DEST="$CLOCHE_CACHE/sources"
if [ "${1:-}" = --into ]; then DEST=$2; shift 2; fi
mkdir -p "$DEST"
WANT=("$@")

APT="$CLOCHE_CACHE/apt-trixie"
APTOPT=(-o "Dir::Etc::SourceList=$APT/sources.list" -o "Dir::Etc::SourceParts=-"
        -o "Dir::State::Lists=$APT/lists" -o "Dir::Cache=$APT/cache"
        -o "Dir::State::Status=/var/lib/dpkg/status" -o "APT::Get::List-Cleanup=0" -o "APT::Sandbox::User=root")

# A private apt setup that sees trixie's source index without touching the
# system's sources; updated once per fetch.sh run, only if a file is missing.
apt_index_ready=0
apt_index() {
  [ "$apt_index_ready" = 1 ] && return 0
  mkdir -p "$APT/lists/partial" "$APT/cache/archives/partial"
  cat > "$APT/sources.list" <<SRC
deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $DEBIAN_MIRROR trixie main
SRC
  log "apt-get update (private trixie source index)"
  apt-get "${APTOPT[@]}" update >&2 || log "warning: trixie index update failed"
  apt_index_ready=1
}

# pool_dir PACKAGE: Debian's conventional pool directory for a source package.
pool_dir() {
  case $1 in lib?*) echo "pool/main/${1:0:4}/$1" ;; *) echo "pool/main/${1:0:1}/$1" ;; esac
}

matches() { [ -f "$1" ] && [ "$(sha256sum "$1" | cut -d' ' -f1)" = "$2" ]; }

# try_url URL FILE SHA: download into FILE.part; keep it only if the hash matches.
try_url() {
  rm -f "$2.part"
  /usr/lib/apt/apt-helper download-file "$1" "$2.part" >/dev/null 2>&1 || true
  if matches "$2.part" "$3"; then mv "$2.part" "$2"; return 0; fi
  rm -f "$2.part"; return 1
}

fetch_deb() {  # fetch_deb KIND PACKAGE FILE SHA -> tried URLs in $tried
  local kind=$1 pkg=$2 file=$3 sha=$4 dirs=() d
  if [ "$kind" = deb-src ]; then
    apt_index
    mapfile -t dirs < <(apt-cache "${APTOPT[@]}" showsrc "$pkg" 2>/dev/null |
                        awk '/^Directory:/{print $2}' | sort -u)
  fi
  dirs+=("$(pool_dir "$pkg")")
  for d in $(printf '%s\n' "${dirs[@]}" | awk '!seen[$0]++'); do
    tried+=("$DEBIAN_MIRROR/$d/$file")
    try_url "$DEBIAN_MIRROR/$d/$file" "$DEST/$file" "$sha" && return 0
  done
  return 1
}

# fetch_sdist PACKAGE FILE SHA: an sdist from PyPI's simple index (the JSON
# form pip reads). `pip download` cannot fetch an sdist without building its
# metadata, which for numpy or pandas means a whole native meson setup.
fetch_sdist() {
  local pkg=$1 file=$2 sha=$3 url
  url=$(python3 - "$pkg" "$file" <<'PY'
import json, sys, urllib.request
index = "https://pypi.org/simple/%s/" % sys.argv[1]
req = urllib.request.Request(
    index, headers={"Accept": "application/vnd.pypi.simple.v1+json"})
for f in json.load(urllib.request.urlopen(req, timeout=120))["files"]:
    if f["filename"] == sys.argv[2]:
        print(f["url"])
PY
) || true
  tried+=("PyPI simple index for $pkg: ${url:-no file $file}")
  [ -n "$url" ] && try_url "$url" "$DEST/$file" "$sha"
}

fetch_pypi() {  # fetch_pypi PACKAGE FILE SHA
  local pkg=$1 file=$2 sha=$3 ver tmp
  case $file in *.tar.gz) fetch_sdist "$@"; return ;; esac
  ver=$(echo "$file" | sed -E "s/^${pkg}-([^-]+)-.*/\1/; s/^${pkg}-([^-]+)\.tar\.gz$/\1/")
  local form=--only-binary; case $file in *.tar.gz) form=--no-binary ;; esac
  tried+=("pip download $form :all: $pkg==$ver")
  tmp=$(mktemp -d)
  python3 -m pip download --quiet --no-deps "$form" :all: -d "$tmp" \
      "$pkg==$ver" >/dev/null 2>&1 || true
  if matches "$tmp/$file" "$sha"; then mv "$tmp/$file" "$DEST/$file"; rm -rf "$tmp"; return 0; fi
  rm -rf "$tmp"
  # pip prefers a platform wheel when one exists (fonttools has compiled
  # ones); the pinned pure wheel is then taken from the index by name.
  fetch_sdist "$pkg" "$file" "$sha"
}

failed=0
while read -r name kind pkg file sha; do
  case $name in ''|'#'*) continue ;; esac
  if [ ${#WANT[@]} -gt 0 ] && ! printf '%s\n' "${WANT[@]}" | grep -qx "$name"; then continue; fi
  matches "$DEST/$file" "$sha" && continue
  tried=()
  case $kind in
    deb-src|deb) fetch_deb "$kind" "$pkg" "$file" "$sha" ;;
    pypi) fetch_pypi "$pkg" "$file" "$sha" ;;
    *) log "sources.lock: unknown kind '$kind' for $name"; false ;;
  esac || {
    log "FETCH FAILED: $name ($pkg: $file, sha256 $sha); tried:"
    for t in "${tried[@]}"; do log "  $t"; done
    failed=1
    continue
  }
  log "fetched $name: $file (sha256 ok)"
done < "$LOCK"
[ "$failed" = 0 ] || exit 1
echo "$DEST"
