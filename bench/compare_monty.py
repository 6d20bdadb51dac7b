"""bench/compare.py's Monty peer (pydantic-monty): every row through its
fastest documented path, in the worker process."""

from __future__ import annotations

import contextlib
import gc
import statistics
import time

from compare_common import (AGENT_SESSION, CALLS, GATHER, LOOPS, Config, Recorder,
                            amedian_of, median_of, private_kib)
from compare_kernels import record_kernels

MONTY_NOTE = "; Monty runs a subset of Python"


def bench_monty(cfg: Config, native: str) -> Recorder:
    import pydantic_monty as pm

    rec = Recorder()
    rec.info["version"] = pm.__version__
    many = {"max_suspensions": 10**7}

    with rec.rows_of("fresh_pool", "session10"), pm.Monty(min_processes=4, max_processes=4) as pool:
        def one() -> None:
            with pool.checkout() as s:
                assert s.feed_run("1+1") == 2

        def ten() -> None:
            with pool.checkout() as s:
                s.feed_run("total = 0")
                for _ in range(9):
                    s.feed_run("total += 1\ntotal")
        one()
        rec.put("fresh_pool", median_of(one, cfg.fresh, cfg.gap) * 1e3,
                "warm worker: `Monty(min_processes=4, max_processes=4).checkout()`, `feed_run`")
        rec.put("session10", median_of(ten, cfg.fresh, cfg.gap) * 1e3,
                "warm `checkout()`, 10 × `feed_run`")
    with rec.rows_of("fresh_plain"):
        def new_worker() -> None:
            with pm.Monty(min_processes=1) as p, p.checkout() as s:
                assert s.feed_run("1+1") == 2
        rec.put("fresh_plain", median_of(new_worker, cfg.slow, cfg.gap) * 1e3,
                "a new worker process: `with Monty()` + `checkout()`")

    with rec.rows_of("run", "tool_sync"), pm.Monty(min_processes=1) as pool, \
            pool.checkout(limits=many) as s:
        s.feed_run("total = 0")
        rec.put("run", median_of(lambda: s.feed_run("total += 1\ntotal"),
                                 cfg.runs) * 1e6, "`feed_run`")
        s.feed_run(LOOPS)
        look = {"echo": lambda: None}

        def per_call(code: str) -> float:
            return median_of(lambda: s.feed_run(code, external_lookup=look),
                             cfg.tools) / CALLS
        base = per_call(f"empty_loop({CALLS})")
        rec.put("tool_sync", (per_call(f"sync_loop({CALLS})") - base) * 1e6,
                "plain function via `external_lookup`, sync `Monty`")
    with rec.rows_of("tool_await", "gather"):
        monty_async_tools(rec, cfg, many)
    with rec.rows_of("k_recursion", "k_dict_str", "k_json_roundtrip", "k_regex",
                     "k_geomean"), pm.Monty(min_processes=1) as pool, \
            pool.checkout() as s:
        def run(script: str) -> str:
            out = pm.CollectString()
            s.feed_run(script, print_callback=out)
            return str(out.output)
        record_kernels(rec, cfg, run, native, MONTY_NOTE)
    with rec.rows_of("mem_idle"):
        monty_memory(rec, cfg)
    rec.na("state_size", "none: Monty dumps the whole session")
    rec.na("state_save", "—")
    rec.na("state_restore", "—")
    with rec.rows_of("image_size", "image_save", "image_restore"), \
            pm.Monty(min_processes=2) as pool:
        with pool.checkout() as s:
            s.feed_run(AGENT_SESSION)
            blob = s.dump()
            rec.put("image_size", len(blob) / 1024, "`session.dump()`")
            rec.put("image_save", median_of(s.dump, cfg.snap) * 1e3)
        samples = []
        for _ in range(cfg.snap):
            with pool.checkout() as fresh:
                t0 = time.perf_counter()
                fresh.load_session(blob)
                samples.append(time.perf_counter() - t0)
                assert fresh.feed_run("len(cart.items)") == 200
        rec.put("image_restore", statistics.median(samples) * 1e3,
                "`load_session` into a fresh checkout")
    return rec


def monty_async_tools(rec: Recorder, cfg: Config, many: dict[str, int]) -> None:
    import asyncio
    import pydantic_monty as pm

    async def aecho() -> None:
        return None

    async def nap(seconds: float) -> None:
        await asyncio.sleep(seconds)

    async def main() -> None:
        async with pm.AsyncMonty(min_processes=1) as pool, \
                pool.checkout(limits=many) as s:
            await s.feed_run(LOOPS)
            look = {"aecho": aecho, "echo": aecho, "nap": nap}

            async def per_call(code: str) -> float:
                return await amedian_of(lambda: s.feed_run(code, external_lookup=look),
                                        cfg.tools) / CALLS
            base = await per_call(f"empty_loop({CALLS})")
            rec.put("tool_await", (await per_call(f"await await_aloop({CALLS})") - base) * 1e6,
                    "`async def` via `external_lookup`, `AsyncMonty` "
                    "(a plain function cannot be awaited)")
            rec.put("gather", await amedian_of(
                lambda: s.feed_run(GATHER, external_lookup=look), cfg.tools) * 1e3,
                "`async def`, `AsyncMonty`")
    asyncio.run(main())


def monty_memory(rec: Recorder, cfg: Config) -> None:
    """Monty holds a session in a worker process: its private memory is
    that process's, plus whatever the pool keeps here per session."""
    import pydantic_monty as pm

    with pm.Monty(min_processes=1, max_processes=cfg.held + 1) as pool, \
            contextlib.ExitStack() as stack:
        gc.collect()
        before = private_kib()
        held = [stack.enter_context(pool.checkout()) for _ in range(cfg.held)]
        for s in held:
            s.feed_run("x = 1")
        here = private_kib() - before
        pids = {s.worker_pid for s in held}
        workers = sum(private_kib(p) for p in pids if p)
        rec.put("mem_idle", (here + workers) / 1024 / cfg.held,
                f"{len(pids)} worker processes after `x = 1` (their "
                f"Private_* summed) + this process's growth")
