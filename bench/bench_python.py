"""cloche from Python: the C benchmark's latency lines, measured through the
package (medians over repeated trials), to show the binding's overhead.

    python bench/bench_python.py [--quick] [--c build/bench/cloche-bench]

With --c, the C benchmark runs first in the same invocation so the two sets
of numbers come from the same machine state.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import time
from collections.abc import Callable

import cloche


def median_us(fn: Callable[[], object], n: int, per: float = 1.0) -> float:
    samples = []
    for _ in range(n):
        t0 = time.perf_counter_ns()
        fn()
        samples.append(time.perf_counter_ns() - t0)
    return statistics.median(samples) / 1000.0 / per


@cloche.tool
def echo() -> None:
    """Return nothing, at once."""


@cloche.tool
async def aecho() -> None:
    """Return nothing, at once (async)."""


@cloche.tool
async def nap(seconds: float) -> None:
    """Sleep without holding a thread."""
    await asyncio.sleep(seconds)


LOOPS = ("def sync_loop(k):\n    for _ in range(k): echo()\n"
         "def async_sync_loop(k):\n    for _ in range(k): aecho()\n"
         "async def await_loop(k):\n    for _ in range(k): await echo()\n"
         "async def await_async_loop(k):\n    for _ in range(k): await aecho()\n"
         "def empty_loop(k):\n    for _ in range(k): pass")


def bench_fresh(n: int) -> None:
    def fresh() -> None:
        with cloche.Sandbox() as sb:
            assert sb.run_sync("1+1").value == 2

    print(f"(a) fresh Sandbox -> 1+1 -> close     median {median_us(fresh, n):9.1f} us")

    async def pooled() -> float:
        async with cloche.Pool(size=4) as pool:
            samples = []
            for _ in range(n):
                t0 = time.perf_counter_ns()
                async with pool.sandbox() as sb:
                    assert (await sb.run("1+1")).value == 2
                samples.append(time.perf_counter_ns() - t0)
                await asyncio.sleep(0.002)  # let the background reset finish
            return statistics.median(samples) / 1000.0

    async def idle_then_run() -> float:
        async with cloche.Sandbox() as sb:
            samples = []
            for _ in range(n):
                await sb.run("1+1")
                await asyncio.sleep(0.002)
                t0 = time.perf_counter_ns()
                await sb.run("1+1")
                samples.append(time.perf_counter_ns() - t0)
            return statistics.median(samples) / 1000.0

    print(f"    from a Pool, awaited 1+1          median {asyncio.run(pooled()):9.1f} us"
          f"  (a warm sandbox after the same 2 ms idle: "
          f"{asyncio.run(idle_then_run()):.1f} us)")
    with cloche.Sandbox() as sb:
        print(f"    run_sync('1+1') on a warm sandbox  median "
              f"{median_us(lambda: sb.run_sync('1+1'), n * 4):9.1f} us")

        async def awaited() -> float:
            samples = []
            for _ in range(n * 4):
                t0 = time.perf_counter_ns()
                await sb.run("1+1")
                samples.append(time.perf_counter_ns() - t0)
            return statistics.median(samples) / 1000.0

        print(f"    await run('1+1') on a warm sandbox median {asyncio.run(awaited()):9.1f} us")


def bench_session(n: int) -> None:
    with cloche.Sandbox() as sb:
        sb.run_sync("total = 0")

        def ten() -> None:
            for _ in range(10):
                sb.run_sync("total += 1\ntotal")

        m = median_us(ten, n)
        print(f"(b) ten small runs in one sandbox    median {m:9.1f} us  ({m / 10:.1f} us/run)")


def bench_tool_binding(n: int) -> None:
    """The Python side of one sync tool call on its own: validate the JSON
    arguments with pydantic, call the function, serialize the result."""
    from cloche._tools import result_json

    @cloche.tool
    def add(a: int, b: int) -> int:
        """Add."""
        return a + b

    def one() -> None:
        assert add.fn is not None
        result_json(add.fn(**add.bind('{"a": 1, "b": 2}')))

    def thousand() -> None:
        for _ in range(1000):
            one()

    us = median_us(thousand, n, 1000)
    print(f"    binding's own work per tool call (validate, call, serialize) {us:6.2f} us")


def bench_tools(n: int) -> None:
    with cloche.Sandbox(tools=[echo, aecho, nap]) as sb:
        sb.run_sync(LOOPS)
        base = median_us(lambda: sb.run_sync("empty_loop(1000)"), n, 1000)
        for label, code in (
            ("sync tool, sync style", "sync_loop(1000)"),
            ("sync tool, await", "await await_loop(1000)"),
            ("async tool, sync style", "async_sync_loop(1000)"),
            ("async tool, await", "await await_async_loop(1000)"),
        ):
            us = median_us(lambda: sb.run_sync(code), n, 1000) - base
            print(f"(d) tool round trip, {label:24s} median {us:8.2f} us  (run_sync)")

        async def awaited() -> None:
            for label, code in (("sync tool, await", "await await_loop(1000)"),
                                ("async tool, await", "await await_async_loop(1000)")):
                samples = []
                for _ in range(n):
                    t0 = time.perf_counter_ns()
                    await sb.run(code)
                    samples.append(time.perf_counter_ns() - t0)
                us = statistics.median(samples) / 1000.0 / 1000 - base
                print(f"(d) tool round trip, {label:24s} median {us:8.2f} us  (await run)")
            samples = []
            for _ in range(n):
                t0 = time.perf_counter_ns()
                await sb.run("import asyncio\n"
                             "await asyncio.gather(*(nap(0.01) for _ in range(100)))")
                samples.append(time.perf_counter_ns() - t0)
            print(f"    100 x 10 ms async tools gathered median "
                  f"{statistics.median(samples) / 1e6:8.2f} ms wall (serial: 1000 ms)")

        asyncio.run(awaited())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--c", metavar="CLOCHE_BENCH", help="run the C benchmark first")
    args = ap.parse_args()
    n = 10 if args.quick else 50
    if args.c:
        print("== C (cloche-bench --quick)")
        subprocess.run([args.c, "--quick"], check=False)
        print("== Python (cloche package)")
    with cloche.Sandbox() as sb:  # compile/map the guest before timing
        sb.run_sync("1")
    bench_fresh(n)
    bench_session(n)
    bench_tools(max(3, n // 5))
    bench_tool_binding(n)


if __name__ == "__main__":
    main()
