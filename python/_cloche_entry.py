"""The Python package's `cloche` command (its console script).

The command is the C program of cli/, compiled into the extension
(cloche/_native.abi3.so, python/native/cli.c), so the wheel carries
libcloche and its guest image once. This module loads that extension by
path, without importing the cloche package (which imports pydantic: a
noticeable wait for every command), and hands it sys.argv. It lives at the
top level of site-packages for that reason.
"""

from __future__ import annotations

import os
import sys
from importlib.machinery import ExtensionFileLoader, ModuleSpec


def main() -> int:
    """Run the command with sys.argv; its exit status (it may exit itself)."""
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                        "cloche", "_native.abi3.so")
    # The loader's own steps: importlib.util (module_from_spec) would cost
    # more to import than the rest of this module.
    loader = ExtensionFileLoader("cloche._native", path)
    native = loader.create_module(ModuleSpec("cloche._native", loader, origin=path))
    loader.exec_module(native)
    # cloche-python (`cloche mcp`) is looked for beside the command: this
    # script's folder, since /proc/self/exe is the interpreter here.
    own_dir = os.path.dirname(os.path.realpath(sys.argv[0]))
    status: int = native.cli_main(sys.argv, own_dir)
    return status


if __name__ == "__main__":
    sys.exit(main())
