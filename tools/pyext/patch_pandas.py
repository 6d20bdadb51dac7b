"""Source edits that let pandas import in the guest (tools/pandas.sh).

wasm32-wasip1 CPython has no _ctypes and no mmap module. pandas imports
both at module level on paths every program takes, while using them only
on Windows (ctypes, for a clipboard message), for the dataframe
interchange protocol (ctypes) or for read_csv(..., memory_map=True) and
openpyxl's append mode (mmap). The imports become
optional; memory_map=True then fails with an OSError that says why.
Each edit must apply exactly once, so a pandas upgrade that moves the code
stops the build instead of passing silently.

usage: patch_pandas.py PANDAS_SOURCE_DIR
"""

import os
import sys

CTYPES = ("\nimport ctypes\n",
          "\ntry:\n    import ctypes\nexcept ImportError:  # cloche: no _ctypes\n"
          "    ctypes = None\n")
MMAP = ("\nimport mmap\n",
        "\ntry:\n    import mmap\nexcept ImportError:  # cloche: no mmap module\n"
        "    class mmap:  # noqa: N801  (stands in for the module)\n"
        "        ACCESS_READ = 1\n\n"
        "        class mmap:  # noqa: N801\n"
        "            def __init__(self, *args, **kwargs):\n"
        "                raise OSError('memory-mapped files are not available"
        " in the sandbox (memory_map=True)')\n")

EDITS = {
    "pandas/errors/__init__.py": [CTYPES],
    # The dataframe interchange protocol (pd.api.interchange) reads other
    # libraries' buffers through ctypes: unavailable in the guest.
    "pandas/core/interchange/from_dataframe.py": [CTYPES],
    "pandas/io/common.py": [MMAP],
    "pandas/io/excel/_openpyxl.py": [MMAP],
}


def main():
    root = sys.argv[1]
    for rel, edits in EDITS.items():
        path = os.path.join(root, rel)
        with open(path) as f:
            text = f.read()
        for old, new in edits:
            if text.count(old) != 1:
                sys.exit(f"patch_pandas.py: {rel}: expected {old.strip()!r} once")
            text = text.replace(old, new)
        with open(path, "w") as f:
            f.write(text)


if __name__ == "__main__":
    main()
