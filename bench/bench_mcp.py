"""MCP numbers for docs/mcp.md: `cloche mcp` round trips over stdio and
HTTP, and code-mode tool calls (a sandbox calling an MCP server's tools).

    python bench/bench_mcp.py [--cloche PATH]

Needs the package with its mcp extra; uses the test suite's small server
(python/tests/mcp_fixtures/calc_server.py).
"""

from __future__ import annotations

import argparse
import asyncio
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from mcp import Client, StdioServerParameters

import cloche

CALC = Path(__file__).resolve().parents[1] / "python" / "tests" / "mcp_fixtures" / "calc_server.py"


def median_ms(samples: list[float]) -> str:
    return f"{statistics.median(samples) * 1000:.2f} ms"


async def round_trips(c: Client, n: int = 200) -> dict[str, str]:
    out = {}
    for label, args in (("run_python, fresh sandbox", {"code": "1 + 1"}),
                        ("run_python, session", {"code": "1 + 1", "session": "b"})):
        samples = []
        for _ in range(n):
            t0 = time.perf_counter()
            await c.call_tool("run_python", args)
            samples.append(time.perf_counter() - t0)
        out[label] = median_ms(samples)
    return out


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cloche", default=shutil.which("cloche") or "cloche")
    a = ap.parse_args()
    server = f"{sys.executable} {CALC}"

    t0 = time.perf_counter()
    params = StdioServerParameters(command=a.cloche, args=["mcp", "--mcp-server", server])
    async with Client(params) as c:
        print(f"cloche mcp (stdio, with one --mcp-server) ready in {time.perf_counter() - t0:.2f} s")
        for k, v in (await round_trips(c)).items():
            print(f"  stdio  {k}: {v}")

    proc = subprocess.Popen([a.cloche, "mcp", "--http", "0"], stderr=subprocess.PIPE, text=True)
    assert proc.stderr is not None
    url = re.search(r"(http://\S+/mcp)", proc.stderr.readline())
    assert url
    try:
        async with Client(url.group(1)) as c:
            for k, v in (await round_trips(c)).items():
                print(f"  http   {k}: {v}")
    finally:
        proc.terminate()
        proc.wait()

    t0 = time.perf_counter()
    with cloche.McpServers([server]) as servers:
        print(f"code mode: server started and listed in {time.perf_counter() - t0:.2f} s")
        with cloche.Sandbox(mcp_servers=servers) as sb:
            sb.run_sync("calc.now()")
            samples = []
            for _ in range(200):
                t1 = time.perf_counter()
                sb.run_sync("calc.now()")
                samples.append(time.perf_counter() - t1)
            print(f"  one tool call, sync style (a whole run_sync): {median_ms(samples)}")
        async with cloche.Sandbox(mcp_servers=servers) as asb:
            samples = []
            for _ in range(100):
                t1 = time.perf_counter()
                await asb.run("await calc.now()")
                samples.append(time.perf_counter() - t1)
            print(f"  one tool call, awaited (a whole await run): {median_ms(samples)}")
            t1 = time.perf_counter()
            await asb.run("import asyncio\nawait asyncio.gather(*(calc.add(a=i, b=i) for i in range(20)))")
            print(f"  20 gathered calls of a 0.3 s tool: {time.perf_counter() - t1:.2f} s")


if __name__ == "__main__":
    asyncio.run(main())
