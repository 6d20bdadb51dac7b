"""The cloche command: output, exit codes, --json, limits, usage errors."""

import json
import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CLOCHE = os.environ.get("CLOCHE_BIN", str(ROOT / "build" / "cloche"))


def cloche(*args, stdin=None):
    return subprocess.run([CLOCHE, *args], capture_output=True, text=True,
                          input=stdin, timeout=120)


def test_print_one_plus_one():
    p = cloche("run", "-c", "print(1+1)")
    assert (p.returncode, p.stdout, p.stderr) == (0, "2\n", "")


def test_script_file_and_argv(tmp_path):
    script = tmp_path / "s.py"
    script.write_text("import sys\nprint(sys.argv[1:])\n")
    p = cloche("run", str(script), "a", "b")
    assert (p.returncode, p.stdout) == (0, "['a', 'b']\n")


def test_stdin_script():
    p = cloche("run", "-", stdin="print('from stdin')")
    assert (p.returncode, p.stdout) == (0, "from stdin\n")


def test_exception_exit_code_and_traceback():
    p = cloche("run", "-c", "print('x')\n1/0")
    assert p.returncode == 1
    assert p.stdout == "x\n"
    assert "ZeroDivisionError: division by zero" in p.stderr
    assert "Traceback" in p.stderr


# The trailing value's JSON takes fast paths for int, bool and str; every
# value must still come out as json.dumps(value, allow_nan=False) does, or
# null where json.dumps refuses.
@pytest.mark.parametrize("expr", [
    "7", "-2**40", "True", "False", "'caf\u00e9 \\u2713 \"q\"\\n'", "3.25",
    "[1, 'a', None, {'k': (2.5, False)}]", "{1: 'int key'}",
    "float('nan')", "10**5000", "{1, 2}", "b'x'", "type('I', (int,), {})(5)",
])
def test_value_json_matches_json_dumps(expr):
    p = cloche("run", "--json", "-c", expr)
    assert p.returncode == 0, p.stderr
    got = json.loads(p.stdout)["value"]
    value = eval(expr)
    try:
        want = json.loads(json.dumps(value, allow_nan=False))
    except (TypeError, ValueError):
        want = None
    assert got == want


def test_json_result():
    p = cloche("run", "--json", "-c", "print('hi')\n{'a': [1, 2]}")
    assert p.returncode == 0
    r = json.loads(p.stdout)
    assert r["outcome"] == "ok"
    assert r["stdout"] == "hi\n"
    assert r["value"] == {"a": [1, 2]}
    assert r["value_repr"] == "{'a': [1, 2]}"
    assert r["exception"] is None and r["limit"] is None
    assert r["memory"] > 0 and r["duration_ms"] > 0


def test_json_exception():
    p = cloche("run", "--json", "-c", "raise ValueError('bad')")
    assert p.returncode == 1
    exc = json.loads(p.stdout)["exception"]
    assert exc["type"] == "ValueError" and exc["message"] == "bad"


@pytest.mark.parametrize("args,code,limit", [
    (["--timeout", "0.2"], "while True: pass", "timeout"),
    (["--memory", "64M"], "x = bytearray(300 * 2**20)", "memory"),
    (["--fuel", "1000000"], "while True: pass", "fuel"),
    (["--max-output", "1k"], "while True: print('y' * 50)", "stdout"),
])
def test_limits_exit_3_and_named(args, code, limit):
    p = cloche("run", "--json", *args, "-c", code)
    assert p.returncode == 3, p.stderr
    r = json.loads(p.stdout)
    assert (r["outcome"], r["limit"]) == ("limit", limit)


def test_limit_plain_output_names_limit():
    p = cloche("run", "--timeout", "0.2", "-c", "while True: pass")
    assert p.returncode == 3
    assert "limit: timeout" in p.stderr


@pytest.mark.parametrize("args", [
    [], ["--timeout"], ["--timeout", "abc", "-c", "1"],
    ["--memory", "12Q", "-c", "1"], ["--fuel", "-5", "-c", "1"],
    ["--bogus", "-c", "1"],
])
def test_usage_errors_exit_2(args):
    p = cloche("run", *args)
    assert p.returncode == 2
    assert "usage" in p.stderr or "cloche run" in p.stderr


def test_missing_file_is_usage_error(tmp_path):
    p = cloche("run", str(tmp_path / "nope.py"))
    assert p.returncode == 2
    assert "cannot read" in p.stderr


def test_help_lists_exit_codes():
    p = cloche("run", "--help")
    assert p.returncode == 0
    assert "3 a limit tripped" in p.stdout


def test_unknown_command():
    assert cloche("frobnicate").returncode == 2


def test_demo_tools_gather_and_errors():
    code = (
        "import asyncio, time\n"
        "t = time.monotonic()\n"
        "r = await asyncio.gather(*(sleep(seconds=0.3) for _ in range(5)))\n"
        "print(len(r), time.monotonic() - t < 1.2)\n"
        "print(await echo(a=1))\n"
        "try:\n"
        "    await fail(message='nope')\n"
        "except CallbackError as e:\n"
        "    print('caught', e)\n"
    )
    p = cloche("run", "--demo-tools", "-c", code)
    assert p.returncode == 0, p.stderr
    assert p.stdout == "5 True\n{'a': 1}\ncaught nope\n"


def test_demo_tools_sync_style_and_uncaught_failure():
    p = cloche("run", "--demo-tools", "-c", "print(echo(x=[1]))\nfail(message='m')")
    assert p.returncode == 1
    assert p.stdout == "{'x': [1]}\n"
    assert "CallbackError: m" in p.stderr


def test_no_tools_without_flag():
    p = cloche("run", "-c", "echo(a=1)")
    assert p.returncode == 1
    assert "NameError" in p.stderr


def test_example_tools_script():
    p = cloche("run", "--demo-tools", str(ROOT / "examples" / "tools.py"))
    assert p.returncode == 0, p.stderr
    assert "echo said: {'city': 'Oslo', 'days': 3}" in p.stdout
    assert "caught: the host says no" in p.stdout


def test_save_then_load_across_processes(tmp_path):
    snap = tmp_path / "s.img"
    p = cloche("run", "--save", str(snap), "-c",
               "def greet(n): return 'hi ' + n\ncount = 41")
    assert p.returncode == 0, p.stderr
    p = cloche("run", "--load", str(snap), "-c",
               "count += 1\nprint(greet('there'), count)")
    assert (p.returncode, p.stdout) == (0, "hi there 42\n"), p.stderr


def test_suspend_and_resume_in_a_new_process(tmp_path):
    snap = tmp_path / "pending.img"
    code = ("import asyncio\nprint('started')\n"
            "a, b = await asyncio.gather(sleep(seconds=0.05), echo(k=1))\n"
            "print('resumed', a, b)")
    p = cloche("run", "--demo-tools", "--suspend", str(snap), "-c", code)
    assert p.returncode == 5, p.stderr
    assert p.stdout == ""  # the run is not finished: nothing printed yet
    p = cloche("resume", str(snap), "--demo-tools")
    assert p.returncode == 0, p.stderr
    assert p.stdout == "started\nresumed {'slept': 0.05} {'k': 1}\n"


def test_resume_rejects_tampered_and_wrong_key(tmp_path):
    snap = tmp_path / "p.img"
    key = tmp_path / "key"
    key.write_bytes(b"k" * 32)
    p = cloche("run", "--demo-tools", "--key", str(key), "--suspend", str(snap),
               "-c", "await sleep(seconds=0.01)")
    assert p.returncode == 5, p.stderr
    other = tmp_path / "other"
    other.write_bytes(b"x" * 32)
    p = cloche("resume", str(snap), "--demo-tools", "--key", str(other))
    assert p.returncode == 2 and "authentication" in p.stderr
    data = bytearray(snap.read_bytes())
    data[-10] ^= 0xFF
    snap.write_bytes(bytes(data))
    p = cloche("resume", str(snap), "--demo-tools", "--key", str(key))
    assert p.returncode == 2 and "snapshot" in p.stderr
    p = cloche("resume", str(tmp_path / "missing.img"))
    assert p.returncode == 2 and "cannot read" in p.stderr


def test_repl_session_commands(tmp_path):
    snap = tmp_path / "repl.img"
    state = tmp_path / "repl.state"
    script = "\n".join([
        "x = 20",
        "def twice(v):",
        "    return v * 2",
        "",
        "twice(x) + 2",
        f":save {snap}",
        f":state-save {state}",
        ":reset",
        "'x' in globals()",
        f":load {snap}",
        "twice(x)",
        ":clear",
        "'twice' in globals()",
        f":state-load {state}",
        "twice(1)",
        ":quit",
    ]) + "\n"
    p = cloche("repl", stdin=script)
    assert p.returncode == 0, p.stderr
    assert p.stdout.split() == ["42", "False", "40", "False", "2"]


def test_example_hello_script():
    p = cloche("run", str(ROOT / "examples" / "hello.py"))
    assert p.returncode == 0, p.stderr
    assert p.stdout == ("hello from the sandbox: 3 items, sum of squares 5\n"
                        "json is 78 bytes, 46 compressed\n")


def test_stream_prints_output_once_in_order():
    p = cloche("run", "--stream", "-c",
               "import os\nprint('a')\nos.write(1, b'b\\n')\nprint('c')")
    assert (p.returncode, p.stdout) == (0, "a\nb\nc\n")


def test_trace_lines_on_stderr():
    p = cloche("run", "--trace", "-c", "x = 1\ny = x + 1\nprint(y)")
    assert p.returncode == 0 and p.stdout == "2\n"
    lines = [l.split()[-1] for l in p.stderr.splitlines()
             if l.startswith("trace: line")]
    assert lines == ["1", "2", "3"]


def test_vfs_quota_flag():
    p = cloche("run", "--vfs-quota", "10k", "-c",
               "open('/data/f', 'wb').write(b'x' * 50000)")
    assert p.returncode == 1 and "OSError" in p.stderr


def test_mount_read_only_by_default(tmp_path):
    (tmp_path / "in.txt").write_text("host data")
    p = cloche("run", "--mount", f"{tmp_path}:/mnt/in", "-c",
               "print(open('/mnt/in/in.txt').read())\n"
               "try:\n    open('/mnt/in/new', 'w')\n"
               "except OSError as e:\n    print(e.errno == __import__('errno').EROFS)")
    assert (p.returncode, p.stdout) == (0, "host data\nTrue\n")
    assert not (tmp_path / "new").exists()


def test_mount_read_write_writes_to_host(tmp_path):
    p = cloche("run", "--mount", f"{tmp_path}:/out:rw", "-c",
               "open('/out/result.txt', 'w').write('42')")
    assert p.returncode == 0, p.stderr
    assert (tmp_path / "result.txt").read_text() == "42"


def test_bad_mounts_are_usage_errors(tmp_path):
    p = cloche("run", "--mount", f"{tmp_path}/missing:/mnt/x", "-c", "1")
    assert p.returncode == 2
    assert "cannot mount" in p.stderr and "missing" in p.stderr
    p = cloche("run", "--mount", f"{tmp_path}", "-c", "1")
    assert p.returncode == 2 and "--mount" in p.stderr
    p = cloche("run", "--mount", f"{tmp_path}:relative", "-c", "1")
    assert p.returncode == 2


def test_package_folder(tmp_path):
    pkg = tmp_path / "lib" / "greet"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("def hi(n):\n    return f'hi {n}'\n")
    p = cloche("run", "--package", str(tmp_path / "lib"), "-c",
               "import greet\nprint(greet.hi('there'))")
    assert (p.returncode, p.stdout) == (0, "hi there\n")
