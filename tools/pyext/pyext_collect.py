"""Gather a meson-built extension package for static linking into the guest.

After `meson install --destdir DESTDIR`, every installed extension module
(`*.cpython-313-wasm32-wasi.so`) is really a static archive made by
pyext_link.py. This writes into OUT:
  lib/<dotted.name>.a   each module's archive
  lib/dep-<n>-<name>.a  each static library the modules linked (once)
  modules.txt           "dotted.name PyInit_symbol" per module
  link-args.txt         archives and -l flags for the final link, one a line
  site/                 the installed Python tree (no .so, .pyi, .pxd, .c)

usage: pyext_collect.py LLVM_AR BUILD_DIR DESTDIR OUT [--skip DOTTED]...
"""

import os
import shutil
import subprocess
import sys

SUFFIX = ".cpython-313-wasm32-wasi.so"
# Installed files the guest never needs.
DROP = (".so", ".pyi", ".pxd", ".pyx", ".pxi", ".c", ".h", ".cpp", ".hpp",
        ".a", ".lib", ".dll", ".in", ".typed")


def find_site(destdir):
    """The folder of the installed tree that holds top-level packages."""
    for dirpath, dirnames, filenames in os.walk(destdir):
        if "site-packages" in dirnames:
            return os.path.join(dirpath, "site-packages")
    sys.exit(f"pyext_collect.py: no site-packages under {destdir}")


def main():
    ar, build, destdir, out = sys.argv[1:5]
    skip = [sys.argv[i + 1] for i, a in enumerate(sys.argv) if a == "--skip"]
    site = find_site(destdir)
    lib_dir = os.path.join(out, "lib")
    os.makedirs(lib_dir, exist_ok=True)
    modules, deps, link = [], {}, []
    for dirpath, dirnames, filenames in os.walk(site):
        dirnames.sort()
        for name in sorted(filenames):
            if not name.endswith(SUFFIX):
                continue
            path = os.path.join(dirpath, name)
            rel = os.path.relpath(path, site)[: -len(SUFFIX)]
            dotted = rel.replace(os.sep, ".")
            if any(dotted == s or dotted.startswith(s + ".") for s in skip):
                continue
            base = dotted.rsplit(".", 1)[-1]
            modules.append((dotted, "PyInit_" + base))
            archive = os.path.join(lib_dir, dotted + ".a")
            shutil.copyfile(path, archive)
            link.append(archive)
            libs_file = find_libs(build, name)
            for dep in open(libs_file).read().split():
                if dep not in deps:
                    deps[dep] = dep
                    if not dep.startswith("-l"):
                        copy = os.path.join(
                            lib_dir, f"dep-{len(deps)}-{os.path.basename(dep)}")
                        copy_archive(ar, dep, copy)
                        deps[dep] = copy
    link.extend(deps[d] for d in deps)
    with open(os.path.join(out, "modules.txt"), "w") as f:
        f.writelines(f"{d} {s}\n" for d, s in modules)
    with open(os.path.join(out, "link-args.txt"), "w") as f:
        f.writelines(a + "\n" for a in link)
    copy_tree(site, os.path.join(out, "site"))


def copy_archive(ar, src, dst):
    """Copy a static library; meson's thin archives (which only point at
    objects in the build tree) become ordinary ones."""
    with open(src, "rb") as f:
        thin = f.read(8) == b"!<thin>\n"
    if not thin:
        shutil.copyfile(src, dst)
        return
    members = subprocess.run([ar, "t", src], check=True, text=True,
                             capture_output=True).stdout.split("\n")
    base = os.path.dirname(os.path.abspath(src))
    paths = [m if os.path.isabs(m) else os.path.join(base, m)
             for m in members if m]
    subprocess.run([ar, "qcs", dst, *paths], check=True)


def find_libs(build, name):
    """The .libs file pyext_link.py wrote beside the module in BUILD."""
    for dirpath, _, filenames in os.walk(build):
        if name + ".libs" in filenames:
            return os.path.join(dirpath, name + ".libs")
    sys.exit(f"pyext_collect.py: {name}.libs not found under {build}")


def copy_tree(src, dst):
    for dirpath, dirnames, filenames in os.walk(src):
        rel = os.path.relpath(dirpath, src)
        for name in filenames:
            if name.endswith(DROP):
                continue
            os.makedirs(os.path.join(dst, rel), exist_ok=True)
            shutil.copyfile(os.path.join(dirpath, name),
                            os.path.join(dst, rel, name))


if __name__ == "__main__":
    main()
