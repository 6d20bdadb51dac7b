"""Stand-in for a shared-library link of an extension module (wasm32-wasip1).

The guest has no dlopen: every extension module is linked statically into
it, beside all the others. A shared library keeps its internal symbols to
itself; linked statically, two modules that each define `random_multinomial`
(numpy.random's _generator and mtrand do, with different signatures) or
each compile pandas' tokenizer would collide or, worse, call each other's
copy. So extension packages are compiled to LLVM bitcode (-flto), and when
the build links `foo.cpython-313-wasm32-wasi.so` with `-shared`, this
  1. links the module's objects and the static libraries it names into one
     bitcode module (llvm-link),
  2. makes every definition in it internal except PyInit_<name> (opt
     internalize + globaldce), exactly what a shared library's export list
     does,
  3. compiles that to one wasm object (llc) and writes OUT as a static
     archive holding it, and OUT.libs with the -l flags the link named.
tools/pyext/pyext_collect.py gathers both.

usage: pyext_link.py LLVM_BIN_SUFFIX LLVM_AR <the compiler's link args...>
"""

import os
import shlex
import subprocess
import sys
import tempfile

SUFFIX = ".cpython-313-wasm32-wasi.so"


def expand(args):
    """Expand @response-file arguments, as the compiler driver would."""
    out = []
    for a in args:
        if a.startswith("@") and os.path.isfile(a[1:]):
            with open(a[1:]) as f:
                out.extend(expand(shlex.split(f.read())))
        else:
            out.append(a)
    return out


def archive_members(ar, lib, into):
    """Extract a static library's members (ordinary or thin) into a fresh
    folder; returns their paths in archive order."""
    with open(lib, "rb") as f:
        thin = f.read(8) == b"!<thin>\n"
    names = subprocess.run([ar, "t", lib], check=True, text=True,
                           capture_output=True).stdout.split("\n")
    names = [n for n in names if n]
    if thin:
        base = os.path.dirname(os.path.abspath(lib))
        return [n if os.path.isabs(n) else os.path.join(base, n)
                for n in names]
    os.makedirs(into)
    # Members with one name would overwrite each other: take them by index.
    paths = []
    for i, name in enumerate(names):
        dest = os.path.join(into, f"{i}-{os.path.basename(name)}")
        data = subprocess.run([ar, "p", lib, name], check=True,
                              capture_output=True).stdout
        if names.count(name) > 1:
            sys.exit(f"pyext_link.py: {lib} has two members named {name}")
        with open(dest, "wb") as f:
            f.write(data)
        paths.append(dest)
    return paths


def main():
    ver, ar = sys.argv[1], sys.argv[2]
    args = expand(sys.argv[3:])
    out, objs, libs, flags = None, [], [], []
    i = 0
    while i < len(args):
        a = args[i]
        if a == "-o":
            out = args[i + 1]
            i += 2
            continue
        if a.endswith((".o", ".obj")):
            objs.append(os.path.abspath(a))
        elif a.endswith(".a"):
            libs.append(os.path.abspath(a))
        elif a.startswith("-l"):
            flags.append(a)
        i += 1
    if not out:
        sys.exit("pyext_link.py: no -o in the link command")
    name = os.path.basename(out)
    name = name[: -len(SUFFIX)] if name.endswith(SUFFIX) else name.split(".")[0]
    keep = "PyInit_" + name
    with tempfile.TemporaryDirectory() as tmp:
        inputs = list(objs)
        for n, lib in enumerate(libs):
            inputs += archive_members(ar, lib, os.path.join(tmp, f"lib{n}"))
        linked = os.path.join(tmp, "module.bc")
        # Every library member goes in; globaldce drops what the module
        # does not reach once only PyInit_<name> is public.
        subprocess.run([f"llvm-link-{ver}", "-o", linked, *inputs],
                       check=True)
        internal = os.path.join(tmp, "internal.bc")
        subprocess.run([f"opt-{ver}", "-passes=internalize,globaldce",
                        f"-internalize-public-api-list={keep}",
                        linked, "-o", internal], check=True)
        obj = os.path.join(tmp, name + ".o")
        subprocess.run([f"llc-{ver}", "-O2", "-filetype=obj",
                        "-relocation-model=static", internal, "-o", obj],
                       check=True)
        if os.path.exists(out):
            os.remove(out)
        subprocess.run([ar, "qcs", out, obj], check=True)
    with open(out + ".libs", "w") as f:
        f.writelines(flag + "\n" for flag in flags)


if __name__ == "__main__":
    main()
