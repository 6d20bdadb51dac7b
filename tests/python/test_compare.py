"""bench/compare.py (`make compare`) without its peers: the kernel scripts
it derives from bench/kernels.py, the report for a peer that did not
install, and a --quick run of cloche alone through the package venv that
`make test` builds (skipped before that venv exists). Nothing here checks a
speed."""

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CLOCHE = os.environ.get("CLOCHE_BIN", str(ROOT / "build" / "cloche"))
VENV_PY = Path(CLOCHE).resolve().parent / "python-venv" / "bin" / "python"


def load_compare():
    spec = importlib.util.spec_from_file_location("compare", ROOT / "bench" / "compare.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_kernel_scripts_run_alone_and_print_a_median(tmp_path):
    scripts, repeat = load_compare().kernel_scripts()
    assert set(scripts) == {"recursion", "dict_str", "json_roundtrip", "regex"}
    assert repeat == 7
    for name, script in scripts.items():
        assert "statistics" not in script  # a peer without it still runs them
        path = tmp_path / f"{name}.py"
        path.write_text(script)
        out = subprocess.run([sys.executable, "-I", str(path)], capture_output=True,
                             text=True, check=True).stdout
        assert float(out.split()[-1]) > 0
    assert "import re" not in scripts["recursion"]  # only what a kernel uses


def test_report_shows_a_peer_that_did_not_install():
    compare = load_compare()
    results = {
        "cloche": {"rows": {"run": {"value": 40.0, "how": "`run_sync`"},
                            "tool_sync": {"value": 15.0}},
                   "info": {"version": "0.1.0"}},
        "eryx": {"rows": {"run": {"value": 80.0},
                          "tool_sync": {"na": "not offered: awaitable only"}},
                 "info": {"version": "0.11.0"}},
        "monty": {"failed": "not installed: No matching distribution"},
    }
    meta = {"when": "now", "machine": "m", "load_start": "1", "load_end": "1",
            "native_version": "3.13.5", "mode": "", "gap_ms": 5.0, "rounds": 1,
            "pins": {"eryx": "0.11.0", "monty": "1.4.0"}}
    md = compare.render(results, meta)
    assert "| one small run in an existing session | **40.0 µs** (×1.00) | 80.0 µs (×2.00) | — (not installed) |" in md
    assert "— (not offered: awaitable only)" in md
    assert "- Monty: not installed: No matching distribution" in md
    assert "Monty 1.4.0" in md


@pytest.mark.skipif(not VENV_PY.exists(), reason="no package venv yet (make test builds it)")
def test_quick_run_of_cloche_alone(tmp_path):
    if subprocess.run([str(VENV_PY), "-c", "import cloche"]).returncode != 0:
        pytest.skip("the package venv has no cloche")
    p = subprocess.run([str(VENV_PY), str(ROOT / "bench" / "compare.py"), "--quick",
                        "--peers", "cloche", "--no-venv", "--no-chart",
                        "--out", str(tmp_path)],
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr + (tmp_path / "cloche.log").read_text()
    md = (tmp_path / "compare.md").read_text()
    assert "| metric | cloche |" in md and md in p.stdout  # written and printed
    for row in ("fresh sandbox", "tool round trip, awaited", "kernel regex",
                "private memory per idle session", "whole-session snapshot: size"):
        line = next(ln for ln in md.splitlines() if ln.startswith(f"| {row}"))
        assert "—" not in line, line  # cloche measured every row
