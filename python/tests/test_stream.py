"""Live output: stream() and on_output; tracing with on_trace."""

from __future__ import annotations

import asyncio
import time

import pytest

import cloche


async def test_stream_yields_output_then_result(sb: cloche.Sandbox) -> None:
    items = [item async for item in sb.stream(
        "import sys\nprint('a')\nsys.stderr.write('b\\n')\nprint('ü✓')\n'done'")]
    result = items[-1]
    assert isinstance(result, cloche.Result) and result.value == "done"
    chunks = [i for i in items[:-1] if isinstance(i, cloche.Output)]
    assert len(chunks) == len(items) - 1
    out = "".join(c.text for c in chunks if c.stream == "stdout")
    err = "".join(c.text for c in chunks if c.stream == "stderr")
    assert (out, err) == ("a\nü✓\n", "b\n")
    assert result.stdout == out


async def test_stream_is_live() -> None:
    async with cloche.Sandbox(timeout=10) as sb:
        seen: list[tuple[float, object]] = []
        t0 = time.monotonic()
        async for item in sb.stream("import time\nprint('first', flush=True)\n"
                                    "time.sleep(0.4)\nprint('second')"):
            seen.append((time.monotonic() - t0, item))
        first_at = next(t for t, i in seen
                        if isinstance(i, cloche.Output) and "first" in i.text)
        assert first_at < 0.3  # arrived before the run ended (~0.4 s)
        assert isinstance(seen[-1][1], cloche.Result)


async def test_stream_raises_limits_at_the_end() -> None:
    async with cloche.Sandbox(timeout=0.3) as sb:
        got: list[object] = []
        with pytest.raises(cloche.Timeout):
            async for item in sb.stream("print('x')\nwhile True: pass"):
                got.append(item)
        assert any(isinstance(i, cloche.Output) and i.text == "x" for i in got)


async def test_stream_closed_early_cancels_the_run(sb: cloche.Sandbox) -> None:
    agen = sb.stream("import time\nwhile True:\n    print('tick', flush=True)\n"
                     "    time.sleep(0.01)")
    async for item in agen:
        assert isinstance(item, cloche.Output)
        break
    await agen.aclose()
    assert (await sb.run("'usable'")).value == "usable"


def test_on_output_callback() -> None:
    chunks: list[cloche.Output] = []
    with cloche.Sandbox(on_output=chunks.append) as sb:
        sb.run_sync("print('one')\nprint('two')")
    assert "".join(c.text for c in chunks) == "one\ntwo\n"


def test_on_trace_events() -> None:
    events: list[cloche.TraceEvent] = []
    with cloche.Sandbox(on_trace=events.extend) as sb:
        sb.run_sync("def f(n):\n    return n + 1\nx = f(1)\ntry:\n    1/0\nexcept Exception:\n    pass")
    kinds = {e.kind for e in events}
    assert {"line", "call", "return", "exception"} <= kinds
    assert any(e.kind == "call" and e.name == "f" for e in events)
    assert any(e.kind == "exception" and e.name == "ZeroDivisionError" for e in events)
    assert all(e.run == 1 for e in events)


async def test_stream_loop_not_blocked(sb: cloche.Sandbox) -> None:
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.01)

    t = asyncio.create_task(ticker())
    async for _ in sb.stream("import time\nt = time.time()\nwhile time.time() - t < 0.3: pass"):
        pass
    t.cancel()
    assert ticks >= 10
