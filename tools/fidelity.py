#!/usr/bin/env python3
"""The fidelity suite: CPython's own regression tests, run natively and inside
the sandbox, compared test by test.

    tools/fidelity.py [--quick] [--modules a,b] [--build DIR] [--jobs N]
                      [--timeout S] [--test-timeout S] [--memory SIZE]
                      [--update] [--strict] [--run-hangs] [--reuse]
                      [--native-only] [--list] [-v]

For each module of MODULES the test modules run twice with the same driver
(tools/fidelity_driver.py) and the same test sources (the verified CPython
tree, `$CPYTHON/src/Lib/test`):

  * natively, under the cache's python3.13 built from that source;
  * inside the sandbox: `build/cloche run --timeout 600 --memory 1G` with
    the `test` package (which the stdlib image leaves out) and `Doc/`
    mounted read-only at the source tree's layout, and a host folder
    mounted read-write for the per-test result lines.

A test that passes natively and does not pass in the sandbox (skip, failure,
error, crash, limit, or never ran) is a *divergence*. Each must be listed in
tests/fidelity/expected.toml with a reason; any other divergence fails the
suite. A sandbox run that traps or trips a limit is not the end of its
module: the test that was running is recorded as `crash` or `limit` and the
module resumes after it. A run in which no test finishes for --test-timeout
seconds is killed as hung and resumed the same way; tests expected to hang
(kind `limit`) are left out unless --run-hangs.

Prints a native-vs-sandbox table per module and a summary line. Exit status:
0 when every divergence is expected, 1 otherwise. Entries that no longer
match anything (the sandbox got better) are printed as stale; with --strict
they fail too. --update rewrites the expectation file: stale entries drop
out and new divergences are appended under `TODO` reasons, which fail the
suite until a human writes the real reason.

Plain Python 3 (3.11+), standard library only; `make fidelity` runs it with
the cache's native python3.13. Artefacts (result lines, logs and the guest's
output of each run, sides.json for --reuse) are kept under BUILD/fidelity/.
This file is the command line, the module list and the report; running the
driver is tools/fidelity_run.py, comparing with the expectation file (and
--update) tools/fidelity_compare.py.
"""

import argparse
import concurrent.futures
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

from fidelity_compare import (CAUSES, OK, SKIP, Expectations, compare,
                              is_pseudo, summarize_detail, write_expectations)
from fidelity_run import Runner

ROOT = Path(__file__).resolve().parents[1]
EXPECTED = ROOT / "tests" / "fidelity" / "expected.toml"

# (key, test modules, in the quick subset run by `make test`: all but the
# slowest few; the whole list takes about two minutes on 2 cores)
AIO = "test.test_asyncio."
MODULES = [
    ("json", ["test.test_json"], True),
    ("re", ["test.test_re"], True),
    ("datetime", ["test.test_datetime"], True),
    ("collections", ["test.test_collections"], True),
    ("itertools", ["test.test_itertools"], True),
    ("functools", ["test.test_functools"], True),
    ("decimal", ["test.test_decimal"], True),
    ("fractions", ["test.test_fractions"], True),
    ("statistics", ["test.test_statistics"], True),
    ("dataclasses", ["test.test_dataclasses"], True),
    ("enum", ["test.test_enum"], True),
    ("string", ["test.test_string"], True),
    ("textwrap", ["test.test_textwrap"], True),
    ("csv", ["test.test_csv"], True),
    ("str", ["test.test_str"], True),
    ("codecs", ["test.test_codecs"], True),
    ("sqlite3", ["test.test_sqlite3"], True),
    ("zlib", ["test.test_zlib"], True),
    ("pickle", ["test.test_pickle"], True),
    ("math", ["test.test_math"], True),
    ("struct", ["test.test_struct"], True),
    ("typing", ["test.test_typing"], True),
    ("asyncio.tasks", [AIO + "test_tasks"], False),
    ("asyncio.futures", [AIO + "test_futures", AIO + "test_futures2"], True),
    ("asyncio.locks", [AIO + "test_locks"], True),
    ("asyncio.queues", [AIO + "test_queues"], True),
    ("asyncio.runners", [AIO + "test_runners"], True),
    ("asyncio.taskgroups", [AIO + "test_taskgroups"], False),
    ("asyncio.timeouts", [AIO + "test_timeouts", AIO + "test_waitfor"], False),
    ("pathlib", ["test.test_pathlib"], False),
    ("tempfile", ["test.test_tempfile"], True),
    ("time", ["test.test_time"], True),
    ("copy", ["test.test_copy"], True),
    ("contextlib", ["test.test_contextlib", "test.test_contextlib_async"],
     True),
    ("inspect", ["test.test_inspect"], True),
    ("email", ["test.test_email"], True),
    ("urlparse", ["test.test_urlparse"], True),
    ("xml_etree", ["test.test_xml_etree", "test.test_xml_etree_c"], True),
    ("zoneinfo", ["test.test_zoneinfo"], False),
]


def log(msg):
    print(msg, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- main


def find_cpython():
    env = os.environ.get("CLOCHE_CPYTHON")
    if env:
        return Path(env)
    p = subprocess.run(["bash", str(ROOT / "tools" / "cpython.sh")],
                       stdout=subprocess.PIPE, check=True, text=True)
    return Path(p.stdout.strip().splitlines()[-1])


def count(side, statuses):
    return sum(1 for t, o in side.results.items()
               if o.status in statuses and not is_pseudo(t))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", default=str(ROOT / "build"))
    ap.add_argument("--quick", action="store_true",
                    help="only the modules that fit in `make test`")
    ap.add_argument("--modules", help="comma-separated keys (default: all)")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--timeout", type=int, default=600,
                    help="seconds per run of a module (default 600)")
    ap.add_argument("--test-timeout", type=int, default=120,
                    help="seconds without a finished test before a run is "
                         "killed as hung (default 120)")
    ap.add_argument("--memory", default="1G")
    ap.add_argument("--expected", default=str(EXPECTED))
    ap.add_argument("--update", action="store_true",
                    help="rewrite the expectation file (see above)")
    ap.add_argument("--strict", action="store_true",
                    help="stale expectations fail the suite too")
    ap.add_argument("--run-hangs", action="store_true",
                    help="also run the tests expected to hit a limit "
                         "(by default they are left out: each costs "
                         "--test-timeout seconds)")
    ap.add_argument("--native-only", action="store_true")
    ap.add_argument("--reuse", action="store_true",
                    help="compare the results kept by the last run "
                         "instead of running anything")
    ap.add_argument("--list", action="store_true", help="list module keys")
    ap.add_argument("-v", "--verbose", action="store_true",
                    help="also list the expected divergences")
    args = ap.parse_args()

    if args.list:
        for key, mods, quick in MODULES:
            print(f"{key:20} {'quick' if quick else '     '} {' '.join(mods)}")
        return 0
    selected = [(k, m) for k, m, q in MODULES if q or not args.quick]
    if args.modules:
        want = args.modules.split(",")
        unknown = set(want) - {k for k, _, _ in MODULES}
        if unknown:
            ap.error("unknown module keys: " + ", ".join(sorted(unknown)))
        selected = [(k, m) for k, m, _ in MODULES if k in want]

    cpython = find_cpython()
    runner = Runner(args, cpython)
    if not (args.native_only or args.reuse) and not runner.cloche.exists():
        ap.error(f"{runner.cloche} not found: build first (make build)")
    exp = Expectations(Path(args.expected))
    if not args.run_hangs:
        runner.skip_globs = [pat for g, kind, pat in exp.entries()
                             if kind == "limit"]

    # Longest first (by the last run's times) to keep both workers busy.
    timings_path = runner.out / "timings.json"
    try:
        timings = json.loads(timings_path.read_text())
    except (OSError, ValueError):
        timings = {}
    selected.sort(key=lambda km: -timings.get(km[0], 0))

    t0 = time.monotonic()
    lock = threading.Lock()
    results = {}

    def job(key, mods):
        native, sandbox = runner.run_module(key, mods)
        if sandbox is None and not args.native_only:
            sys.exit(f"no sandbox results kept for {key}: run it without "
                     "--reuse first")
        with lock:
            results[key] = (mods, native, sandbox)
            s = (f"sandbox {count(sandbox, OK)} pass in {sandbox.secs:.0f}s"
                 if sandbox else "")
            if sandbox and sandbox.deaths:
                s += f", {len(sandbox.deaths)} crash/limit"
            log(f"[{len(results):2}/{len(selected)}] {key:18} native "
                f"{count(native, OK)} pass in {native.secs:.0f}s  {s}")

    with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
        futs = [pool.submit(job, k, m) for k, m in selected]
        for f in futs:
            f.result()
    wall = time.monotonic() - t0

    for key, (mods, native, sandbox) in results.items():
        timings[key] = native.secs + (sandbox.secs if sandbox else 0)
    runner.out.mkdir(parents=True, exist_ok=True)
    timings_path.write_text(json.dumps(timings, indent=1, sort_keys=True))

    if args.native_only:
        for key, _ in selected:
            mods, native, _ = results[key]
            print(f"{key:20} {count(native, OK):6} pass "
                  f"{count(native, SKIP):5}"
                  f" skip {count(native, {'fail', 'error'}):4} fail "
                  f"{native.secs:6.1f}s")
        return 0

    # ---- compare
    all_div, unexpected, native_all = [], [], []
    rows = []
    selected.sort(key=lambda km: [k for k, _, _ in MODULES].index(km[0]))
    for key, _ in selected:
        mods, native, sandbox = results[key]
        native_all += [t for t, o in native.results.items()
                       if o.status in OK and not is_pseudo(t)]
        divs = compare(native, sandbox, sandbox.broken, runner.skip_globs)
        n_exp = n_unexp = 0
        for d in divs:
            d.group = exp.match(d.kind, d.tid)
            if d.group is None:
                unexpected.append((key, d))
                n_unexp += 1
            else:
                n_exp += 1
        all_div += divs
        crashes = sum(1 for _, w, _ in sandbox.deaths if w == "crash")
        limits = sum(1 for _, w, _ in sandbox.deaths if w == "limit")
        rows.append((key, len([t for t in native.results
                               if not is_pseudo(t)]),
                     count(native, OK), count(sandbox, OK),
                     count(native, SKIP), count(sandbox, SKIP),
                     count(native, {"fail", "error", "xpass"}),
                     count(sandbox, {"fail", "error", "xpass"}),
                     crashes, limits, n_exp, n_unexp,
                     native.secs, sandbox.secs))

    ran = [m for key, _ in selected for m in results[key][0]]
    stale = [(g, kind, pat) for g, kind, pat in exp.entries()
             if (kind, pat) not in exp.used
             and any(pat.startswith(m + ".") for m in ran)]
    todo = [g for g in exp.groups if g.cause == "TODO"
            or g.reason.startswith("TODO")]

    # ---- report
    hdr = ("module", "tests", "nat ok", "box ok", "nat skip", "box skip",
           "nat fail", "box fail", "crash", "limit", "expected", "UNEXP",
           "nat s", "box s")
    fmt = "{:18} {:>6} {:>7} {:>7} {:>8} {:>8} {:>8} {:>8} {:>5} {:>5} " \
          "{:>8} {:>5} {:>6} {:>6}"
    print()
    print(fmt.format(*hdr))
    tot = [0] * 13
    for r in rows:
        print(fmt.format(r[0], *r[1:12], f"{r[12]:.0f}", f"{r[13]:.0f}"))
        tot = [a + b for a, b in zip(tot, r[1:])]
    print(fmt.format("TOTAL", *tot[:11], f"{tot[11]:.0f}", f"{tot[12]:.0f}"))

    for key, _ in selected:
        _, native, sandbox = results[key]
        for name, side in (("sandbox", sandbox), ("native", native)):
            for tid, what, detail in side.deaths:
                first = detail.splitlines()[0] if detail else ""
                print(f"\n{what.upper()} ({name}) in {key}: {tid}\n"
                      f"    {first}")
                for ln in detail.splitlines()[1:4]:
                    print("    " + ln)
            if side.broken:
                print(f"\nINCOMPLETE ({name}) {key}: {side.broken[:300]}")

    if args.verbose:
        print("\nexpected divergences:")
        for d in all_div:
            if d.group is not None:
                print(f"  {d.kind:7} {d.tid}  [{d.group.cause}] "
                      f"{d.group.reason[:70]}")
    if unexpected:
        print("\nUNEXPECTED divergences (native passes, sandbox does not):")
        for key, d in unexpected:
            others = exp.other_kinds(d.tid)
            note = f" (expected {'/'.join(others)})" if others else ""
            print(f"  {d.kind:7} {d.tid}{note}\n"
                  f"          {summarize_detail(d.sandbox)}")
    if stale:
        print("\nstale expectations (these now pass or diverge "
              "differently; remove them):")
        for g, kind, pat in stale:
            print(f"  {kind:7} {pat}  ({g.reason[:60]})")
    if todo:
        print(f"\n{len(todo)} expectation groups still have a TODO reason")

    if args.update:
        write_expectations(exp, all_div, ran, native_all)
        print(f"\nrewrote {exp.path}")

    n_expected = sum(1 for d in all_div if d.group is not None)
    by_cause = {}
    for d in all_div:
        if d.group is not None:
            by_cause[d.group.cause] = by_cause.get(d.group.cause, 0) + 1
    causes = ", ".join(f"{by_cause[c]} {c}" for c in CAUSES if c in by_cause)
    failed = bool(unexpected) or bool(todo) or (args.strict and bool(stale))
    parts = [f"{tot[1]} passed natively", f"{tot[2]} in the sandbox",
             f"{n_expected} expected differences" +
             (f" ({causes})" if causes else ""),
             f"{len(unexpected)} unexpected"]
    if stale:
        parts.append(f"{len(stale)} stale")
    if tot[7] or tot[8]:
        parts.append(f"{tot[7]} crashes, {tot[8]} limits")
    line = f" {len(rows)} modules: " + ", ".join(parts) + \
        f" in {wall:.0f}s "
    width = max(len(line) + 8, 78)
    print("\n" + line.center(width, "="))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
