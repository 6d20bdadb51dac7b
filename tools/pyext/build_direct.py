"""Build one extension module of a setuptools package without setuptools.

kiwisolver and Pillow describe their extension modules in setup.py, whose
build_ext cannot cross-compile. Their module lists are short and stable,
so this compiles the named sources with the pyext compiler wrappers
(bitcode, as for meson packages), links them through the same `-shared`
path (pyext_link.py keeps only PyInit_<name> public) and adds the module
to OUT in pyext_collect.py's layout:
  lib/<dotted.name>.a, modules.txt, link-args.txt (both appended to).

usage: build_direct.py OUT CC JOBS DOTTED.NAME SRC... -- FLAG...
"""

import concurrent.futures
import os
import subprocess
import sys

SUFFIX = ".cpython-313-wasm32-wasi.so"


def compile_one(cc, src, obj, flags):
    cmd = [cc, *flags, "-c", src, "-o", obj]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"build_direct.py: {' '.join(cmd)}\n{done.stderr}")
    return obj


def main():
    out, cc, jobs, dotted = sys.argv[1:5]
    rest = sys.argv[5:]
    split = rest.index("--") if "--" in rest else len(rest)
    sources, flags = rest[:split], rest[split + 1:]
    base = dotted.rsplit(".", 1)[-1]
    obj_dir = os.path.join(out, "obj", dotted)
    lib_dir = os.path.join(out, "lib")
    os.makedirs(obj_dir, exist_ok=True)
    os.makedirs(lib_dir, exist_ok=True)
    # Objects named by their index: two sources may share a basename.
    objs = [os.path.join(obj_dir, f"{i}-{os.path.basename(s)}.o")
            for i, s in enumerate(sources)]
    with concurrent.futures.ThreadPoolExecutor(int(jobs)) as pool:
        list(pool.map(compile_one, [cc] * len(sources), sources, objs,
                      [flags] * len(sources)))
    so = os.path.join(obj_dir, base + SUFFIX)
    subprocess.run([cc, "-shared", "-o", so, *objs], check=True)
    archive = os.path.join(lib_dir, dotted + ".a")
    os.replace(so, archive)
    with open(so + ".libs") as f:
        libs = f.read().split()
    with open(os.path.join(out, "modules.txt"), "a") as f:
        f.write(f"{dotted} PyInit_{base}\n")
    with open(os.path.join(out, "link-args.txt"), "a") as f:
        f.writelines(a + "\n" for a in [archive, *libs])


if __name__ == "__main__":
    main()
