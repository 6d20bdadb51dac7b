"""cloche beside eryx and Monty: the same measurements, one run, medians.

    make compare                       # tools/wheel.sh, then this
    python3 bench/compare.py [--quick] [--peers cloche,eryx,monty]

Makes a private venv (CPython 3.13 from tools/cpython.sh; pyeryx wants
>= 3.12) keyed by the pins (PINS, compare_common.py), installs each peer
pinned (pyeryx, pydantic-monty), the cloche package (the wheel
tools/wheel.sh left in build/python-dist, else `pip install .`) and
matplotlib, then measures each peer in its own process, one after the
other, with the same scripts. Writes build/compare/compare.md (printed
too), compare.json and compare.png.

A peer that does not install, or cannot do a row, is shown as such in the
table. Each peer is driven through its fastest documented path; what that
is, per cell, is in the table's notes. Nothing here asserts a speed.

The parts: compare_common.py (pins, rows, Config, helpers, Recorder),
compare_kernels.py, one file per peer (compare_cloche.py, compare_eryx.py,
compare_monty.py), compare_report.py (the table and the chart) and
compare_venv.py; this file runs the whole.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

# The parts live beside this file: on the path when it runs as a script,
# added here when it is loaded by file path (tests/python/test_compare.py).
HERE = str(Path(__file__).resolve().parent)
if HERE not in sys.path:
    sys.path.insert(0, HERE)

from compare_cloche import bench_cloche  # noqa: E402
from compare_common import PEERS, PINS, ROOT, TITLES, Config  # noqa: E402
from compare_eryx import bench_eryx  # noqa: E402
from compare_kernels import kernel_scripts  # noqa: E402
from compare_monty import bench_monty  # noqa: E402
from compare_report import chart, render  # noqa: E402
from compare_venv import ensure_venv, native_python  # noqa: E402

__all__ = ["main", "kernel_scripts", "render"]  # what the tests use


def run_worker(peer: str, args: argparse.Namespace) -> None:
    """Measure one peer in this process; results go to args.json."""
    cfg = Config(args.quick)
    if peer == "cloche":
        rec = bench_cloche(cfg, args.native)
    elif peer == "eryx":
        rec = bench_eryx(cfg, args.native, Path(args.cache))
    else:
        rec = bench_monty(cfg, args.native)
    Path(args.json).write_text(json.dumps({"rows": rec.rows, "info": rec.info}))


def measure(peer: str, args: argparse.Namespace, out: Path,
            rnd: int) -> dict[str, Any]:
    """One round of one peer, in a process of its own."""
    path = out / f"{peer}-{rnd}.json"
    path.unlink(missing_ok=True)
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", peer,
           "--json", str(path), "--native", args.native, "--cache", args.cache]
    cmd += ["--quick"] if args.quick else []
    print(f"[compare] round {rnd}: measuring {TITLES[peer]} ...", file=sys.stderr,
          flush=True)
    t0 = time.monotonic()
    with open(out / f"{peer}-{rnd}.log", "w") as log:
        p = subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT)
    took = time.monotonic() - t0
    if p.returncode != 0 or not path.exists():
        tail = (out / f"{peer}-{rnd}.log").read_text().strip().splitlines()[-1:] or ["?"]
        return {"failed": f"the benchmark process failed (exit {p.returncode}): "
                          f"{tail[0][:160]}", "seconds": took}
    res: dict[str, Any] = json.loads(path.read_text())
    res["seconds"] = took
    return res


def combine(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    """A peer's rounds as one result: per row, the cell of the round with
    the median value (its notes stay consistent with its number)."""
    good = [r for r in rounds if not r.get("failed")]
    if not good:
        return rounds[0]
    rows = {}
    for key in {k for r in good for k in r["rows"]}:
        cells = [r["rows"][key] for r in good if key in r["rows"]]
        valued = sorted((c for c in cells if "value" in c), key=lambda c: c["value"])
        rows[key] = valued[(len(valued) - 1) // 2] if valued else cells[0]
    info = dict(good[0]["info"])
    natives = [r["info"]["native_kernels"] for r in good
               if "native_kernels" in r["info"]]
    if natives:
        info["native_kernels"] = {k: statistics.median(n[k] for n in natives)
                                  for k in natives[0]}
    return {"rows": rows, "info": info, "rounds": len(good),
            "seconds": sum(r["seconds"] for r in rounds)}



def load_avg() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def orchestrate(args: argparse.Namespace) -> int:
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    status = json.loads(os.environ.get("CLOCHE_COMPARE_INSTALL", "{}"))
    source = status.pop("cloche_source", "")
    meta: dict[str, Any] = {
        "when": datetime.datetime.now().strftime("%Y-%m-%d %H:%M"),
        "machine": f"{os.cpu_count()} cores, {cpu_model()}, Linux {platform.release()}",
        "load_start": load_avg(), "gap_ms": Config(args.quick).gap * 1e3,
        "rounds": args.rounds,
        "pins": {p: PINS[p][0].split("==")[1] for p in ("eryx", "monty")},
        "mode": ("Quick mode (--quick): few samples, 20 idle sessions. "
                 if args.quick else "") + (f"cloche installed from {source}." if source else ""),
        "native_version": subprocess.run([args.native, "-c", "import sys; print(sys.version.split()[0])"],
                                         capture_output=True, text=True).stdout.strip(),
    }
    results: dict[str, dict[str, Any]] = {}
    rounds: dict[str, list[dict[str, Any]]] = {p: [] for p in args.peers}
    for rnd in range(1, args.rounds + 1):  # peers alternate: a load spike
        for peer in args.peers:            # hits one round, not one peer
            if status.get(peer, "ok") != "ok":
                results[peer] = {"failed": f"not installed: {status[peer]}"}
                continue
            rounds[peer].append(measure(peer, args, out, rnd))
    for peer, rs in rounds.items():
        if rs:
            results[peer] = combine(rs)
    results = {p: results[p] for p in args.peers}
    meta["load_end"] = load_avg()
    natives = [r["info"]["native_kernels"] for r in results.values()
               if "native_kernels" in r.get("info", {})]
    if natives:
        meta["native_kernels"] = {k: statistics.median(n[k] for n in natives)
                                  for k in natives[0]}
    md = render(results, meta)
    (out / "compare.md").write_text(md)
    (out / "compare.json").write_text(json.dumps({"meta": meta, "results": results},
                                                 indent=1))
    print(md)
    if not args.no_chart:
        print(chart(results, out / "compare.png", meta))
    print(f"written: {out / 'compare.md'}, {out / 'compare.json'}")
    return 0


def cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "?"



def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="few samples (a smoke run)")
    ap.add_argument("--peers", default=",".join(PEERS),
                    help="comma-separated subset of cloche,eryx,monty")
    ap.add_argument("--build", default=str(ROOT / "build"), help="the build folder")
    ap.add_argument("--out", help="output folder (default BUILD/compare)")
    ap.add_argument("--no-venv", action="store_true",
                    help="measure with this interpreter's packages, install nothing")
    ap.add_argument("--rounds", type=int,
                    help="each peer measured this many times, alternating; "
                         "a row reports the median round (default 3, --quick 1)")
    ap.add_argument("--no-chart", action="store_true")
    ap.add_argument("--native", help="native python3.13 (default: tools/cpython.sh's)")
    ap.add_argument("--python", help="interpreter for the venv (default: --native)")
    ap.add_argument("--worker", choices=PEERS, help=argparse.SUPPRESS)
    ap.add_argument("--json", help=argparse.SUPPRESS)
    ap.add_argument("--cache", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        run_worker(args.worker, args)
        return 0
    args.rounds = args.rounds or (1 if args.quick else 3)
    args.peers = [p for p in args.peers.split(",") if p]
    if any(p not in PEERS for p in args.peers):
        ap.error(f"--peers: choose from {','.join(PEERS)}")
    args.native = args.native or native_python()
    args.out = args.out or str(Path(args.build) / "compare")
    if args.no_venv or os.environ.get("CLOCHE_COMPARE_VENV"):
        args.cache = args.cache or os.environ.get("CLOCHE_COMPARE_VENV") or args.out
        return orchestrate(args)
    home, status = ensure_venv(args.python or args.native, Path(args.build))
    os.environ["CLOCHE_COMPARE_VENV"] = str(home)
    os.environ["CLOCHE_COMPARE_INSTALL"] = json.dumps(status)
    py = str(home / "venv" / "bin" / "python")
    argv = [py, str(Path(__file__).resolve()), *sys.argv[1:]]
    if "--native" not in sys.argv:
        argv += ["--native", args.native]
    if status.get("chart") != "ok" and "--no-chart" not in argv:
        print(f"[compare] matplotlib did not install ({status.get('chart')}): no chart",
              file=sys.stderr)
        argv.append("--no-chart")
    os.execv(py, argv)
    return 1


if __name__ == "__main__":
    sys.exit(main())
