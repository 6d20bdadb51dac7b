"""Sandbox, run/run_sync, Result, exceptions as data or raised, sessions."""

from __future__ import annotations

import datetime
import os

import pytest

import cloche


async def test_run_returns_result(sb: cloche.Sandbox) -> None:
    r = await sb.run("print('hi')\nimport sys; print('err', file=sys.stderr)\n6 * 7")
    assert r.ok and r.outcome == "ok"
    assert (r.stdout, r.stderr) == ("hi\n", "err\n")
    assert (r.value, r.value_repr, r.value_json) == (42, "42", "42")
    assert r.exception is None and r.limit is None
    assert 0 < r.duration < 5 and r.memory > 1 << 20 and r.fuel == 0


def test_run_sync_and_globals_persist(sb: cloche.Sandbox) -> None:
    sb.run_sync("import math\nx = [1, 2]\ndef f(n): return n * 2")
    r = sb.run_sync("x.append(f(21)); x")
    assert r.value == [1, 2, 42]


def test_value_json_or_repr(sb: cloche.Sandbox) -> None:
    assert sb.run_sync("{'a': [1, 2.5, None, True]}").value == {"a": [1, 2.5, None, True]}
    r = sb.run_sync("{1, 2}")
    assert r.value_json is None and r.value == "{1, 2}"
    assert sb.run_sync("x = 1").value is None
    assert sb.run_sync("None").value is None


def test_exception_is_data_by_default(sb: cloche.Sandbox) -> None:
    r = sb.run_sync("print('before')\n1 / 0")
    assert r.outcome == "exception" and not r.ok
    assert r.stdout == "before\n"
    assert r.exception is not None
    assert r.exception.type == "ZeroDivisionError"
    assert r.exception.message == "division by zero"
    assert "Traceback" in r.exception.traceback


async def test_check_raises_python_error(sb: cloche.Sandbox) -> None:
    with pytest.raises(cloche.PythonError) as ei:
        await sb.run("raise KeyError('k')", check=True)
    e = ei.value
    assert (e.type, e.message) == ("KeyError", "'k'")
    assert "KeyError" in e.traceback and isinstance(e, cloche.Error)
    assert e.result.outcome == "exception"
    with pytest.raises(cloche.PythonError):
        sb.run_sync("syntax error here", check=True)


def test_sizes_and_durations() -> None:
    assert cloche.parse_size("64M") == 64 << 20
    assert cloche.parse_size("1.5G") == 3 << 29
    assert cloche.parse_size("512k") == 512 << 10
    assert cloche.parse_size("2MiB") == 2 << 20
    assert cloche.parse_size(123) == 123
    with pytest.raises(ValueError):
        cloche.parse_size("lots")
    with cloche.Sandbox(timeout=datetime.timedelta(seconds=3), memory="96M",
                        max_output="1k") as s:
        assert s.limit("timeout") == 3000
        assert s.limit("memory") == 96 << 20
        assert s.limit("stdout") == 1024 and s.limit("stderr") == 1024


def test_limit_read_and_write(sb: cloche.Sandbox) -> None:
    assert sb.limit("callbacks", 5) == 10000
    assert sb.limit("callbacks") == 5
    with pytest.raises(cloche.InvalidArgument):
        sb.limit("nonsense")


def test_env_argv_and_fixed_clock() -> None:
    when = datetime.datetime(2030, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc)
    with cloche.Sandbox(env={"GREETING": "hej"}, argv=["prog", "a"],
                        fixed_clock=when) as s:
        r = s.run_sync("import os, sys, time\n"
                       "(os.environ['GREETING'], sys.argv, int(time.time()))")
        assert r.value == ["hej", ["prog", "a"], int(when.timestamp())]


def test_reset_and_clear(sb: cloche.Sandbox) -> None:
    sb.run_sync("import json\nkept = 1")
    sb.clear()
    assert sb.run_sync("kept").exception.type == "NameError"  # type: ignore[union-attr]
    sb.run_sync("again = 2")
    sb.reset()
    assert sb.run_sync("again").exception.type == "NameError"  # type: ignore[union-attr]


def test_closed_sandbox_refuses(sb: cloche.Sandbox) -> None:
    sb.close()
    assert sb.closed
    with pytest.raises(cloche.InvalidState):
        sb.run_sync("1")


def test_context_managers() -> None:
    with cloche.Sandbox() as s:
        assert s.run_sync("1").value == 1
    assert s.closed


async def test_async_context_manager() -> None:
    async with cloche.Sandbox() as s:
        assert (await s.run("2")).value == 2
    assert s.closed


def test_exceptions_tree() -> None:
    for cls in (cloche.Timeout, cloche.MemoryLimit, cloche.FuelExhausted,
                cloche.OutputLimit, cloche.CallbackLimit):
        assert issubclass(cls, cloche.LimitExceeded)
        assert issubclass(cls, cloche.Error)
    for cls2 in (cloche.PythonError, cloche.Cancelled, cloche.Crashed,
                 cloche.SandboxError):
        assert issubclass(cls2, cloche.Error)
    assert issubclass(cloche.NotFound, FileNotFoundError)
    assert issubclass(cloche.InvalidArgument, ValueError)
    assert cloche.Timeout.__module__ == "cloche"


def test_result_to_dict(sb: cloche.Sandbox) -> None:
    d = sb.run_sync("print(1)\n[1]").to_dict()
    assert d["outcome"] == "ok" and d["value"] == [1] and d["stdout"] == "1\n"
    assert d["exception"] is None and d["limit"] is None


def test_bytes_code_and_unicode(sb: cloche.Sandbox) -> None:
    r = sb.run_sync("print('héllo ✓')\n'ü'".encode())
    assert r.stdout == "héllo ✓\n" and r.value == "ü"


def test_engine_with_its_own_code_cache(tmp_path: os.PathLike[str]) -> None:
    cache = os.path.join(os.fspath(tmp_path), "code")
    engine = cloche.Engine(code_cache_dir=cache)  # compiles the guest once
    assert not engine.fuel
    assert os.listdir(cache)  # the compiled guest, cached per user
    with cloche.Sandbox(engine=engine) as s:
        assert s.run_sync("'own engine'").value == "own engine"
    again = cloche.Engine(code_cache_dir=cache)  # maps the cached code
    with cloche.Sandbox(engine=again) as s:
        assert s.run_sync("1").value == 1
