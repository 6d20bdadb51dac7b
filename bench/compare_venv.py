"""bench/compare.py's private venv: native CPython 3.13, the venv keyed by
the pins, and each group of pins installed with pip (a group that fails
leaves the others usable)."""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from compare_common import PINS, ROOT


def native_python() -> str:
    """Native CPython 3.13 built from the guest's source (tools/cpython.sh
    builds or finds it; the last line it prints is its folder)."""
    p = subprocess.run(["bash", str(ROOT / "tools" / "cpython.sh")],
                       capture_output=True, text=True, check=True)
    return p.stdout.strip().splitlines()[-1] + "/native/bin/python3.13"


def cache_root() -> Path:
    base = os.environ.get("CLOCHE_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "cloche")
    return Path(base)


def pip(venv: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "--quiet",
                           "--disable-pip-version-check", *args],
                          capture_output=True, text=True)


def cloche_source(build: Path) -> tuple[str, str]:
    """The cloche package to install: the wheel tools/wheel.sh built, else the
    repository itself (`pip install .`). Returns (what, marker)."""
    wheels = sorted((build / "python-dist").glob("cloche-*.whl"),
                    key=lambda w: w.stat().st_mtime)
    if wheels:
        digest = hashlib.sha256(wheels[-1].read_bytes()).hexdigest()
        return str(wheels[-1]), digest
    return str(ROOT), "source-" + str(time.time())


def describe_source(what: str) -> str:
    path = Path(what)
    if path.is_file():
        built = datetime.datetime.fromtimestamp(path.stat().st_mtime)
        return f"`{path.name}` (built {built:%Y-%m-%d %H:%M} by tools/wheel.sh)"
    return f"`pip install {what}`"


def pip_error(text: str) -> str:
    """pip's most telling error line, for the table."""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    errors = [ln.removeprefix("ERROR: ") for ln in lines if ln.startswith("ERROR:")]
    pick = ([e for e in errors if "No matching distribution" in e] or errors
            or lines[-1:] or ["pip failed"])[0]
    return pick[:200]


def ensure_venv(python: str, build: Path) -> tuple[Path, dict[str, str]]:
    """Creates (once) and fills the venv; returns it and, per group, "ok" or
    why it did not install. A failed group is tried again next time."""
    version = subprocess.run([python, "-c", "import sys; print(sys.version)"],
                             capture_output=True, text=True, check=True).stdout
    key = hashlib.sha256(json.dumps([PINS, python, version]).encode()).hexdigest()[:12]
    home = cache_root() / f"compare-{key}"
    venv = home / "venv"
    if not (venv / "bin" / "python").exists():
        print(f"[compare] making {venv}", file=sys.stderr)
        subprocess.run([python, "-m", "venv", str(venv)], check=True)
    constraints = home / "constraints.txt"
    constraints.write_text("\n".join(p for g in PINS.values() for p in g) + "\n")
    status = {}
    for group, pins in PINS.items():
        extra: list[str] = []
        marker = "pinned"
        if group == "cloche":
            what, marker = cloche_source(build)
            extra = [what]
            status["cloche_source"] = describe_source(what)
        done = home / f"installed-{group}"
        if done.exists() and done.read_text() == marker:
            status[group] = "ok"
            continue
        print(f"[compare] installing {group}: {' '.join(pins + extra)}", file=sys.stderr)
        p = pip(venv, "install", "-c", str(constraints), *pins)
        if p.returncode == 0 and extra:
            p = pip(venv, "install", "--force-reinstall", "--no-deps", *extra)
        if p.returncode == 0:
            done.write_text(marker)
            status[group] = "ok"
        else:
            status[group] = pip_error(p.stderr or p.stdout)
            print(f"[compare] {group} did not install:\n{p.stderr[-2000:]}", file=sys.stderr)
    return home, status
