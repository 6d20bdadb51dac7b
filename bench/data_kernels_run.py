"""numpy/pandas kernels, timed inside the interpreter that runs this file.

    python data_kernels_run.py CSV_PATH REPEAT

Run unchanged natively and in the sandbox by bench/data_kernels.py; each
kernel is timed with time.perf_counter around the kernel alone (no process
start, no data generation), warmed up once, and reported as the median of
REPEAT runs. Prints one JSON object: {kernel: median seconds}.
"""

import json
import statistics
import sys
import time

import numpy as np
import pandas as pd

CSV_PATH = sys.argv[1]
REPEAT = int(sys.argv[2])

rng = np.random.default_rng(14)
A = rng.standard_normal((300, 300))
B = rng.standard_normal((300, 300))
ROWS = 1_000_000
FRAME = pd.DataFrame({"key": rng.integers(0, 1000, ROWS),
                      "value": rng.standard_normal(ROWS)})
VEC = rng.standard_normal(ROWS)


def k_matmul():
    return A @ B


def k_groupby_mean():
    return FRAME.groupby("key")["value"].mean()


def k_read_csv():
    return pd.read_csv(CSV_PATH)


def k_ufunc():
    return np.exp(VEC).sum() + np.sqrt(np.abs(VEC)).sum()


def k_sort_values():
    return FRAME.sort_values("value")


KERNELS = {"matmul_300": k_matmul, "groupby_mean_1m": k_groupby_mean,
           "read_csv_10mb": k_read_csv, "exp_sqrt_1m": k_ufunc,
           "sort_values_1m": k_sort_values}


def main():
    out = {}
    for name, fn in KERNELS.items():
        fn()  # warm up (first-touch allocation, caches)
        times = []
        for _ in range(REPEAT):
            t = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t)
        out[name] = statistics.median(times)
    print(json.dumps(out))


main()
