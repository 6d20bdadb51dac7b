"""Running the fidelity suite's test modules, natively and in the sandbox, and
reading what they reported: tools/fidelity.py's Runner starts
tools/fidelity_driver.py (under the cache's python3.13, or as the script of
`cloche run` with the test sources mounted), watches its result file for
hangs, resumes a module after a test that crashed the sandbox or tripped a
limit, and parses the driver's result lines into a Side per run side.

Plain Python 3 (3.11+), standard library only; imported by tools/fidelity.py.
"""

import dataclasses
import json
import os
import re
import resource
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

# The driver sits beside this file, in tools/.
DRIVER = Path(__file__).resolve().parent / "fidelity_driver.py"
MAX_RESUMES = 40


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
