#!/usr/bin/env python3
"""Adapter for the WebAssembly wasi-testsuite runner
(github.com/WebAssembly/wasi-testsuite, test-runner/): it translates the
runner's command line to `cloche wasi-run`.

    python3 test-runner/wasi_test_runner.py \\
        -r <cloche>/cli/wasi_testsuite_adapter.py -t tests/c/testsuite/ ...

The cloche binary is $TEST_RUNTIME_EXE, else $CLOCHE_BIN, else `cloche` on
PATH. Each --dir becomes a read-write mount at the same name under "/"
(the runner runs tests from their folder, with relative --dir names)."""

import argparse
import os
import shlex
import subprocess
import sys

exe = shlex.split(os.getenv("TEST_RUNTIME_EXE") or os.getenv("CLOCHE_BIN")
                  or "cloche")

parser = argparse.ArgumentParser()
parser.add_argument("--version", action="store_true")
parser.add_argument("--test-file")
parser.add_argument("--arg", action="append", default=[])
parser.add_argument("--env", action="append", default=[])
parser.add_argument("--dir", action="append", default=[])
args = parser.parse_args()

if args.version:
    out = subprocess.run(exe + ["version"], capture_output=True, text=True)
    # the runner wants "<name> <version>"
    print(out.stdout.strip() or "cloche unknown")
    sys.exit(0)

cmd = exe + ["wasi-run"]
for d in args.dir:
    cmd += ["--dir", d if "::" in d else f"{d}::{d}"]
for e in args.env:
    cmd += ["--env", e]
cmd += ["--", args.test_file] + args.arg
sys.exit(subprocess.run(cmd).returncode)
