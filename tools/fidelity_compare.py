"""Comparing the fidelity suite's two sides with the expectation file,
tests/fidelity/expected.toml: which tests diverge (pass natively, not in the
sandbox), which expected entry (reason, cause, kind, id or glob) covers each,
one-line summaries of why a test diverged, and the rewrite that --update
does (stale entries out, new divergences in under TODO reasons).

Plain Python 3 (3.11+), standard library only; imported by tools/fidelity.py.
"""

import fnmatch
import json
import re
import tomllib
from dataclasses import dataclass

from fidelity_run import Outcome

OK, SKIP = {"pass", "xfail"}, {"skip"}
# Divergence kind for each sandbox status (of a test that passed natively).
KIND = {"skip": "skip", "fail": "fail", "error": "fail", "xpass": "fail",
        "crash": "crash", "limit": "limit", "missing": "missing"}
KINDS = ("skip", "fail", "crash", "limit", "missing")
CAUSES = ("wasi", "sandbox", "cloche", "test", "TODO")


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
