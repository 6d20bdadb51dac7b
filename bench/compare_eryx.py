"""bench/compare.py's eryx peer (pyeryx): every row through its fastest
documented path, in the worker process."""

from __future__ import annotations

import gc
import os
import time
from pathlib import Path
from typing import Any

from compare_common import (AGENT_SESSION, CALLS, GATHER, LOOPS, Config, Recorder,
                            median_of, private_kib)
from compare_kernels import record_kernels


def eryx_factory(cache: Path) -> Any:
    """eryx's SandboxFactory (what its SandboxPool is made from): built once
    (about a minute here) and saved beside the venv; loaded in ~0.1 s."""
    import eryx

    path = cache / f"eryx-{eryx.__version__}-factory.bin"
    if path.exists():
        return eryx.SandboxFactory.load(str(path))
    factory = eryx.SandboxFactory()
    factory.save(str(path) + ".tmp")
    os.replace(str(path) + ".tmp", path)
    return factory


def bench_eryx(cfg: Config, native: str, cache: Path) -> Recorder:
    import eryx

    rec = Recorder()
    rec.info["version"] = eryx.__version__
    t0 = time.perf_counter()
    rec.info["factory_built"] = not any(cache.glob("eryx-*-factory.bin"))
    factory = eryx_factory(cache)
    rec.info["factory_seconds"] = time.perf_counter() - t0
    limits = eryx.ResourceLimits(execution_timeout_ms=600000,
                                 max_callback_invocations=10**7)
    eryx.Sandbox().execute("result = 1")  # first-use costs before timing

    with rec.rows_of("fresh_pool"):
        with factory.create_pool(max_size=4, min_idle=2) as pool:
            def one() -> None:
                with pool.acquire() as sb:
                    assert sb.execute("result = 1+1").result == 2
            one()
            built = "built" if rec.info.pop("factory_built") else "loaded"
            rec.put("fresh_pool", median_of(one, cfg.fresh, cfg.gap) * 1e3,
                    "`SandboxFactory.create_pool(max_size=4, min_idle=2)`, `acquire`",
                    note=f"its SandboxFactory {built} in "
                         f"{rec.info['factory_seconds']:.1f} s before the run (not timed)")
    with rec.rows_of("fresh_plain"):
        def plain() -> None:
            assert eryx.Sandbox().execute("result = 1+1").result == 2

        def session() -> None:
            assert eryx.Session().execute("result = 1+1").result == 2
        s_ms = median_of(session, cfg.fresh, cfg.gap) * 1e3
        rec.put("fresh_plain", median_of(plain, cfg.fresh, cfg.gap) * 1e3,
                "`Sandbox().execute`", note=f"`Session()` instead: {s_ms:.2f} ms")

    with rec.rows_of("session10"):
        def ten() -> None:
            s = factory.create_session()
            s.execute("total = 0")
            for _ in range(9):
                s.execute("total += 1\nresult = total")
        rec.put("session10", median_of(ten, cfg.slow * 3, cfg.gap) * 1e3,
                "`factory.create_session()` (a pooled lease keeps no state)")
    with rec.rows_of("run"):
        s = factory.create_session()
        s.execute("total = 0")
        rec.put("run", median_of(lambda: s.execute("total += 1\nresult = total"),
                                 cfg.runs) * 1e6, "`Session.execute`")

    with rec.rows_of("tool_sync", "tool_await", "gather"):
        eryx_tools(rec, cfg, factory, limits)
    with rec.rows_of("k_recursion", "k_dict_str", "k_json_roundtrip", "k_regex",
                     "k_geomean"):
        ks = factory.create_session(resource_limits=limits)
        record_kernels(rec, cfg, lambda s: ks.execute(s).stdout_text, native)
    with rec.rows_of("mem_idle"):
        gc.collect()
        before = private_kib()
        held = [factory.create_session() for _ in range(cfg.held)]
        for s in held:
            s.execute("x = 1")
        rec.put("mem_idle", (private_kib() - before) / 1024 / cfg.held,
                f"{cfg.held} `create_session()` after `x = 1`, this process")
        del held
    rec.na("image_size", "none: eryx snapshots pickled globals only")
    rec.na("image_save", "—")
    rec.na("image_restore", "—")
    with rec.rows_of("state_size", "state_save", "state_restore"):
        s = factory.create_session()
        other = factory.create_session()
        s.execute(AGENT_SESSION)
        state = s.snapshot_state()
        rec.put("state_size", len(state) / 1024, "`snapshot_state()`")
        rec.put("state_save", median_of(s.snapshot_state, cfg.snap) * 1e3)
        rec.put("state_restore",
                median_of(lambda: other.restore_state(state), cfg.snap) * 1e3,
                "`restore_state` into a live session")
    return rec


def eryx_tools(rec: Recorder, cfg: Config, factory: Any, limits: Any) -> None:
    import asyncio

    def echo() -> None:
        return None

    async def aecho() -> None:
        return None

    async def nap(seconds: float) -> None:
        await asyncio.sleep(seconds)

    cbs = [{"name": "echo", "fn": echo}, {"name": "aecho", "fn": aecho},
           {"name": "nap", "fn": nap}]
    s = factory.create_session(callbacks=cbs, resource_limits=limits)
    s.execute(LOOPS)
    try:
        kind = s.execute("r = echo()\nresult = type(r).__name__\nr.close()").result
        rec.na("tool_sync", f"not offered: a callback called without await "
                            f"returns a {kind}")
    except Exception as e:
        rec.na("tool_sync", f"not offered: {str(e).strip().splitlines()[-1][:120]}")

    def per_call(code: str) -> float:
        return median_of(lambda: s.execute(code), cfg.tools) / CALLS
    base = per_call(f"empty_loop({CALLS})")
    a_sync = per_call(f"await await_loop({CALLS})") - base
    a_async = per_call(f"await await_aloop({CALLS})") - base
    rec.put("tool_await", min(a_sync, a_async) * 1e6,
            "`Session.execute`, the faster callback kind",
            note=f"plain `def` callback {a_sync * 1e6:.1f} µs, "
                 f"`async def` callback {a_async * 1e6:.1f} µs")
    rec.put("gather", median_of(lambda: s.execute(GATHER), cfg.tools) * 1e3,
            "`async def` callback")
