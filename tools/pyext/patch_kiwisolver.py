"""Give kiwisolver's METH_NOARGS methods the two parameters CPython passes.

kiwisolver defines its no-argument methods and getters as `f(Type* self)`
and casts them to PyCFunction (getters to getter). CPython calls them with
(self, NULL); natively the extra argument is ignored, but wasm checks the
signature of an indirect call, so the call traps (constrained layout, which
calls Solver.updateVariables, trapped). Each such definition gains an unused
`PyObject*` parameter.

usage: patch_kiwisolver.py KIWISOLVER_SRC_DIR
"""

import glob
import os
import re
import sys


def main():
    files = sorted(glob.glob(os.path.join(sys.argv[1], "py", "src", "*.cpp")))
    texts = {}
    for path in files:
        with open(path) as f:
            texts[path] = f.read()
    names = set()
    for text in texts.values():
        names.update(re.findall(
            r"\(\s*PyCFunction\s*\)\s*(\w+)\s*,\s*METH_NOARGS", text))
        # Getters are called with (self, closure): the same fix.
        names.update(re.findall(r"\(\s*getter\s*\)\s*(\w+)", text))
    if not names:
        sys.exit("patch_kiwisolver.py: no METH_NOARGS methods found")
    done = set()
    for path, text in texts.items():
        for name in names:
            pattern = r"^(%s\s*\(\s*\w+\s*\*\s*self)\s*\)" % re.escape(name)
            text, n = re.subn(pattern, r"\1, PyObject* )", text, flags=re.M)
            if n:
                done.add(name)
        with open(path, "w") as f:
            f.write(text)
    if done != names:
        sys.exit(f"patch_kiwisolver.py: not patched: {sorted(names - done)}")


if __name__ == "__main__":
    main()
