"""Build the guest's standard-library image: a zip of precompiled .pyc.

Run with the native CPython built from the same source as the guest, so the
bytecode magic matches. The zip is embedded in libcloche and served
read-only at /usr/local/lib/python313.zip through cloche's VFS; zipimport
reads it. Only .pyc files go in (unchecked-hash pycs: nothing to stat),
and deflated, which keeps the image small; stdlib frames in tracebacks therefore show
file and line but no source text.

usage: make_stdlib_zip.py OUT.zip LIB_DIR SYSCONFIGDATA.py GUEST_PKG_DIR
"""

import importlib.util
import marshal
import os
import sys
import zipfile

# Packages that cannot work in the sandbox or only serve development.
EXCLUDE_DIRS = {
    "test", "tests", "idle_test", "idlelib", "tkinter", "turtledemo",
    "ensurepip", "venv", "lib2to3", "__pycache__", "site-packages",
    "pydoc_data", "config-3.13-wasm32-wasi",
}
EXCLUDE_FILES = {"turtle.py", "antigravity.py", "this.py"}


def compile_source(path, arcname):
    with open(path, "rb") as f:
        source = f.read()
    code = compile(source, arcname, "exec", dont_inherit=True)
    flags = 0b01  # hash-based, unchecked: never compared with a source
    data = bytearray(importlib.util.MAGIC_NUMBER)
    data += flags.to_bytes(4, "little")
    data += importlib.util.source_hash(source)
    data += marshal.dumps(code)
    return bytes(data)


def add_tree(zf, root, prefix=""):
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in EXCLUDE_DIRS)
        for name in sorted(filenames):
            if not name.endswith(".py") or name in EXCLUDE_FILES:
                continue
            path = os.path.join(dirpath, name)
            rel = os.path.relpath(path, root).replace(os.sep, "/")
            arc = prefix + rel
            # co_filename as the guest would see it, for tracebacks.
            shown = "/usr/local/lib/python313.zip/" + arc
            add_pyc(zf, path, arc, shown)


def add_pyc(zf, path, arc, shown):
    info = zipfile.ZipInfo(arc[:-3] + ".pyc", date_time=(2000, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_DEFLATED  # zlib is built into the guest
    zf.writestr(info, compile_source(path, shown))


def main():
    out, lib_dir, sysconfigdata, guest_pkg = sys.argv[1:5]
    if sys.version_info[:2] != (3, 13):
        sys.exit("make_stdlib_zip.py must run under CPython 3.13")
    tmp = out + ".tmp"
    with zipfile.ZipFile(tmp, "w") as zf:
        add_tree(zf, lib_dir)
        name = os.path.basename(sysconfigdata)
        add_pyc(zf, sysconfigdata, name, "/usr/local/lib/python313.zip/" + name)
        add_tree(zf, guest_pkg, "cloche_guest/")
    os.replace(tmp, out)


if __name__ == "__main__":
    main()
