"""Tools: sync and async, gather overlap, errors, schemas from pydantic."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Annotated, Any, Literal

import pydantic
import pytest

import cloche


@cloche.tool
def add(a: int, b: int = 1) -> int:
    """Add two integers."""
    return a + b


@cloche.tool
async def echo(value: Any) -> Any:
    """Return the value."""
    await asyncio.sleep(0)
    return value


def test_tool_metadata() -> None:
    assert add.name == "add" and add.description == "Add two integers."
    assert add.schema["properties"]["a"] == {"title": "A", "type": "integer"}
    assert add.schema["required"] == ["a"]
    assert not add.is_async and echo.is_async
    assert add(2, 3) == 5  # still callable on the host


def test_schema_from_pydantic_models_and_annotated() -> None:
    class Point(pydantic.BaseModel):
        x: float
        y: float

    @cloche.tool(name="geo.distance", timeout=5)
    def distance(p: Point, q: Point,
                 unit: Annotated[Literal["m", "km"], pydantic.Field(description="unit")] = "m",
                 ) -> float:
        """Distance between two points."""
        d: float = ((p.x - q.x) ** 2 + (p.y - q.y) ** 2) ** 0.5
        return d * (1 if unit == "m" else 0.001)

    s = distance.schema
    assert s["properties"]["unit"]["description"] == "unit"
    assert s["properties"]["unit"]["enum"] == ["m", "km"]
    assert "Point" in s["$defs"]
    with cloche.Sandbox(tools=[distance]) as sb:
        r = sb.run_sync("geo.distance({'x': 0, 'y': 0}, {'x': 3, 'y': 4})")
        assert r.value == 5.0
        r = sb.run_sync("[c['name'] for c in list_callbacks()], "
                        "list_callbacks()[0]['description']")
        assert r.value == [["geo.distance"], "Distance between two points."]


def test_sync_and_async_tools_both_styles(sb: cloche.Sandbox) -> None:
    sb.add_tool(add)
    sb.add_tool(echo)
    assert sb.run_sync("add(2, b=5)").value == 7          # sync style
    assert sb.run_sync("await add(a=2)").value == 3        # async style
    assert sb.run_sync("echo({'k': [1]})").value == {"k": [1]}
    assert sb.run_sync("await echo('v')").value == "v"


async def test_tools_from_async_run(sb: cloche.Sandbox) -> None:
    sb.add_tool(add)
    sb.add_tool(echo)
    r = await sb.run("import asyncio\n"
                     "await asyncio.gather(add(1, 2), echo('x'), add(a=10))")
    assert r.value == [3, "x", 11]
    assert (await sb.run("echo(5)")).value == 5


async def test_async_tools_run_on_the_callers_loop(sb: cloche.Sandbox) -> None:
    seen: list[object] = []

    @cloche.tool
    async def where() -> str:
        seen.append(asyncio.get_running_loop())
        return threading.current_thread().name

    sb.add_tool(where)
    r = await sb.run("await where()")
    assert seen == [asyncio.get_running_loop()]
    assert r.value == threading.current_thread().name


async def test_gather_overlaps_async_tools() -> None:
    stamps: list[tuple[float, float]] = []

    @cloche.tool
    async def nap(seconds: float) -> float:
        start = time.monotonic()
        await asyncio.sleep(seconds)
        stamps.append((start, time.monotonic()))
        return seconds

    async with cloche.Sandbox(tools=[nap]) as sb:
        t0 = time.monotonic()
        r = await sb.run("import asyncio\n"
                         "await asyncio.gather(*(nap(0.2) for _ in range(10)))")
        elapsed = time.monotonic() - t0
    assert r.value == [0.2] * 10 and len(stamps) == 10
    # Every call started before any finished: they overlapped.
    assert max(s for s, _ in stamps) < min(e for _, e in stamps)
    assert elapsed < 1.0  # serially it would take 2 s


def test_gather_overlaps_sync_tools_on_the_pool() -> None:
    stamps: list[tuple[float, float]] = []

    @cloche.tool
    def block(seconds: float) -> str:
        start = time.monotonic()
        time.sleep(seconds)
        stamps.append((start, time.monotonic()))
        return threading.current_thread().name

    with cloche.Sandbox(tools=[block]) as sb:
        t0 = time.monotonic()
        r = sb.run_sync("import asyncio\n"
                        "await asyncio.gather(*(block(0.2) for _ in range(5)))")
        elapsed = time.monotonic() - t0
    assert len(stamps) == 5 and elapsed < 0.8
    assert max(s for s, _ in stamps) < min(e for _, e in stamps)
    assert all(name.startswith("cloche-tool") for name in r.value)


def test_tool_exception_becomes_callback_error(sb: cloche.Sandbox) -> None:
    @cloche.tool
    def explode(why: str) -> None:
        secret_local = "host-only"  # noqa: F841 (must not leak)
        raise ValueError(f"cannot: {why}")

    @cloche.tool
    async def aexplode() -> None:
        raise RuntimeError("async failure")

    sb.add_tool(explode)
    sb.add_tool(aexplode)
    r = sb.run_sync("try:\n    explode('x')\nexcept CallbackError as e:\n"
                    "    caught = str(e)\ncaught")
    assert r.value == "ValueError: cannot: x"
    r = sb.run_sync("await aexplode()")
    assert r.exception is not None and r.exception.type == "CallbackError"
    assert "RuntimeError: async failure" in r.exception.message
    assert "host-only" not in r.exception.traceback
    assert "test_tools.py" not in r.exception.traceback


def test_schema_violations_never_reach_the_host(sb: cloche.Sandbox) -> None:
    calls: list[Any] = []

    @cloche.tool
    def strict(n: int, tag: str) -> int:
        calls.append((n, tag))
        return n

    sb.add_tool(strict)
    for code in ("strict(1)", "strict('one', 'a')", "strict(1, 'a', extra=2)",
                 "strict(True, 'a')"):
        r = sb.run_sync(code)
        assert r.exception is not None and r.exception.type == "TypeError", code
    assert calls == []
    assert sb.run_sync("strict(2, 'b')").value == 2 and calls == [(2, "b")]


def test_host_validation_beyond_the_schema(sb: cloche.Sandbox) -> None:
    @cloche.tool
    def positive(n: Annotated[int, pydantic.Field(gt=0)]) -> int:
        return n

    sb.add_tool(positive)
    r = sb.run_sync("positive(-5)")
    assert r.exception is not None and r.exception.type == "CallbackError"
    assert "invalid arguments: n: Input should be greater than 0" in r.exception.message


def test_results_serialized_by_pydantic(sb: cloche.Sandbox) -> None:
    class Row(pydantic.BaseModel):
        id: int
        when: Any

    import datetime

    @cloche.tool
    def rows() -> list[Row]:
        return [Row(id=1, when=datetime.date(2024, 5, 6))]

    sb.add_tool(rows)
    assert sb.run_sync("rows()").value == [{"id": 1, "when": "2024-05-06"}]


def test_kwargs_tool_and_plain_function(sb: cloche.Sandbox) -> None:
    def record(**fields: Any) -> dict[str, Any]:
        """Store fields."""
        return fields

    t = sb.add_tool(record)
    assert t.schema.get("additionalProperties") is True
    assert sb.run_sync("record(a=1, b='x')").value == {"a": 1, "b": "x"}


def test_tool_without_implementation_fails_in_run(sb: cloche.Sandbox) -> None:
    sb.add_tool(cloche.Tool(None, name="ask_human"))
    r = sb.run_sync("await ask_human(q='?')")
    assert r.exception is not None and r.exception.type == "CallbackError"


async def test_tool_timeout() -> None:
    @cloche.tool(timeout=0.2)
    async def hang() -> None:
        await asyncio.sleep(10)

    async with cloche.Sandbox(tools=[hang]) as sb:
        t0 = time.monotonic()
        r = await sb.run("await hang()")
        assert r.exception is not None and r.exception.type == "TimeoutError"
        assert time.monotonic() - t0 < 2


def test_var_positional_rejected() -> None:
    def bad(*args: int) -> None: ...
    with pytest.raises(TypeError):
        cloche.tool(bad)
