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
"""

import argparse
import concurrent.futures
import dataclasses
import fnmatch
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import threading
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DRIVER = ROOT / "tools" / "fidelity_driver.py"
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

OK, SKIP = {"pass", "xfail"}, {"skip"}
# Divergence kind for each sandbox status (of a test that passed natively).
KIND = {"skip": "skip", "fail": "fail", "error": "fail", "xpass": "fail",
        "crash": "crash", "limit": "limit", "missing": "missing"}
KINDS = ("skip", "fail", "crash", "limit", "missing")
CAUSES = ("wasi", "sandbox", "cloche", "test", "TODO")
MAX_RESUMES = 40


def log(msg):
    print(msg, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- results


@dataclass
class Outcome:
    status: str
    secs: float = 0.0
    detail: str = ""


@dataclass
class Side:
    """One side's (native or sandbox) results for one module."""
    results: dict = field(default_factory=dict)   # id -> Outcome
    runs: int = 0
    secs: float = 0.0
    deaths: list = field(default_factory=list)    # (test id, what, detail)
    broken: str = ""    # why the rest of the module could not run


def unescape(text):
    return re.sub(r"\\(.)", lambda m: {"n": "\n", "t": "\t", "r": "\r"}.get(
        m.group(1), m.group(1)), text)


def parse_lines(path):
    """(results, dangling start id or None, done?, id of the last result)
    of one driver run."""
    results, dangling, done, last = {}, None, False, None
    try:
        text = Path(path).read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return results, None, False, None
    for line in text.splitlines():
        f = line.split("\t")
        if f[0] == "start" and len(f) >= 2:
            dangling = f[1]
        elif f[0] == "done":
            done = True
        elif len(f) >= 3 and f[0] in ("pass", "fail", "error", "skip",
                                      "xfail", "xpass"):
            secs = float(f[2]) if f[2] else 0.0
            results[f[1]] = Outcome(f[0], secs, unescape(f[3]) if len(f) > 3
                                    else "")
            last = f[1]
            if f[1] == dangling:
                dangling = None
    return results, dangling, done, last


# ---------------------------------------------------------------- running


class Runner:
    def __init__(self, args, cpython):
        self.args = args
        self.cpython = cpython
        self.native = cpython / "native" / "bin" / "python3.13"
        self.lib = cpython / "src" / "Lib"
        self.cloche = Path(args.build) / "cloche"
        self.out = Path(args.build) / "fidelity"
        self.skip_globs = []   # expected hangs, not run (see --run-hangs)
        # Native bytecode goes here, never into the verified source tree.
        self.pycache = (self.out / "pycache").resolve()

    def limit_native_memory(self):
        # A native test gone wrong must not take the machine with it.
        resource.setrlimit(resource.RLIMIT_AS, (8 << 30, 8 << 30))

    def watch(self, cmd, results, logpath, **kw):
        """Runs CMD with output to LOGPATH. Kills it when RESULTS (the
        driver's result file) has not grown for --test-timeout seconds (a
        hung test) or after the module's whole budget. Returns (exit code,
        why it was killed or '')."""
        budget = self.args.timeout + 60
        with open(logpath, "wb") as logf:
            p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=logf,
                                 stderr=logf, **kw)
            t0 = last = time.monotonic()
            size = -1
            while True:
                try:
                    return p.wait(timeout=0.5), ""
                except subprocess.TimeoutExpired:
                    pass
                now = time.monotonic()
                try:
                    grown = results.stat().st_size
                except FileNotFoundError:
                    grown = 0
                if grown != size:
                    size, last = grown, now
                why = ""
                if now - last > self.args.test_timeout:
                    why = (f"hung: no test finished for "
                           f"{self.args.test_timeout}s (killed)")
                elif now - t0 > budget:
                    why = f"timeout after {budget}s (killed)"
                if why:
                    p.kill()
                    p.wait()
                    return p.returncode, why

    def run_native(self, argv, outdir, n):
        """One native driver run: (what, detail); what is '' on a clean
        exit, else crash/limit/exit."""
        work = outdir / "native-tmp"
        work.mkdir(exist_ok=True)
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("PYTHON")}
        env["TMPDIR"] = str(work)
        results = outdir / f"native-{n}.txt"
        rc, killed = self.watch(
            [str(self.native), "-I", "-X", f"pycache_prefix={self.pycache}",
             str(DRIVER), "--out", str(results),
             "--lib", str(self.lib), *argv],
            results, outdir / f"native-{n}.log",
            cwd=work, env=env, preexec_fn=self.limit_native_memory)
        shutil.rmtree(work, ignore_errors=True)
        if killed:
            return "limit", killed
        if rc < 0:
            return "crash", f"killed by signal {-rc}"
        if rc != 0:
            return "exit", f"driver exited with {rc}; see " \
                f"{outdir}/native-{n}.log"
        return "", ""

    def run_sandbox(self, argv, outdir, n):
        a = self.args
        results = outdir / f"sandbox-{n}.txt"
        cmd = [str(self.cloche), "run", "--json",
               "--timeout", str(a.timeout), "--memory", a.memory,
               "--max-output", "16M", "--vfs-quota", "256M",
               # The source tree's layout, so test.support.REPO_ROOT finds
               # Doc/ (test_enum runs Doc/library/enum.rst).
               "--mount", f"{self.lib / 'test'}:/src/Lib/test",
               "--mount", f"{self.lib.parent / 'Doc'}:/src/Doc",
               "--mount", f"{outdir}:/fidout:rw",
               str(DRIVER), "--out", f"/fidout/{results.name}",
               "--lib", "/src/Lib", *argv]
        logpath = outdir / f"sandbox-{n}.json"
        rc, killed = self.watch(cmd, results, logpath)
        if killed:
            return "limit", killed
        raw = logpath.read_bytes()
        try:
            r = json.loads(raw)
        except ValueError:
            r = {}
        if r:
            # The guest's own output, for a human reading the logs.
            (outdir / f"sandbox-{n}.out").write_text(
                (r.get("stdout") or "") + (r.get("stderr") or ""),
                encoding="utf-8")
        text = raw.decode(errors="replace")
        outcome = r.get("outcome")
        if rc == 0 and outcome == "ok":
            return "", ""
        if outcome == "crash" or rc == 4:
            return "crash", "sandbox crashed (exit 4): " + (
                r.get("detail") or text)[:600]
        if outcome == "limit" or rc == 3:
            return "limit", "limit tripped: " + str(
                r.get("detail") or r.get("limit"))
        exc = r.get("exception") or {}
        return "exit", (f"exit {rc}: " +
                        (exc.get("type", "") + ": " + exc.get("message", "")
                         if exc else text[-600:]))

    def run_side(self, side_name, modules, outdir):
        """Runs the driver until the modules are done, resuming after each
        test that crashed or tripped a limit."""
        side = Side()
        run = self.run_native if side_name == "native" else self.run_sandbox
        resume = None
        t0 = time.monotonic()
        excluded = []
        if side_name == "sandbox":
            excluded = [g for g in self.skip_globs
                        if any(g.startswith(m + ".") for m in modules)]
        while True:
            argv = [a for g in excluded for a in ("--exclude", g)]
            argv += list(modules)
            if resume:
                argv = ["--resume-after", resume, *argv]
            what, detail = run(argv, outdir, side.runs)
            results, dangling, done, last = parse_lines(
                outdir / f"{side_name}-{side.runs}.txt")
            side.runs += 1
            side.results.update(results)
            if done or not what:
                if not done:
                    side.broken = "driver stopped before the end"
                break
            if side.runs > MAX_RESUMES:
                side.broken = f"gave up after {side.runs} runs"
                break
            if dangling is not None:
                side.deaths.append((dangling, what, detail))
                side.results[dangling] = Outcome(
                    "limit" if what == "limit" else "crash", 0.0, detail)
                resume = dangling
                continue
            # Died between tests: after a test whose error the driver
            # recorded (an exception that escaped unittest), or in an import
            # or a class fixture. Resume after the last finished test, unless
            # that is where this run started (no way forward).
            where = f"(after {last})" if last else "(before any test)"
            side.deaths.append((where, what, detail))
            if last is not None:
                # Blame the test that just ended (a late KeyboardInterrupt,
                # a fixture it broke): its id makes the divergence visible.
                prev = side.results[last]
                side.results[last] = Outcome(
                    {"crash": "crash", "limit": "limit"}.get(what, "error"),
                    prev.secs, f"{what} right after this test ended "
                    f"(it reported {prev.status}): {detail}")
            if last is None or last == resume:
                side.broken = f"{what} outside a test {where}: {detail}"
                break
            resume = last
        side.secs = time.monotonic() - t0
        return side

    def run_module(self, key, modules):
        outdir = (self.out / key).resolve()
        saved = outdir / "sides.json"
        if self.args.reuse:
            data = json.loads(saved.read_text(encoding="utf-8"))
            return tuple(side_from_json(data[k]) if data.get(k) else None
                         for k in ("native", "sandbox"))
        shutil.rmtree(outdir, ignore_errors=True)
        outdir.mkdir(parents=True)
        native = self.run_side("native", modules, outdir)
        sandbox = None
        if not self.args.native_only:
            sandbox = self.run_side("sandbox", modules, outdir)
        saved.write_text(json.dumps(
            {"native": dataclasses.asdict(native),
             "sandbox": sandbox and dataclasses.asdict(sandbox)}),
            encoding="utf-8")
        return native, sandbox


def side_from_json(d):
    side = Side(**d)
    side.results = {k: Outcome(**v) for k, v in side.results.items()}
    side.deaths = [tuple(x) for x in side.deaths]
    return side


# ---------------------------------------------------------------- comparing


@dataclass
class Group:
    reason: str
    cause: str
    globs: dict        # kind -> [glob]


class Expectations:
    def __init__(self, path):
        self.path = path
        self.groups = []
        if path.exists():
            data = tomllib.loads(path.read_text(encoding="utf-8"))
            for g in data.get("expect", []):
                self.groups.append(Group(
                    g.get("reason", ""), g.get("cause", "TODO"),
                    {k: list(g.get(k, [])) for k in KINDS if g.get(k)}))
        # Exact ids are looked up in a dict, globs tried one by one.
        self.exact, self.wild = {}, []
        for g in self.groups:
            for kind, globs in g.globs.items():
                for pat in globs:
                    if any(c in pat for c in "*?["):
                        self.wild.append((kind, pat, g))
                    else:
                        self.exact[(kind, pat)] = g
        self.used = set()   # (kind, glob) that matched a divergence

    def match(self, kind, tid):
        """The group expecting divergence KIND for TID, else None. Records
        the matching entry as used (not stale)."""
        g = self.exact.get((kind, tid))
        if g is not None:
            self.used.add((kind, tid))
            return g
        for k, pat, grp in self.wild:
            if k == kind and fnmatch.fnmatchcase(tid, pat):
                self.used.add((k, pat))
                return grp
        return None

    def other_kinds(self, tid):
        """Kinds of the entries naming TID (it diverges differently)."""
        out = [k for (k, pat) in self.exact if pat == tid]
        out += [k for k, pat, _ in self.wild if fnmatch.fnmatchcase(tid, pat)]
        return out

    def entries(self):
        for g in self.groups:
            for kind, globs in g.globs.items():
                for pat in globs:
                    yield g, kind, pat


def scope_outcome(tid, results):
    """A test absent from RESULTS: the outcome of its class or module
    fixture, or of its module's import, when one was recorded."""
    parts = tid.split(".")
    for i in range(len(parts) - 1, 0, -1):
        prefix = ".".join(parts[:i])
        for suffix in ("setUpClass", "setUpModule", "(import)"):
            o = results.get(prefix + "." + suffix)
            if o is not None and o.status not in OK:
                return o
    return None


def is_pseudo(tid):
    return tid.endswith((".(import)", ".setUpClass", ".setUpModule",
                         ".tearDownClass", ".tearDownModule"))


@dataclass
class Divergence:
    tid: str
    kind: str
    native: Outcome
    sandbox: Outcome
    group: Group = None


def compare(native, sandbox, broken, not_run):
    """Divergences of one module: tests that pass natively and not in the
    sandbox, plus sandbox-only failures (fixtures, imports). NOT_RUN: globs
    of the tests kept out of the sandbox run as expected hangs."""
    out = []
    for tid, n in native.results.items():
        if is_pseudo(tid):
            continue
        s = sandbox.results.get(tid) or scope_outcome(tid, sandbox.results)
        if s is None and any(fnmatch.fnmatchcase(tid, g) for g in not_run):
            s = Outcome("limit", 0.0, "not run: an expected hang "
                        "(--run-hangs runs it)")
        if s is None:
            s = Outcome("crash" if broken else "missing", 0.0,
                        broken or "never ran in the sandbox")
        if n.status in OK and s.status not in OK:
            out.append(Divergence(tid, KIND[s.status], n, s))
        elif n.status in SKIP and s.status not in OK | SKIP:
            out.append(Divergence(tid, KIND[s.status], n, s))
    for tid, s in sandbox.results.items():
        # Failures the native run does not even have: a fixture or an import
        # that failed only in the sandbox (its tests are counted above too).
        if tid not in native.results and s.status not in OK | SKIP:
            out.append(Divergence(tid, KIND[s.status], Outcome("missing"), s))
    return out


def summarize_detail(o):
    """One line saying why a test diverged, for reports and TODO reasons."""
    d = o.detail.strip()
    if o.status == "skip":
        return d.splitlines()[0][:160] if d else "skipped"
    lines = [ln for ln in d.splitlines() if ln.strip()]
    if o.status in ("crash", "limit") and lines:
        frames = re.findall(r"\.wasm!([\w$.]+)", d)[:4]
        head = lines[0].split(": error while")[0]
        return (head + (" in " + " < ".join(frames) if frames else ""))[:160]
    if o.status in ("fail", "error"):
        # the exception line of the traceback
        for ln in reversed(lines):
            if re.match(r"^[\w.]+(Error|Exception|Exit|Warning|Failure|"
                        r"Interrupt)\b|^\w+Error:|^[\w.]+: ", ln):
                return ln.strip()[:160]
    return (lines[-1] if lines else o.status)[:160]


# ---------------------------------------------------------------- --update


def toml_str(s):
    return json.dumps(s, ensure_ascii=False)


HEADER = """\
# The fidelity suite's expectations (tools/fidelity.py, `make fidelity`).
#
# Every test of CPython's own test suite that passes natively but not inside
# the sandbox is listed here, under the reason it diverges. Kinds:
#   skip     the test skips itself in the sandbox (a missing OS feature)
#   fail     it fails or errors
#   crash    the sandbox trapped while it ran (exit 4)
#   limit    it tripped a sandbox limit (timeout, memory, output)
#   missing  it never ran in the sandbox
# Causes:
#   wasi     wasm32-wasip1 has no such thing (processes, threads, signals,
#            sockets, ...) -- CPython's own WASI build behaves the same
#   sandbox  a deliberate limit of the sandbox (no network, no host env, ...)
#   cloche   a gap or bug in cloche to fix: remove the entry with the fix
#   test     the test relies on the test environment, not on Python
# Entries are test ids or globs (fnmatch) over test ids; tools/fidelity.py
# --update drops entries that no longer match and appends new divergences
# under TODO reasons (which fail the suite until written).
"""


def write_expectations(exp, divergences, ran_modules, native_all):
    """Rewrites the expectation file: drops entries of the modules that ran
    that matched nothing, appends uncovered divergences grouped by what the
    sandbox said, compressed to CLASS.* where a whole class diverges
    alike."""
    def in_scope(pat):
        return any(pat.startswith(m + ".") for m in ran_modules)

    groups = []
    for g in exp.groups:
        globs = {}
        for kind, pats in g.globs.items():
            keep = [p for p in pats
                    if (kind, p) in exp.used or not in_scope(p)]
            if keep:
                globs[kind] = keep
        if globs:
            groups.append(Group(g.reason, g.cause, globs))

    new = {}
    for d in divergences:
        if d.group is None:
            why = summarize_detail(d.sandbox)
            why = re.sub(r"0x[0-9a-f]+|\d+", "N", why)
            new.setdefault((d.kind, why), []).append(d.tid)
    # class -> ids natively passing, to know when a whole class diverges
    by_class = {}
    for tid in native_all:
        by_class.setdefault(tid.rsplit(".", 1)[0], set()).add(tid)
    for (kind, why), ids in sorted(new.items()):
        ids_set, pats = set(ids), []
        done_classes = set()
        for tid in sorted(ids):
            cls = tid.rsplit(".", 1)[0]
            if cls in done_classes:
                continue
            members = by_class.get(cls, set())
            if len(members) > 1 and members <= ids_set:
                pats.append(cls + ".*")
                done_classes.add(cls)
            else:
                pats.append(tid)
        groups.append(Group("TODO: " + why, "TODO", {kind: pats}))

    parts = [HEADER]
    for g in groups:
        parts.append("\n[[expect]]\n")
        parts.append(f"reason = {toml_str(g.reason)}\n")
        parts.append(f"cause = {toml_str(g.cause)}\n")
        for kind in KINDS:
            pats = g.globs.get(kind)
            if pats:
                parts.append(f"{kind} = [\n")
                parts.extend(f"  {toml_str(p)},\n" for p in sorted(pats))
                parts.append("]\n")
    exp.path.parent.mkdir(parents=True, exist_ok=True)
    exp.path.write_text("".join(parts), encoding="utf-8")


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
