"""The cloche command's limits on every path (issue 10): resume decides
the budget of the run it resumes, output caps cover the value, the final
exception and the trace, and odd inputs are refused instead of waited on."""

import json
import os
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CLOCHE = os.environ.get("CLOCHE_BIN", str(ROOT / "build" / "cloche"))

SPIN = "await sleep(seconds=0.01)\nwhile True: pass\n"


def cloche(*args, timeout=120):
    return subprocess.run([CLOCHE, *args], capture_output=True, text=True,
                          timeout=timeout)


def suspend(tmp_path, *flags):
    snap = tmp_path / "p.img"
    p = cloche("run", "--demo-tools", "--suspend", str(snap), *flags,
               "-c", SPIN)
    assert p.returncode == 5, p.stderr
    return snap


def test_resume_timeout_is_the_resumers(tmp_path):
    snap = suspend(tmp_path, "--timeout", "60")
    start = time.monotonic()
    p = cloche("resume", str(snap), "--demo-tools", "--timeout", "0.3",
               "--json")
    assert time.monotonic() - start < 10
    assert p.returncode == 3
    r = json.loads(p.stdout)
    assert (r["limit"], r["detail"]) == ("timeout", "timeout, in ms (limit 300)")


def test_resume_fuel_and_memory_flags(tmp_path):
    snap = suspend(tmp_path)
    p = cloche("resume", str(snap), "--demo-tools", "--fuel", "1000000",
               "--memory", "64M", "--json")
    assert p.returncode == 3
    r = json.loads(p.stdout)
    assert r["limit"] == "fuel" and r["fuel"] <= 1000000


def test_resume_bad_limit_is_usage_error(tmp_path):
    p = cloche("resume", str(tmp_path / "x.img"), "--timeout", "soon")
    assert p.returncode == 2 and "--timeout" in p.stderr


def test_max_output_caps_exception_text():
    p = cloche("run", "--max-output", "1K", "-c",
               "raise ValueError('x' * (20 * 2**20))")
    assert p.returncode == 1
    assert len(p.stderr) < 4096
    assert "more bytes cut: over the stderr cap of 1024 bytes]" in p.stderr


def test_max_output_caps_value_under_json():
    p = cloche("run", "--max-output", "1K", "--json", "-c",
               "{'k': 'v' * (30 * 2**20)}")
    assert p.returncode == 0
    assert len(p.stdout) < 8192
    r = json.loads(p.stdout)
    assert r["value"] is None and r["cut"] > 60 * 2**20 - 2048
    assert r["value_repr"].endswith("over the stdout cap of 1024 bytes]")


def test_trace_capped_by_max_output():
    p = cloche("run", "--trace", "--max-output", "1K", "-c",
               "n = 0\nfor i in range(200000):\n    n += i")
    assert p.returncode == 0
    assert len(p.stderr) < 8192
    last = p.stderr.splitlines()[-1]
    assert last.startswith("trace: cut")
    assert last.endswith("over the trace cap of 1024 bytes")


def test_fuel_of_one_is_the_fuel_limit():
    p = cloche("run", "--fuel", "1", "--json", "-c", "print(1)")
    assert p.returncode == 3
    assert json.loads(p.stdout)["limit"] == "fuel"


def test_fifo_script_and_snapshot_refused(tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    for args in (["run", str(fifo)], ["run", "--load", str(fifo), "-c", "1"],
                 ["resume", str(fifo)], ["run", "/dev/zero"]):
        p = cloche(*args, timeout=20)
        assert p.returncode == 2, args
        assert "not a regular file" in p.stderr


def test_source_over_the_memory_limit_is_the_memory_limit(tmp_path):
    big = tmp_path / "big.py"
    big.write_bytes(b"#" * (63 << 20) + b"\n")
    p = cloche("run", "--memory", "64M", "--json", str(big))
    assert p.returncode == 3, p.stderr
    r = json.loads(p.stdout)
    assert r["limit"] == "memory"
    assert "do not fit" in r["detail"]


def test_huge_argv_is_refused_with_its_reason():
    args = ["a" * 100_000] * 20
    p = cloche("run", "-c", "import sys; print(len(sys.argv))", *args)
    assert p.returncode == 2
    assert "argv is 20000" in p.stderr and "1 MiB" in p.stderr
    assert "memory" not in p.stderr
    p = cloche("run", "-c", "import sys; print(len(sys.argv))", *args[:5])
    assert (p.returncode, p.stdout) == (0, "6\n")
