"""cloche beside eryx and Monty: the same measurements, one run, medians.

    make compare                       # = python3 bench/compare.py
    python3 bench/compare.py [--quick] [--peers cloche,eryx,monty]

Makes a private venv (CPython 3.13 from tools/cpython.sh; pyeryx wants
>= 3.12) keyed by the pins below, installs each peer pinned (pyeryx,
pydantic-monty), the cloche package (the wheel `make test` leaves in
build/python-dist, else `pip install .`) and matplotlib, then measures each
peer in its own process, one after the other, with the same scripts. Writes
build/compare/compare.md (printed too), compare.json and compare.png.

A peer that does not install, or cannot do a row, is shown as such in the
table. Each peer is driven through its fastest documented path; what that
is, per cell, is in the table's notes. Nothing here asserts a speed.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import datetime
import gc
import hashlib
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parent.parent
KERNELS = ROOT / "bench" / "kernels.py"
PEERS = ("cloche", "eryx", "monty")
TITLES = {"cloche": "cloche", "eryx": "eryx", "monty": "Monty"}

# Exact pins, one group per thing installed; a group that fails to install
# leaves the others usable. The venv's name is a hash of these (and of the
# interpreter), so changing a pin makes a new venv.
PINS: dict[str, list[str]] = {
    "eryx": ["pyeryx==0.11.0"],
    # 1.5.0 depends on packages that are not published; 1.4.0 installs.
    "monty": ["pydantic-monty==1.4.0", "pydantic-monty-client==1.4.0",
              "pydantic-monty-runtime==1.4.0", "typing_extensions==4.16.0"],
    "cloche": ["pydantic==2.14.4", "pydantic_core==2.50.5",
               "annotated-types==0.8.0", "typing-inspection==0.4.5",
               "typing_extensions==4.16.0"],
    "chart": ["matplotlib==3.10.8", "numpy==2.5.5", "contourpy==1.4.0",
              "cycler==0.12.1", "fonttools==4.68.0", "kiwisolver==1.5.1",
              "packaging==26.4", "pillow==13.0.0", "pyparsing==3.3.3",
              "python-dateutil==4.0.0"],
}

# (key, label, unit). Lower is better on every row.
ROWS: list[tuple[str, str, str]] = [
    ("fresh_pool", "fresh sandbox → `1+1` → discard, fastest path", "ms"),
    ("fresh_plain", "fresh sandbox → `1+1` → discard, no pool", "ms"),
    ("session10", "10-command session incl. a fresh sandbox", "ms"),
    ("run", "one small run in an existing session", "µs"),
    ("tool_sync", "tool round trip, sync style", "µs"),
    ("tool_await", "tool round trip, awaited", "µs"),
    ("gather", "100 × 10 ms tools gathered (wall)", "ms"),
    ("k_recursion", "kernel recursion, in-guest", "ms"),
    ("k_dict_str", "kernel dict_str, in-guest", "ms"),
    ("k_json_roundtrip", "kernel json_roundtrip, in-guest", "ms"),
    ("k_regex", "kernel regex, in-guest", "ms"),
    ("k_geomean", "kernels ÷ native CPython 3.13, geometric mean", "x"),
    ("mem_idle", "private memory per idle session", "MiB"),
    ("image_size", "whole-session snapshot: size", "KiB"),
    ("image_save", "whole-session snapshot: save", "ms"),
    ("image_restore", "whole-session snapshot: restore", "ms"),
    ("state_size", "state snapshot (pickled globals): size", "KiB"),
    ("state_save", "state snapshot: save", "ms"),
    ("state_restore", "state snapshot: restore", "ms"),
]

# The agent session of bench.c, the state every snapshot row saves.
AGENT_SESSION = (
    "import json, re, collections, datetime\n"
    "def score(item):\n"
    "    return len(item['name']) * item['qty']\n"
    "class Cart:\n"
    "    def __init__(self): self.items = []\n"
    "    def add(self, **kw): self.items.append(kw); return len(self.items)\n"
    "cart = Cart()\n"
    "for i in range(200):\n"
    "    cart.add(name=f'item-{i}', qty=i % 7, tags=['a', 'b'])\n"
    "index = collections.Counter(t for it in cart.items for t in it['tags'])\n"
    "report = json.dumps({'n': len(cart.items), 'top': index.most_common(2)})\n")

LOOPS = ("def sync_loop(k):\n    for _ in range(k): echo()\n"
         "async def await_loop(k):\n    for _ in range(k): await echo()\n"
         "async def await_aloop(k):\n    for _ in range(k): await aecho()\n"
         "def empty_loop(k):\n    for _ in range(k): pass")
GATHER = ("import asyncio\n"
          "await asyncio.gather(*(nap(0.01) for _ in range(100)))")
CALLS = 1000  # tool calls per timed loop


class Config:
    """How many samples each row takes (medians are reported)."""

    def __init__(self, quick: bool) -> None:
        self.quick = quick
        self.fresh = 20 if quick else 200
        self.slow = 5 if quick else 30      # rows whose sample costs ms
        self.runs = 40 if quick else 400
        self.tools = 3 if quick else 11
        self.snap = 3 if quick else 21
        self.held = 20 if quick else 200
        self.gap = 0.005  # idle seconds before each fresh-sandbox sample
        self.kernel_runs = 1 if quick else 3  # each script, median of these


# --------------------------------------------------------------- helpers

def median_of(fn: Callable[[], object], n: int, gap: float = 0.0) -> float:
    """Median wall seconds of fn() over n calls, each after `gap` idle."""
    samples = []
    for _ in range(n):
        if gap:
            time.sleep(gap)
        t0 = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t0)
    return statistics.median(samples)


async def amedian_of(fn: Callable[[], Any], n: int, gap: float = 0.0) -> float:
    import asyncio
    samples = []
    for _ in range(n):
        if gap:
            await asyncio.sleep(gap)
        t0 = time.perf_counter()
        await fn()
        samples.append(time.perf_counter() - t0)
    return statistics.median(samples)


def private_kib(pid: int | str = "self") -> int:
    """Private_Clean + Private_Dirty (+ Hugetlb) of a process, in KiB."""
    total = 0
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            if line.startswith("Private_"):
                total += int(line.split()[1])
    return total


class Recorder:
    """A peer's results: each row a value with a note, or why it is missing.
    A row that raises is recorded as failed; the other rows go on."""

    def __init__(self) -> None:
        self.rows: dict[str, dict[str, Any]] = {}
        self.info: dict[str, Any] = {}

    def put(self, key: str, value: float, how: str = "", note: str = "",
            extra: str = "") -> None:
        """how: the API driven (the "what ran" table); note: a footnote
        (alternatives measured); extra: shown in the cell."""
        self.rows[key] = {"value": value, "how": how, "note": note, "extra": extra}

    def na(self, key: str, why: str) -> None:
        self.rows[key] = {"na": why}

    @contextlib.contextmanager
    def rows_of(self, *keys: str) -> Any:
        try:
            yield
        except Exception as e:  # a peer's failure is a result, not a crash
            why = f"failed: {type(e).__name__}: {str(e).strip()[:160]}"
            for k in keys:
                self.rows.setdefault(k, {"na": why})
            traceback.print_exc(file=sys.stderr)


# ------------------------------------------------------------ the kernels

def kernel_scripts(path: Path = KERNELS) -> tuple[dict[str, str], int]:
    """One script per kernel of bench/kernels.py: the module-level
    statements that kernel needs (an import per name, so a peer lacking one
    module loses only the kernels that use it) and a loop that prints the
    median of REPEAT timed calls, timed in the guest with perf_counter."""
    tree = ast.parse(path.read_text())
    repeat = 7
    kernels: dict[str, str] = {}
    nodes: list[ast.stmt] = []
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
            name = node.targets[0].id
            if name == "REPEAT":
                repeat = ast.literal_eval(node.value)
                continue
            if name == "KERNELS" and isinstance(node.value, ast.Dict):
                kernels = {ast.literal_eval(k): v.id for k, v in
                           zip(node.value.keys, node.value.values)
                           if k is not None and isinstance(v, ast.Name)}
                continue
        if isinstance(node, ast.Import):
            nodes += [ast.Import(names=[a]) for a in node.names]
        elif isinstance(node, (ast.Assign, ast.FunctionDef)):
            nodes.append(node)

    def defines(n: ast.stmt) -> set[str]:
        if isinstance(n, ast.Import):
            return {(n.names[0].asname or n.names[0].name).split(".")[0]}
        if isinstance(n, ast.FunctionDef):
            return {n.name}
        assert isinstance(n, ast.Assign)
        return {t.id for t in n.targets if isinstance(t, ast.Name)}

    uses = [{x.id for x in ast.walk(n) if isinstance(x, ast.Name)} for n in nodes]
    scripts = {}
    for kname, fn in kernels.items():
        need, todo = set(), {fn}
        while todo:
            name = todo.pop()
            for n, u in zip(nodes, uses):
                if name in defines(n) and id(n) not in need:
                    need.add(id(n))
                    todo |= u
        body = "\n".join(ast.unparse(n) for n in nodes if id(n) in need)
        scripts[kname] = body + (
            "\nimport time\n"
            f"{fn}()\n"
            "_ts = []\n"
            f"for _ in range({repeat}):\n"
            "    _t0 = time.perf_counter()\n"
            f"    {fn}()\n"
            "    _ts.append(time.perf_counter() - _t0)\n"
            "_ts.sort()\n"
            "print(repr(_ts[len(_ts) // 2]))\n")
    return scripts, repeat


def native_once(python: str, script: str) -> float:
    """One run of a kernel script under native CPython 3.13, in seconds."""
    with tempfile.NamedTemporaryFile("w", suffix=".py") as f:
        f.write(script)
        f.flush()
        p = subprocess.run([python, "-I", f.name], capture_output=True,
                           text=True, check=True)
    return float(p.stdout.split()[-1])


def record_kernels(rec: Recorder, cfg: Config, run: Callable[[str], str],
                   native_python: str, skip_note: str = "") -> None:
    """Runs each kernel script through run(script) -> stdout and natively,
    alternating (guest, native, guest, ...) so that both see the same
    machine load; each is the median of cfg.kernel_runs runs."""
    guest, native, missing = {}, {}, []
    for name, script in kernel_scripts()[0].items():
        g, n = [], []
        try:
            for _ in range(cfg.kernel_runs):
                g.append(float(run(script).split()[-1]))
                n.append(native_once(native_python, script))
        except Exception as e:
            msg = str(e).strip().splitlines()
            why = msg[-1][:160] if msg else type(e).__name__
            rec.na("k_" + name, f"cannot run it: {why}{skip_note}")
            missing.append(name)
            n.append(native_once(native_python, script))
        else:
            guest[name] = statistics.median(g)
        native[name] = statistics.median(n)
    rec.info["native_kernels"] = native
    ratios = []
    for name, secs in guest.items():
        ratio = secs / native[name]
        ratios.append(ratio)
        rec.put("k_" + name, secs * 1e3, extra=f"{ratio:.2f}x native")
    if ratios:
        gm = math.exp(sum(map(math.log, ratios)) / len(ratios))
        note = "" if not missing else f"{len(ratios)} of {len(ratios) + len(missing)} kernels"
        rec.put("k_geomean", gm, note=note)
    else:
        rec.na("k_geomean", "no kernel ran")


# ------------------------------------------------------------------ cloche

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


# -------------------------------------------------------------------- eryx

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


# ------------------------------------------------------------------- Monty

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


# ------------------------------------------------------- the run as a whole

def run_worker(peer: str, args: argparse.Namespace) -> None:
    """Measure one peer in this process; results go to args.json."""
    cfg = Config(args.quick)
    if peer == "cloche":
        rec = bench_cloche(cfg, args.native)
    elif peer == "eryx":
        rec = bench_eryx(cfg, args.native, Path(args.cache))
    else:
        rec = bench_monty(cfg, args.native)
    Path(args.json).write_text(json.dumps({"rows": rec.rows, "info": rec.info}))


def measure(peer: str, args: argparse.Namespace, out: Path,
            rnd: int) -> dict[str, Any]:
    """One round of one peer, in a process of its own."""
    path = out / f"{peer}-{rnd}.json"
    path.unlink(missing_ok=True)
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", peer,
           "--json", str(path), "--native", args.native, "--cache", args.cache]
    cmd += ["--quick"] if args.quick else []
    print(f"[compare] round {rnd}: measuring {TITLES[peer]} ...", file=sys.stderr,
          flush=True)
    t0 = time.monotonic()
    with open(out / f"{peer}-{rnd}.log", "w") as log:
        p = subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT)
    took = time.monotonic() - t0
    if p.returncode != 0 or not path.exists():
        tail = (out / f"{peer}-{rnd}.log").read_text().strip().splitlines()[-1:] or ["?"]
        return {"failed": f"the benchmark process failed (exit {p.returncode}): "
                          f"{tail[0][:160]}", "seconds": took}
    res: dict[str, Any] = json.loads(path.read_text())
    res["seconds"] = took
    return res


def combine(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    """A peer's rounds as one result: per row, the cell of the round with
    the median value (its notes stay consistent with its number)."""
    good = [r for r in rounds if not r.get("failed")]
    if not good:
        return rounds[0]
    rows = {}
    for key in {k for r in good for k in r["rows"]}:
        cells = [r["rows"][key] for r in good if key in r["rows"]]
        valued = sorted((c for c in cells if "value" in c), key=lambda c: c["value"])
        rows[key] = valued[(len(valued) - 1) // 2] if valued else cells[0]
    info = dict(good[0]["info"])
    natives = [r["info"]["native_kernels"] for r in good
               if "native_kernels" in r["info"]]
    if natives:
        info["native_kernels"] = {k: statistics.median(n[k] for n in natives)
                                  for k in natives[0]}
    return {"rows": rows, "info": info, "rounds": len(good),
            "seconds": sum(r["seconds"] for r in rounds)}


def fmt(value: float, unit: str) -> str:
    if unit == "x":
        return f"{value:.2f}x"
    digits = 2 if value < 10 else 1 if value < 100 else 0
    return f"{value:.{digits}f} {unit}"


def render(results: dict[str, dict[str, Any]], meta: dict[str, Any]) -> str:
    """The Markdown report: the table (a cell is the median, its ratio to
    the row's best peer, bold for the best; a missing value says why),
    footnotes, then what each cell ran."""
    peers = list(results)
    head = "| metric | " + " | ".join(TITLES[p] for p in peers) + " |"
    rule = "|---|" + "---|" * len(peers)
    versions = ", ".join(f"{TITLES[p]} {peer_version(results[p], meta, p)}"
                         + (" (pinned, not measured)" if results[p].get("failed") else "")
                         for p in peers)
    lines = [f"# cloche beside eryx and Monty ({meta['when']})", "",
             f"{meta['machine']}. Load average (1, 5, 15 min) at start "
             f"{meta['load_start']}, at end {meta['load_end']}: the machine is "
             "shared with other builds, so single numbers are noisy.", "",
             f"{versions}; native CPython {meta['native_version']} built from "
             f"the guest's source. {meta['mode']}", "",
             f"Medians, lower is better; (×N) is the ratio to the best peer on the "
             f"row. {meta['rounds']} round(s): each peer measured "
             f"{meta['rounds']} time(s), peers alternating; each cell is the "
             "median round.",
             "", head, rule]
    notes: list[str] = []
    hows: list[str] = []
    native = meta.get("native_kernels", {})
    for key, label, unit in ROWS:
        cells = {p: row_cell(results[p], key) for p in peers}
        vals = [c["value"] for c in cells.values() if "value" in c]
        best = min(vals) if vals else 0.0
        if key[2:] in native:
            label += f" (native {native[key[2:]] * 1e3:.1f} ms)"
        row, how = [label], [label]
        for p in peers:
            c = cells[p]
            how.append(c.get("how") or "")
            if "value" not in c:
                row.append("—" if c["na"] == "—" else f"— ({c['na']})")
                continue
            text = fmt(c["value"], unit)
            if len(vals) > 1:
                ratio = c["value"] / best if best else 1.0
                text = f"**{text}**" if ratio <= 1.0 + 1e-9 else text
                text += f" (×{ratio:.2f})"
            if c.get("extra"):
                text += f" · {c['extra']}"
            if c.get("note"):
                notes.append(f"{TITLES[p]}, {ROW_LABEL[key]}: {c['note']}")
                text += f" [{len(notes)}]"
            row.append(text)
        lines.append("| " + " | ".join(row) + " |")
        if any(how[1:]):
            hows.append("| " + " | ".join(how) + " |")
    if notes:
        lines += ["", "Notes:", ""] + [f"{i}. {n}" for i, n in enumerate(notes, 1)]
    failed = [f"- {TITLES[p]}: {results[p]['failed']}" for p in peers
              if results[p].get("failed")]
    failed += [f"- {TITLES[p]}: only {results[p]['rounds']} of {meta['rounds']} "
               f"rounds ran (see build/compare/{p}-*.log)" for p in peers
               if results[p].get("rounds", meta["rounds"]) < meta["rounds"]]
    if failed:
        lines += ["", "Peers not (fully) measured:", ""] + failed
    lines += ["", "## What each cell ran", "",
              "Each peer's fastest documented path, in its own process, one peer "
              "after the other, with the same scripts (eryx returns no value "
              "of a trailing expression: its scripts end in `result = …` "
              "instead). A \"fresh sandbox\" sample starts after "
              f"{meta['gap_ms']:.0f} ms idle (time for a pool to refill). Tool "
              f"round trips: a guest loop of {CALLS} calls minus the same empty "
              "loop, per call. Kernels: each kernel of bench/kernels.py as its own "
              "script, timed inside the guest with `time.perf_counter` (median "
              "of its repeats); native CPython runs the same scripts, alternating "
              "with the guest's runs, and the native column is the median of those. "
              "Memory: /proc/<pid>/smaps_rollup Private_* before and after "
              "holding the sessions. Snapshots: the agent session of bench.c.",
              "", head, rule] + hows
    return "\n".join(lines) + "\n"


ROW_LABEL = {key: label for key, label, _ in ROWS}


def peer_version(res: dict[str, Any], meta: dict[str, Any], peer: str) -> str:
    return str(res.get("info", {}).get("version") or meta["pins"].get(peer, "?"))


def row_cell(res: dict[str, Any], key: str) -> dict[str, Any]:
    if res.get("failed"):
        why = res["failed"]
        return {"na": "not installed" if why.startswith("not installed")
                else "its process failed"}
    cell: dict[str, Any] = res["rows"].get(key, {"na": "not measured"})
    return cell


def chart(results: dict[str, dict[str, Any]], path: Path, meta: dict[str, Any]) -> str:
    """Grouped bars, one group per row: each peer's ratio to the best peer
    (log scale, 1 = best); a missing bar is marked n/a."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from matplotlib.patches import Patch
    except ImportError as e:
        return f"no chart: {e}"
    peers = list(results)
    colors = {"cloche": "#2a7ab0", "eryx": "#e0892b", "monty": "#6a9f3a"}
    fig, ax = plt.subplots(figsize=(15, 6.5))
    width = 0.8 / len(peers)
    for j, (key, _, _) in enumerate(ROWS):
        cells = [row_cell(results[p], key) for p in peers]
        vals = [c["value"] for c in cells if "value" in c]
        for i, (p, c) in enumerate(zip(peers, cells)):
            x = j + (i - (len(peers) - 1) / 2) * width
            if "value" in c:
                ax.bar(x, c["value"] / min(vals), width, color=colors[p])
            else:
                ax.text(x, 1.05, "n/a", rotation=90, ha="center", va="bottom",
                        fontsize=7, color=colors[p])
    ax.set_yscale("log")
    ax.set_ylim(bottom=0.8)
    ax.axhline(1.0, color="black", linewidth=0.6)
    ax.set_xticks(range(len(ROWS)))
    ax.set_xticklabels([label.replace("`", "") for _, label, _ in ROWS],
                       rotation=40, ha="right", fontsize=8)
    ax.set_ylabel("ratio to the best peer (1 = best; lower is better; log)")
    ax.set_title(f"cloche, eryx, Monty: medians of one run, {meta['when']} "
                 f"(load average {meta['load_start']})")
    ax.legend(handles=[Patch(color=colors[p], label=TITLES[p] + (
        " (not measured)" if results[p].get("failed") else "")) for p in peers])
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return f"chart: {path}"


def load_avg() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def orchestrate(args: argparse.Namespace) -> int:
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    status = json.loads(os.environ.get("CLOCHE_COMPARE_INSTALL", "{}"))
    source = status.pop("cloche_source", "")
    meta: dict[str, Any] = {
        "when": datetime.datetime.now().strftime("%Y-%m-%d %H:%M"),
        "machine": f"{os.cpu_count()} cores, {cpu_model()}, Linux {platform.release()}",
        "load_start": load_avg(), "gap_ms": Config(args.quick).gap * 1e3,
        "rounds": args.rounds,
        "pins": {p: PINS[p][0].split("==")[1] for p in ("eryx", "monty")},
        "mode": ("Quick mode (--quick): few samples, 20 idle sessions. "
                 if args.quick else "") + (f"cloche installed from {source}." if source else ""),
        "native_version": subprocess.run([args.native, "-c", "import sys; print(sys.version.split()[0])"],
                                         capture_output=True, text=True).stdout.strip(),
    }
    results: dict[str, dict[str, Any]] = {}
    rounds: dict[str, list[dict[str, Any]]] = {p: [] for p in args.peers}
    for rnd in range(1, args.rounds + 1):  # peers alternate: a load spike
        for peer in args.peers:            # hits one round, not one peer
            if status.get(peer, "ok") != "ok":
                results[peer] = {"failed": f"not installed: {status[peer]}"}
                continue
            rounds[peer].append(measure(peer, args, out, rnd))
    for peer, rs in rounds.items():
        if rs:
            results[peer] = combine(rs)
    results = {p: results[p] for p in args.peers}
    meta["load_end"] = load_avg()
    natives = [r["info"]["native_kernels"] for r in results.values()
               if "native_kernels" in r.get("info", {})]
    if natives:
        meta["native_kernels"] = {k: statistics.median(n[k] for n in natives)
                                  for k in natives[0]}
    md = render(results, meta)
    (out / "compare.md").write_text(md)
    (out / "compare.json").write_text(json.dumps({"meta": meta, "results": results},
                                                 indent=1))
    print(md)
    if not args.no_chart:
        print(chart(results, out / "compare.png", meta))
    print(f"written: {out / 'compare.md'}, {out / 'compare.json'}")
    return 0


def cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "?"


# ------------------------------------------------------------ the private venv

def native_python() -> str:
    """Native CPython 3.13 built from the guest's source (tools/cpython.sh
    builds or finds it; the last line it prints is its folder)."""
    p = subprocess.run(["bash", str(ROOT / "tools" / "cpython.sh")],
                       capture_output=True, text=True, check=True)
    return p.stdout.strip().splitlines()[-1] + "/native/bin/python3.13"


def cache_root() -> Path:
    base = os.environ.get("CLOCHE_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "cloche")
    return Path(base)


def pip(venv: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "--quiet",
                           "--disable-pip-version-check", *args],
                          capture_output=True, text=True)


def cloche_source(build: Path) -> tuple[str, str]:
    """The cloche package to install: the wheel `make test` built, else the
    repository itself (`pip install .`). Returns (what, marker)."""
    wheels = sorted((build / "python-dist").glob("cloche-*.whl"),
                    key=lambda w: w.stat().st_mtime)
    if wheels:
        digest = hashlib.sha256(wheels[-1].read_bytes()).hexdigest()
        return str(wheels[-1]), digest
    return str(ROOT), "source-" + str(time.time())


def describe_source(what: str) -> str:
    path = Path(what)
    if path.is_file():
        built = datetime.datetime.fromtimestamp(path.stat().st_mtime)
        return f"`{path.name}` (built {built:%Y-%m-%d %H:%M} by `make test`)"
    return f"`pip install {what}`"


def pip_error(text: str) -> str:
    """pip's most telling error line, for the table."""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    errors = [ln.removeprefix("ERROR: ") for ln in lines if ln.startswith("ERROR:")]
    pick = ([e for e in errors if "No matching distribution" in e] or errors
            or lines[-1:] or ["pip failed"])[0]
    return pick[:200]


def ensure_venv(python: str, build: Path) -> tuple[Path, dict[str, str]]:
    """Creates (once) and fills the venv; returns it and, per group, "ok" or
    why it did not install. A failed group is tried again next time."""
    version = subprocess.run([python, "-c", "import sys; print(sys.version)"],
                             capture_output=True, text=True, check=True).stdout
    key = hashlib.sha256(json.dumps([PINS, python, version]).encode()).hexdigest()[:12]
    home = cache_root() / f"compare-{key}"
    venv = home / "venv"
    if not (venv / "bin" / "python").exists():
        print(f"[compare] making {venv}", file=sys.stderr)
        subprocess.run([python, "-m", "venv", str(venv)], check=True)
    constraints = home / "constraints.txt"
    constraints.write_text("\n".join(p for g in PINS.values() for p in g) + "\n")
    status = {}
    for group, pins in PINS.items():
        extra: list[str] = []
        marker = "pinned"
        if group == "cloche":
            what, marker = cloche_source(build)
            extra = [what]
            status["cloche_source"] = describe_source(what)
        done = home / f"installed-{group}"
        if done.exists() and done.read_text() == marker:
            status[group] = "ok"
            continue
        print(f"[compare] installing {group}: {' '.join(pins + extra)}", file=sys.stderr)
        p = pip(venv, "install", "-c", str(constraints), *pins)
        if p.returncode == 0 and extra:
            p = pip(venv, "install", "--force-reinstall", "--no-deps", *extra)
        if p.returncode == 0:
            done.write_text(marker)
            status[group] = "ok"
        else:
            status[group] = pip_error(p.stderr or p.stdout)
            print(f"[compare] {group} did not install:\n{p.stderr[-2000:]}", file=sys.stderr)
    return home, status


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="few samples (a smoke run)")
    ap.add_argument("--peers", default=",".join(PEERS),
                    help="comma-separated subset of cloche,eryx,monty")
    ap.add_argument("--build", default=str(ROOT / "build"), help="the build folder")
    ap.add_argument("--out", help="output folder (default BUILD/compare)")
    ap.add_argument("--no-venv", action="store_true",
                    help="measure with this interpreter's packages, install nothing")
    ap.add_argument("--rounds", type=int,
                    help="each peer measured this many times, alternating; "
                         "a row reports the median round (default 3, --quick 1)")
    ap.add_argument("--no-chart", action="store_true")
    ap.add_argument("--native", help="native python3.13 (default: tools/cpython.sh's)")
    ap.add_argument("--python", help="interpreter for the venv (default: --native)")
    ap.add_argument("--worker", choices=PEERS, help=argparse.SUPPRESS)
    ap.add_argument("--json", help=argparse.SUPPRESS)
    ap.add_argument("--cache", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        run_worker(args.worker, args)
        return 0
    args.rounds = args.rounds or (1 if args.quick else 3)
    args.peers = [p for p in args.peers.split(",") if p]
    if any(p not in PEERS for p in args.peers):
        ap.error(f"--peers: choose from {','.join(PEERS)}")
    args.native = args.native or native_python()
    args.out = args.out or str(Path(args.build) / "compare")
    if args.no_venv or os.environ.get("CLOCHE_COMPARE_VENV"):
        args.cache = args.cache or os.environ.get("CLOCHE_COMPARE_VENV") or args.out
        return orchestrate(args)
    home, status = ensure_venv(args.python or args.native, Path(args.build))
    os.environ["CLOCHE_COMPARE_VENV"] = str(home)
    os.environ["CLOCHE_COMPARE_INSTALL"] = json.dumps(status)
    py = str(home / "venv" / "bin" / "python")
    argv = [py, str(Path(__file__).resolve()), *sys.argv[1:]]
    if "--native" not in sys.argv:
        argv += ["--native", args.native]
    if status.get("chart") != "ok" and "--no-chart" not in argv:
        print(f"[compare] matplotlib did not install ({status.get('chart')}): no chart",
              file=sys.stderr)
        argv.append("--no-chart")
    os.execv(py, argv)
    return 1


if __name__ == "__main__":
    sys.exit(main())
