"""Each limit raises its own exception, names itself, and the sandbox lives on."""

from __future__ import annotations

import pytest

import cloche


async def test_timeout() -> None:
    with cloche.Sandbox(timeout=0.3) as sb:
        with pytest.raises(cloche.Timeout) as ei:
            await sb.run("print('started')\nwhile True: pass")
        e = ei.value
        assert e.limit == "timeout" and e.value == 300
        assert e.result.stdout == "started\n" and 0.25 < e.result.duration < 3
        assert (await sb.run("1 + 1")).value == 2


def test_memory_limit() -> None:
    with cloche.Sandbox(memory="64M") as sb:
        with pytest.raises(cloche.MemoryLimit) as ei:
            sb.run_sync("x = bytearray(200 * 1024 * 1024)")
        assert ei.value.limit == "memory" and ei.value.value == 64 << 20
        assert sb.run_sync("2 + 2").value == 4


def test_fuel() -> None:
    with cloche.Sandbox(fuel=5_000_000) as sb:
        assert sb.run_sync("1").fuel > 0
        with pytest.raises(cloche.FuelExhausted) as ei:
            sb.run_sync("while True: pass")
        assert ei.value.limit == "fuel" and ei.value.value == 5_000_000
        assert sb.run_sync("3").value == 3


def test_output_limit_stdout_and_stderr() -> None:
    with cloche.Sandbox(max_output="4k") as sb:
        with pytest.raises(cloche.OutputLimit) as ei:
            sb.run_sync("print('x' * 100_000)")
        assert ei.value.limit == "stdout"
        with pytest.raises(cloche.OutputLimit) as ei:
            sb.run_sync("import sys\nsys.stderr.write('y' * 100_000)")
        assert ei.value.limit == "stderr"
        assert sb.run_sync("'fine'").value == "fine"


def test_callback_limit() -> None:
    @cloche.tool
    def ping() -> int:
        return 1

    with cloche.Sandbox(tools=[ping], max_callbacks=3) as sb:
        assert sb.run_sync("[ping() for _ in range(3)]").value == [1, 1, 1]
        with pytest.raises(cloche.CallbackLimit) as ei:
            sb.run_sync("[ping() for _ in range(10)]")
        assert ei.value.limit == "callbacks" and ei.value.value == 3


def test_fuel_needs_a_fuel_engine() -> None:
    with pytest.raises(cloche.InvalidArgument):
        cloche.Sandbox(fuel=10, engine=cloche.Engine())
