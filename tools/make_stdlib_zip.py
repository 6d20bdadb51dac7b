"""Build the guest's standard-library image: a zip of precompiled .pyc.

Run with the native CPython built from the same source as the guest, so the
bytecode magic matches. The zip is embedded in libcloche and served
read-only at /usr/local/lib/python313.zip through cloche's VFS; zipimport
reads it. Each module goes in as an unchecked-hash .pyc (nothing to stat,
never compared with its source) and, beside it, its .py source, which is
read only when a traceback or inspect asks for source lines (zipimport's
get_source through linecache). Deflated, which keeps the image small.
Wheels given after the guest package (e.g. tzdata) are added whole: their
modules like the stdlib's, their data files and .dist-info as they are.
A folder given there instead (a site-packages tree, e.g. numpy's from
tools/numpy.sh) is added the same way, less test folders.

usage: make_stdlib_zip.py OUT.zip LIB_DIR SYSCONFIGDATA.py GUEST_PKG_DIR
                          [WHEEL | SITE_DIR]...
"""

import importlib.util
import marshal
import os
import sys
import tempfile
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


# Data folders whose files a package opens by name (matplotlib's fonts and
# matplotlibrc via open()), which a path inside the zip cannot serve. Their
# files are stored uncompressed, and the host serves every stored member as
# a read-only file under /usr/local/share/python313/ (src/vfs/vfs_zip.c).
SERVED_DIRS = ("matplotlib/mpl-data/",)
# Data the sandbox never uses: GUI toolbar icons, the gallery's sample data
# and the Sphinx plot directive's templates, and usetex's kpsewhich script.
EXCLUDE_DATA = tuple("matplotlib/mpl-data/" + d for d in (
    "images/", "sample_data/", "plot_directive/", "kpsewhich.lua"))


def add_bytes(zf, arc, data):
    info = zipfile.ZipInfo(arc, date_time=(2000, 1, 1, 0, 0, 0))
    # zlib is built into the guest; served files must stay uncompressed.
    served = arc.startswith(SERVED_DIRS) and not arc.endswith((".py", ".pyc"))
    info.compress_type = zipfile.ZIP_STORED if served else zipfile.ZIP_DEFLATED
    zf.writestr(info, data)


def add_pyc(zf, path, arc, shown):
    add_bytes(zf, arc[:-3] + ".pyc", compile_source(path, shown))
    with open(path, "rb") as f:
        add_bytes(zf, arc, f.read())


def add_site(zf, root):
    """A folder of installed packages: modules compiled, other files kept."""
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in EXCLUDE_DIRS)
        rel = os.path.relpath(dirpath, root).replace(os.sep, "/")
        if rel != "." and "__init__.py" not in filenames:
            # zipimport finds a namespace package (mpl_toolkits) only
            # through its directory entry.
            zf.writestr(zipfile.ZipInfo(rel + "/", (2000, 1, 1, 0, 0, 0)), b"")
        for name in sorted(filenames):
            path = os.path.join(dirpath, name)
            arc = os.path.relpath(path, root).replace(os.sep, "/")
            if arc.startswith(EXCLUDE_DATA):
                continue
            if name.endswith(".py"):
                add_pyc(zf, path, arc, "/usr/local/lib/python313.zip/" + arc)
            else:
                with open(path, "rb") as f:
                    add_bytes(zf, arc, f.read())


def add_wheel(zf, wheel, tmp_dir):
    """A pure-Python wheel's files; modules compiled like the stdlib's."""
    with zipfile.ZipFile(wheel) as whl:
        for name in sorted(whl.namelist()):
            if name.endswith("/"):
                continue
            if name.endswith(".py"):
                path = whl.extract(name, tmp_dir)
                add_pyc(zf, path, name, "/usr/local/lib/python313.zip/" + name)
            else:
                add_bytes(zf, name, whl.read(name))


def main():
    out, lib_dir, sysconfigdata, guest_pkg = sys.argv[1:5]
    wheels = sys.argv[5:]
    if sys.version_info[:2] != (3, 13):
        sys.exit("make_stdlib_zip.py must run under CPython 3.13")
    tmp = out + ".tmp"
    with zipfile.ZipFile(tmp, "w") as zf:
        add_tree(zf, lib_dir)
        name = os.path.basename(sysconfigdata)
        add_pyc(zf, sysconfigdata, name, "/usr/local/lib/python313.zip/" + name)
        add_tree(zf, guest_pkg, "cloche_guest/")
        with tempfile.TemporaryDirectory() as tmp_dir:
            for wheel in wheels:
                if os.path.isdir(wheel):
                    add_site(zf, wheel)
                else:
                    add_wheel(zf, wheel, tmp_dir)
    os.replace(tmp, out)


if __name__ == "__main__":
    main()
