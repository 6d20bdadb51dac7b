"""Ordinary scripts behave as under python3: each script in fidelity_scripts/
runs natively (CPython built from the same source) and in the sandbox, and
stdout and the exit status must match. Plus sandbox-only checks for what
has no native twin (deadlock errors, the fixed clock, stdlib source)."""

import os
import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CLOCHE = os.environ.get("CLOCHE_BIN", str(ROOT / "build" / "cloche"))
SCRIPTS = sorted((Path(__file__).parent / "fidelity_scripts").glob("*.py"))


def native_python():
    path = os.environ.get("CLOCHE_NATIVE_PYTHON")
    if not path:
        cache = Path(CLOCHE).parent / "CMakeCache.txt"
        m = re.search(r"^CLOCHE_NATIVE_PYTHON:\w+=(.*)$", cache.read_text(), re.M)
        path = m.group(1) if m else None
    if not path or not Path(path).exists():
        pytest.skip("native CPython not found (CLOCHE_NATIVE_PYTHON)")
    return path


def run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120,
                          env={"PATH": os.environ["PATH"], "LANG": "C.UTF-8"}, **kw)


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.stem)
def test_script_matches_native(script):
    native = run([native_python(), str(script)])
    boxed = run([CLOCHE, "run", str(script)])
    assert (boxed.stdout, boxed.returncode) == (native.stdout, native.returncode), \
        boxed.stderr


def cloche(code, *flags):
    return run([CLOCHE, "run", *flags, "-c", code])


def test_main_thread_deadlock_is_an_error_not_a_hang():
    p = cloche("import threading\nl = threading.Lock()\nl.acquire()\nl.acquire()")
    assert p.returncode == 1
    assert "DeadlockError: acquiring a lock would wait forever" in p.stderr


def test_blocked_thread_is_stopped_and_reported():
    p = cloche("import threading\ne = threading.Event()\n"
               "t = threading.Thread(target=e.wait, name='stuck')\nt.start()\n"
               "print('main done')")
    assert (p.returncode, p.stdout) == (0, "main done\n")
    assert "thread 'stuck' stopped: " in p.stderr


def test_fixed_clock_is_reproducible():
    p = cloche("import datetime; print(datetime.datetime.now().isoformat()[:16])",
               "--fixed-clock", "2001-02-03T04:05:06Z")
    assert p.stdout == "2001-02-03T04:05\n"
    assert cloche("pass", "--fixed-clock", "yesterday").returncode == 2


def test_sys_exit_statuses_like_python3():
    assert cloche("import sys; sys.exit(7)").returncode == 7
    p = cloche("import sys; sys.exit('bye')")
    assert (p.returncode, p.stderr) == (1, "bye\n")
    assert cloche("exit()").returncode == 0
    assert cloche("raise SystemExit(0)").returncode == 0


def test_stdlib_source_in_tracebacks_and_inspect():
    p = cloche("import inspect, json\nprint(inspect.getsource(json.dumps).split('(')[0])\n"
               "json.loads('{')")
    assert p.stdout == "def dumps\n"
    # the traceback through json/decoder.py shows its source lines
    assert "obj, end = self.scan_once(s, idx)" in p.stderr


def test_hostname_and_event_loops():
    p = cloche("import asyncio, socket\nprint(socket.gethostname())\n"
               "loop = asyncio.new_event_loop()\n"
               "print(loop.run_until_complete(asyncio.sleep(0, 'a')))\nloop.close()\n"
               "print(asyncio.run(asyncio.sleep(0, 'b'), loop_factory=asyncio.EventLoop))")
    assert (p.returncode, p.stdout) == (0, "cloche\na\nb\n"), p.stderr
