# Shared steps for building CPython extension packages (numpy, pandas...)
# for wasm32-wasip1 so they can be linked statically into the guest.
# Sourced by tools/numpy.sh and tools/pandas.sh after common.sh; never run.
#
# How an extension package is built:
#   * meson cross-compiles it with the project's clang-19 wrappers (a cross
#     file made here); C++ gets Debian's libc++ for wasm32 (no threads, no
#     exceptions) plus tools/pyext/include shims;
#   * meson's python introspection runs the native CPython 3.13 (same source
#     as the guest) with the wasm build's sysconfig data and a prefix whose
#     include/ holds the wasm pyconfig.h, so it sees a wasm32-wasi CPython;
#   * everything is compiled to LLVM bitcode (-flto in PYEXT_CFLAGS); every
#     "shared library" link (an extension module) is intercepted by
#     tools/pyext/pyext_link.py, which links the module's objects and
#     libraries into one wasm object whose only public symbol is
#     PyInit_<name> (as a shared library's would be), in a static archive;
#   * pyext_collect then writes, for the whole package: lib/*.a, modules.txt
#     ("dotted.name PyInit_symbol" a line), link-args.txt and site/ (the
#     package's Python files as installed by meson).
# The guest (tools/guest.sh, data flavour) registers the modules
# as built-ins and puts site/ into the stdlib image.

# Build-side Python tools, pinned (name==version, checked by pip's hashes).
PYEXT_TOOLS_REQ="$CLOCHE_ROOT/tools/pyext/build-requirements.txt"
LIBCXX_INC=/usr/lib/llvm-$LLVM_VER/include/wasm32-wasi/c++/v1
LIBCXX_LIB=/usr/lib/llvm-$LLVM_VER/lib/wasm32-wasi

# Compiler flags every package build passes (meson -Dc_args/-Dcpp_args).
PYEXT_CFLAGS="'-O2', '-flto', '-DNDEBUG'"

# pyext_setup PY TC: sets PYEXT (the shared build-tools folder: venv, cross
# python prefix, compiler wrappers, cross file) and PYEXT_KEY.
pyext_setup() {
  local py=$1 tc=$2 key
  apt_install "libc++-$LLVM_VER-dev-wasm32" "libc++abi-$LLVM_VER-dev-wasm32"
  key=$( (cat "$CLOCHE_ROOT/tools/pyext.sh" "$PYEXT_TOOLS_REQ" \
          "$CLOCHE_ROOT"/tools/pyext/pyext_{link,collect}.py \
          "$CLOCHE_ROOT"/tools/pyext/include/*; \
          echo "$py $tc") | sha256sum | cut -c1-8)
  PYEXT_KEY=$key
  PYEXT="$CLOCHE_CACHE/pyext-tools-$key"
  stamp_ok "$PYEXT" && return 0
  rm -rf "$PYEXT"; mkdir -p "$PYEXT/bin"
  ln -s "$tc/sdk/bin/llvm-ar" "$PYEXT/bin/llvm-ar"
  log "pyext: build venv (meson, ninja, Cython from PyPI, pinned)"
  "$py/native/bin/python3.13" -m venv "$PYEXT/venv"
  "$PYEXT/venv/bin/python" -m pip install --quiet --require-hashes --no-deps \
      --only-binary :all: -r "$PYEXT_TOOLS_REQ" >&2

  # A "python" that looks like the wasm32-wasi CPython to meson.
  local pre="$PYEXT/wasm-python"
  mkdir -p "$pre/include/python3.13" "$pre/lib" "$pre/bin"
  cp -r "$py/src/Include/." "$pre/include/python3.13/"
  cp "$py/wasm/pyconfig.h" "$pre/include/python3.13/"
  ln -s "$(realpath "$py/native/lib/python3.13")" "$pre/lib/python3.13"
  local sysdir
  sysdir=$(dirname "$(ls "$py"/wasm/build/lib.wasi-wasm32-3.13/_sysconfigdata_*.py | head -n1)")
  cat > "$pre/bin/python3" <<SH
#!/bin/sh
# The native CPython $PY_VERSION presenting the wasm32-wasi build's sysconfig.
PYTHONHOME=$pre PYTHONPATH=$sysdir\${PYTHONPATH:+:\$PYTHONPATH} _PYTHON_HOST_PLATFORM=wasi-wasm32 \\
_PYTHON_SYSCONFIGDATA_NAME=_sysconfigdata__wasi_wasm32-wasi \\
exec $(realpath "$py/native/bin/python3.13") "\$@"
SH
  chmod +x "$pre/bin/python3"

  # Compiler wrappers: C and C++ for wasm32-wasip1; -shared links go to
  # pyext_link.py (an extension module becomes a static archive).
  local sdk="$tc/sdk/bin" cxxflags
  cxxflags="-nostdinc++ -isystem $CLOCHE_ROOT/tools/pyext/include -isystem $LIBCXX_INC -L$LIBCXX_LIB"
  for tool in cc c++; do
    local real="$sdk/clang" extra=""
    [ "$tool" = c++ ] && { real="$sdk/clang++"; extra=$cxxflags; }
    cat > "$PYEXT/bin/$tool" <<SH
#!/bin/sh
for a in "\$@"; do
  if [ "\$a" = -shared ]; then
    exec $(realpath "$py/native/bin/python3.13") $CLOCHE_ROOT/tools/pyext/pyext_link.py $LLVM_VER $sdk/llvm-ar "\$@"
  fi
done
exec $real $extra -Wno-unused-command-line-argument "\$@"
SH
    chmod +x "$PYEXT/bin/$tool"
  done

  cat > "$PYEXT/cross.ini" <<INI
[binaries]
c = '$PYEXT/bin/cc'
cpp = '$PYEXT/bin/c++'
ar = '$sdk/llvm-ar'
ranlib = '$sdk/llvm-ranlib'
strip = '$sdk/llvm-strip'
python = '$pre/bin/python3'
python3 = '$pre/bin/python3'
cython = '$PYEXT/venv/bin/cython'
pkg-config = 'false'

[host_machine]
system = 'wasi'
cpu_family = 'wasm32'
cpu = 'wasm32'
endian = 'little'

[properties]
needs_exe_wrapper = true
skip_sanity_check = true
longdouble_format = 'IEEE_QUAD_LE'
INI
  stamp_set "$PYEXT"
}

# pyext_collect BUILD_DIR DESTDIR OUT [--skip DOTTED]...: gathers the module
# archives of a meson build (after `meson install --destdir DESTDIR`) into OUT.
pyext_collect() {
  "$PYEXT/venv/bin/python" "$CLOCHE_ROOT/tools/pyext/pyext_collect.py" \
    "$PYEXT/bin/llvm-ar" "$@"
}

# pyext_pkgconfig_cross WORK PCDIR...: writes WORK/cross-pc.ini, a cross file
# whose pkg-config sees only PCDIR... and pybind11's own .pc (from the
# build venv), so meson's dependency('freetype2') / ('pybind11') find the
# wasm builds and never the machine's native libraries.
pyext_pkgconfig_cross() {
  local work=$1 dirs; shift
  dirs=$(printf '%s:' "$@" "$PYEXT"/venv/lib/python3.*/site-packages/pybind11/share/pkgconfig)
  cat > "$work/pkg-config" <<SH
#!/bin/sh
PKG_CONFIG_LIBDIR=${dirs%:} PKG_CONFIG_PATH= exec /usr/bin/pkg-config "\$@"
SH
  chmod +x "$work/pkg-config"
  cat > "$work/cross-pc.ini" <<INI
[binaries]
pkg-config = '$work/pkg-config'

[properties]
devnull = '/dev/null'
INI
}
