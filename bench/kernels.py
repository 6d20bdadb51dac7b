"""Pure-Python kernels timed the same way in the sandbox and natively.

Prints one JSON object: {kernel: median seconds}. The harness (bench.c)
runs this file inside cloche and under native CPython 3.13 built from the
same source, and reports the ratio.
"""

import json
import re
import statistics
import time

REPEAT = 7


def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)


def k_recursion():
    fib(22)


def k_dict_str():
    d = {}
    for i in range(60000):
        key = "k%d" % (i % 5000)
        d[key] = d.get(key, "")[:20] + str(i)
    "".join(sorted(d))


DOC = [{"id": i, "name": "item-%d" % i, "tags": ["a", "b", str(i)],
        "price": i * 1.25, "ok": i % 3 == 0} for i in range(3000)]


def k_json():
    for _ in range(5):
        json.loads(json.dumps(DOC))


TEXT = " ".join("user%d@example.com said: order #%d costs $%d.%02d" %
                (i, i * 7, i % 500, i % 100) for i in range(4000))
PATTERN = re.compile(r"(\w+)@(\w+)\.com said: order #(\d+) costs \$(\d+)\.(\d+)")


def k_regex():
    total = 0
    for m in PATTERN.finditer(TEXT):
        total += int(m.group(3))
    re.sub(r"\d+", "N", TEXT)
    return total


KERNELS = {"recursion": k_recursion, "dict_str": k_dict_str,
           "json_roundtrip": k_json, "regex": k_regex}


def main():
    results = {}
    for name, fn in KERNELS.items():
        fn()  # warm up
        times = []
        for _ in range(REPEAT):
            t = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t)
        results[name] = statistics.median(times)
    print(json.dumps(results))


main()
