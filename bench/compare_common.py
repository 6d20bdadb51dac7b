"""What every part of bench/compare.py shares: the peers, the pins, the
rows of the table, the scripts each peer runs, how many samples a row takes
(Config), the timing helpers and the Recorder a peer's results go to."""

from __future__ import annotations

import contextlib
import statistics
import sys
import time
import traceback
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parent.parent
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

# The agent session every snapshot row saves (bench.c's too).
AGENT_SESSION = (ROOT / "bench" / "agent_session.py").read_text()

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
