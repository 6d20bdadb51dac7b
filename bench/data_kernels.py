"""numpy and pandas in the data guest against native CPython with the same
versions (issue 14's benchmark), measured in one run. Not a test: it
asserts nothing about speed.

    python3 bench/data_kernels.py [--build build] [--quick]
                                  [--native PYTHON] [--runs N]

The native side is tools/native_data.sh's venv (the native CPython 3.13.5
built from the guest's source, with numpy 2.4.6, pandas 3.0.6 and
matplotlib 3.10.9 from PyPI's manylinux wheels); --native skips building
it. The same file, bench/data_kernels_run.py, runs natively and in
`cloche run`; it times each kernel inside the interpreter with
time.perf_counter (process start excluded) and reports medians. The 10 MB
CSV is written to a temporary folder, read natively from there and in the
sandbox through a read-only --mount.

Native numpy uses SIMD and OpenBLAS; the guest has neither (numpy's own
loops, no SIMD dispatch, one thread). OpenBLAS is held to one thread
(OPENBLAS_NUM_THREADS=1): the guest has one, and on a shared 2-core
machine OpenBLAS's threads slow a 300x300 product down 20-fold.

Prints a Markdown table: native, cloche, cloche / native.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RUNNER = ROOT / "bench" / "data_kernels_run.py"
GUEST_DIR = "/mnt/bench"
CSV_BYTES = 10_000_000
NATIVE_ENV = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}

LABELS = {
    "matmul_300": "300x300 float64 `A @ B`",
    "groupby_mean_1m": "`groupby(key).mean()`, 1M rows, 1000 keys",
    "read_csv_10mb": "`pd.read_csv`, 10 MB (240k rows, 5 columns)",
    "exp_sqrt_1m": "`np.exp` + `np.sqrt`, 1M float64",
    "sort_values_1m": "`sort_values`, 1M rows",
}


def write_csv(path: Path) -> None:
    """A 10 MB CSV of ints, dates, categories and floats, always the same."""
    rnd = random.Random(14)
    with path.open("w") as f:
        f.write("id,date,category,x,y\n")
        i = 0
        while f.tell() < CSV_BYTES:
            f.write(f"{i},2024-{rnd.randint(1, 12):02d}-{rnd.randint(1, 28):02d},"
                    f"cat{rnd.randint(0, 49)},{rnd.random() * 1000:.4f},"
                    f"{rnd.gauss(0, 1):.6f}\n")
            i += 1


def native_python(arg: str | None) -> str:
    if arg:
        return arg
    out = subprocess.run(["bash", str(ROOT / "tools" / "native_data.sh")],
                         check=True, capture_output=True, text=True).stdout
    return out.strip().splitlines()[-1]


def check(p: subprocess.CompletedProcess, what: str) -> str:
    if p.returncode != 0:
        sys.exit(f"data_kernels: {what} failed ({p.returncode}):\n{p.stderr}")
    return p.stdout


def kernels_native(py: str, csv: Path, repeat: int) -> dict:
    p = subprocess.run([py, str(RUNNER), str(csv), str(repeat)],
                       capture_output=True, text=True, env=NATIVE_ENV)
    return json.loads(check(p, "native kernels"))


def cloche_cmd(cloche: str, mount: Path) -> list[str]:
    return [cloche, "run", "--memory", "1G", "--timeout", "900",
            "--mount", f"{mount}:{GUEST_DIR}:ro"]


def kernels_sandbox(cloche: str, csv: Path, repeat: int) -> dict:
    p = subprocess.run([*cloche_cmd(cloche, csv.parent), str(RUNNER),
                        f"{GUEST_DIR}/{csv.name}", str(repeat)],
                       capture_output=True, text=True)
    return json.loads(check(p, "sandbox kernels"))


def process_ms(cmd: list[str], runs: int, env: dict | None = None) -> float:
    """Median wall time of a whole process, in ms (one warm-up first)."""
    samples = []
    for i in range(runs + 1):
        t0 = time.perf_counter()
        check(subprocess.run(cmd, capture_output=True, text=True, env=env),
              " ".join(cmd[:3]))
        if i:
            samples.append(time.perf_counter() - t0)
    return statistics.median(samples) * 1000


IN_PROCESS_NATIVE = """
import statistics, subprocess, sys, time
code = ("import time; t = time.perf_counter(); import pandas; "
        "print(time.perf_counter() - t)")
s = [float(subprocess.run([sys.executable, "-c", code], capture_output=True,
                          text=True, check=True).stdout) for _ in range(RUNS)]
print(statistics.median(s) * 1000)
"""

IN_PROCESS_SANDBOX = """
import statistics, time, cloche
with cloche.Sandbox() as sb:
    sb.run_sync("1")
s = []
for _ in range(RUNS):
    t = time.perf_counter()
    with cloche.Sandbox() as sb:
        assert sb.run_sync("import pandas; 1+1").value == 2
    s.append(time.perf_counter() - t)
print(statistics.median(s) * 1000)
"""


def in_process_ms(py: str, code: str, runs: int, env=None) -> float | None:
    p = subprocess.run([py, "-c", code.replace("RUNS", str(runs))],
                       capture_output=True, text=True, env=env)
    return float(p.stdout) if p.returncode == 0 else None


def row(label: str, native: float, sandbox: float) -> str:
    return (f"| {label} | {native:.2f} | {sandbox:.2f} | "
            f"{sandbox / native:.2g}x |")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--native", help="native python (default: tools/native_data.sh)")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--runs", type=int, help="repeats per kernel/process")
    args = ap.parse_args()
    runs = args.runs or (3 if args.quick else 9)
    cloche = str((ROOT / args.build / "cloche").resolve())
    py = native_python(args.native)
    # The first run may compile the guest module (cached afterwards).
    check(subprocess.run([cloche, "run", "-c", "import pandas"],
                         capture_output=True, text=True), "sandbox warm-up")

    lines = ["| measurement (median) | native ms | cloche ms | cloche / native |",
             "|---|---|---|---|"]
    with tempfile.TemporaryDirectory(prefix="cloche-bench-data-") as tmp:
        csv = Path(tmp) / "data.csv"
        write_csv(csv)
        nat = kernels_native(py, csv, runs)
        box = kernels_sandbox(cloche, csv, runs)
    for key, label in LABELS.items():
        lines.append(row(label, nat[key] * 1000, box[key] * 1000))

    nat_proc = process_ms([py, "-c", "import pandas"], runs, NATIVE_ENV)
    box_proc = process_ms([cloche, "run", "-c", "import pandas; 1+1"], runs)
    lines.append(row("process: `python -c 'import pandas'` vs "
                     "`cloche run -c 'import pandas; 1+1'`", nat_proc, box_proc))
    nat_imp = in_process_ms(py, IN_PROCESS_NATIVE, runs, NATIVE_ENV)
    pkg_py = ROOT / args.build / "python-venv" / "bin" / "python"
    box_new = in_process_ms(str(pkg_py), IN_PROCESS_SANDBOX, runs * 5) \
        if pkg_py.exists() else None
    if nat_imp and box_new:
        lines.append(row("in process: `import pandas` (fresh native process) vs "
                         "fresh `Sandbox()` -> `import pandas; 1+1` -> close",
                         nat_imp, box_new))
    print(f"native: {py} (OPENBLAS_NUM_THREADS=1)\ncloche: {cloche}\n"
          f"runs per median: {runs}\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
