"""bench/compare.py's cloche peer: every row through cloche's fastest
documented path, in the worker process."""

from __future__ import annotations

import gc
from typing import Any

from compare_common import (AGENT_SESSION, CALLS, GATHER, LOOPS, Config, Recorder,
                            amedian_of, median_of, private_kib)
from compare_kernels import record_kernels


def bench_cloche(cfg: Config, native: str) -> Recorder:
    import asyncio
    import cloche

    rec = Recorder()
    rec.info["version"] = cloche.__version__
    with cloche.Sandbox() as sb:  # compile/map the guest before timing
        sb.run_sync("1")

    with rec.rows_of("fresh_plain"):
        def fresh() -> None:
            with cloche.Sandbox() as sb:
                assert sb.run_sync("1+1").value == 2
        rec.put("fresh_plain", median_of(fresh, cfg.fresh, cfg.gap) * 1e3,
                "`Sandbox()`, `run_sync`, `close()`")

    async def pooled() -> None:
        async with cloche.Pool(size=4) as pool:
            async def one() -> None:
                async with pool.sandbox() as sb:
                    assert (await sb.run("1+1")).value == 2

            async def one_sync() -> None:
                async with pool.sandbox() as sb:
                    assert sb.run_sync("1+1").value == 2

            async def ten() -> None:
                async with pool.sandbox() as sb:
                    await sb.run("total = 0")
                    for _ in range(9):
                        await sb.run("total += 1\ntotal")

            async def ten_sync() -> None:
                async with pool.sandbox() as sb:
                    sb.run_sync("total = 0")
                    for _ in range(9):
                        sb.run_sync("total += 1\ntotal")
            for key, fns in (("fresh_pool", (one, one_sync)),
                             ("session10", (ten, ten_sync))):
                aw, bl = [await amedian_of(f, cfg.fresh, cfg.gap) * 1e3 for f in fns]
                rec.put(key, min(aw, bl), "`cloche.Pool(size=4)`, the faster of "
                        "`await sb.run` and `sb.run_sync` on the pooled sandbox",
                        note=f"`await sb.run` {aw:.2f} ms, `run_sync` {bl:.2f} ms")
    with rec.rows_of("fresh_pool", "session10"):
        asyncio.run(pooled())

    with rec.rows_of("run"), cloche.Sandbox() as sb:
        sb.run_sync("total = 0")
        rec.put("run", median_of(lambda: sb.run_sync("total += 1\ntotal"),
                                 cfg.runs) * 1e6, "`run_sync`")

    with rec.rows_of("tool_sync", "tool_await", "gather"):
        cloche_tools(rec, cfg)
    with rec.rows_of("k_recursion", "k_dict_str", "k_json_roundtrip", "k_regex",
                     "k_geomean"), cloche.Sandbox(timeout=600) as sb:
        record_kernels(rec, cfg, lambda s: sb.run_sync(s, check=True).stdout, native)
    with rec.rows_of("mem_idle"):
        gc.collect()
        before = private_kib()
        held = [cloche.Sandbox() for _ in range(cfg.held)]
        for sb in held:
            sb.run_sync("x = 1")
        rec.put("mem_idle", (private_kib() - before) / 1024 / cfg.held,
                f"{cfg.held} `Sandbox()`es after `x = 1`, this process")
        for sb in held:
            sb.close()
    with rec.rows_of("image_size", "image_save", "image_restore",
                     "state_size", "state_save", "state_restore"):
        cloche_snapshots(rec, cfg)
    return rec


def cloche_tools(rec: Recorder, cfg: Config) -> None:
    import asyncio
    import cloche

    def echo() -> None:
        """Return nothing."""

    async def aecho() -> None:
        """Return nothing (async)."""

    async def nap(seconds: float) -> None:
        """Sleep without a thread."""
        await asyncio.sleep(seconds)

    tools: list[Any] = [cloche.tool(echo), cloche.tool(aecho), cloche.tool(nap)]

    async def main() -> None:
        async with cloche.Sandbox(tools=tools, timeout=600) as sb:
            await sb.run(LOOPS)

            def per_call(code: str) -> float:
                return median_of(lambda: sb.run_sync(code), cfg.tools) / CALLS

            base = per_call(f"empty_loop({CALLS})")
            sync = per_call(f"sync_loop({CALLS})") - base
            rec.put("tool_sync", sync * 1e6, "plain `def` tool, `run_sync`")

            async def awaited(code: str) -> float:
                return await amedian_of(lambda: sb.run(code), cfg.tools) / CALLS
            a_sync = await awaited(f"await await_loop({CALLS})") - base
            a_async = await awaited(f"await await_aloop({CALLS})") - base
            best = min(a_sync, a_async)
            rec.put("tool_await", best * 1e6, "`await sb.run`, the faster tool kind",
                    note=f"plain `def` tool {a_sync * 1e6:.1f} µs, "
                         f"`async def` tool {a_async * 1e6:.1f} µs")
            rec.put("gather", await amedian_of(lambda: sb.run(GATHER), cfg.tools) * 1e3,
                    "`async def` tool, `await sb.run`")
    asyncio.run(main())


def cloche_snapshots(rec: Recorder, cfg: Config) -> None:
    import cloche

    with cloche.Sandbox() as sb, cloche.Sandbox() as other:
        sb.run_sync(AGENT_SESSION, check=True)
        image = sb.snapshot()
        rec.put("image_size", len(image) / 1024, "`snapshot()` (memory image)")
        rec.put("image_save", median_of(sb.snapshot, cfg.snap) * 1e3)
        rec.put("image_restore",
                median_of(lambda: cloche.Sandbox.restore(image).close(), cfg.snap) * 1e3,
                "`Sandbox.restore` (a new sandbox) + `close()`")
        state = sb.save_state()
        rec.put("state_size", len(state) / 1024, "`save_state()`")
        rec.put("state_save", median_of(sb.save_state, cfg.snap) * 1e3)
        rec.put("state_restore",
                median_of(lambda: other.load_state(state), cfg.snap) * 1e3,
                "`load_state` into a live sandbox")
        assert other.run_sync("report").value == sb.run_sync("report").value
