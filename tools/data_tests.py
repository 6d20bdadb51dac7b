#!/usr/bin/env python3
"""numpy's and pandas' own test suites (a chosen subset of their test
files) run with pytest inside the data guest's sandbox, compared test by
test with a checked-in list of expected failures.

    tools/data_tests.py [--build DIR] [--quick] [--suites a,b] [--jobs N]
                        [--timeout S] [--test-timeout S] [--memory SIZE]
                        [--update] [--strict] [-v]

The test files come from the numpy and pandas sdists pinned in
tools/sources.lock (the guest image leaves their tests out): each sdist's
pytest configuration, its top conftest.py and its test folders are
extracted under BUILD/data-tests/src/. pytest, pluggy, iniconfig,
hypothesis and sortedcontainers are the pure wheels pinned in
tools/data_tests_requirements.txt, unpacked into one folder given to the
sandbox with --package. Each test file runs in its own
`cloche run --timeout 900 --memory 1500M` with the extracted tree mounted
read-only and a result folder read-write; tools/data_tests_driver.py runs
pytest there and writes one line per test as it goes.

A C++ throw or a longjmp traps the sandbox (no wasm exception handling):
the test that was running is recorded as `trap` and the file runs again
with that test deselected. A test after which nothing is written for
--test-timeout seconds is killed and recorded as `timeout` the same way.

Every test that ends as fail, error, trap or timeout must be listed
in tests/data/expected.toml with its status, a category and a reason; any
other fails the run. Skips are the tests' own decisions (their reasons are
counted by category of message, not required in the list). Entries that
match nothing in a file that ran are stale (printed; --strict fails on
them). --update appends the unexpected ones under category TODO, which
fails until a human writes the real category and reason.

Plain Python 3.11+, standard library only. Exit 0 when everything is as
expected, 1 otherwise.
"""

import argparse
import concurrent.futures
import fnmatch
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import time
import tomllib
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DRIVER = ROOT / "tools" / "data_tests_driver.py"
REQS = ROOT / "tools" / "data_tests_requirements.txt"
EXPECTED = ROOT / "tests" / "data" / "expected.toml"

NP_CORE = "numpy/_core/tests/"
NP_LIB = "numpy/lib/tests/"
PD = "pandas/tests/"
# (suite key, sdist name, test files; in the --quick subset run by
# tools/test.sh). Chosen for coverage of what sandboxed users run (array
# creation, ufuncs, indexing, linalg, random, frames, groupby, reshape,
# CSV parsing) within a few minutes on 2 cores. numpy's test_multiarray,
# test_umath, test_numeric and test_ufunc import the test-only extension
# module _multiarray_tests, which the guest does not build.
SUITES = [
    ("np.core", "numpy", [NP_CORE + f for f in (
        "test_shape_base.py", "test_function_base.py", "test_einsum.py",
        "test_datetime.py", "test_records.py", "test_getlimits.py",
        "test_item_selection.py", "test_arrayprint.py", "test_half.py",
        "test_longdouble.py", "test_print.py", "test_casting_unittests.py",
        "test_scalar_methods.py", "test_defchararray.py", "test_errstate.py",
        "test_strings.py", "test_stringdtype.py", "test_nep50_promotions.py",
        "test_overrides.py", "test_umath_complex.py")], False),
    ("np.core.quick", "numpy", [NP_CORE + f for f in (
        "test_scalar_ctors.py", "test_indexerrors.py", "test_unicode.py",
        "test_abc.py", "test_protocols.py")], True),
    ("np.lib", "numpy", [NP_LIB + f for f in (
        "test_function_base.py", "test_shape_base.py", "test_index_tricks.py",
        "test_arraysetops.py", "test_nanfunctions.py", "test_histograms.py",
        "test_polynomial.py", "test_twodim_base.py", "test_arraypad.py",
        "test_recfunctions.py", "test_stride_tricks.py", "test_loadtxt.py",
        "test_io.py", "test_format.py", "test_packbits.py")], False),
    ("np.lib.quick", "numpy", [NP_LIB + f for f in (
        "test_type_check.py", "test_ufunclike.py", "test_mixins.py")], True),
    ("np.linalg", "numpy", ["numpy/linalg/tests/test_linalg.py",
                            "numpy/linalg/tests/test_regression.py"], True),
    ("np.random", "numpy", ["numpy/random/tests/" + f for f in (
        "test_generator_mt19937.py", "test_random.py", "test_randomstate.py",
        "test_direct.py", "test_seed_sequence.py", "test_smoke.py")], False),
    ("pd.frame", "pandas", [PD + "frame/" + f for f in (
        "test_constructors.py", "test_reductions.py", "test_arithmetic.py",
        "test_stack_unstack.py", "test_repr.py", "test_api.py")], False),
    ("pd.frame.methods", "pandas", [PD + "frame/methods/" + f for f in (
        "test_sort_values.py", "test_fillna.py", "test_describe.py",
        "test_rename.py", "test_drop.py", "test_astype.py")], True),
    ("pd.groupby", "pandas", [PD + "groupby/" + f for f in (
        "test_groupby.py", "test_apply.py", "test_reductions.py",
        "test_categorical.py", "test_grouping.py")], False),
    ("pd.reshape", "pandas", [PD + "reshape/" + f for f in (
        "test_pivot.py", "test_melt.py", "test_cut.py", "test_qcut.py",
        "test_crosstab.py", "test_get_dummies.py", "merge/test_merge.py",
        "concat/test_concat.py")], True),
    ("pd.io.parser", "pandas", [PD + "io/parser/" + f for f in (
        "test_header.py", "test_na_values.py", "test_parse_dates.py",
        "test_skiprows.py", "test_quoting.py", "test_index_col.py",
        "test_c_parser_only.py", "test_python_parser_only.py",
        "test_read_fwf.py", "test_encoding.py")], False),
]

# xpass: a non-strict xfail that passed (a strict one is reported failed)
BAD = ("fail", "error", "trap", "timeout")
STATUSES = ("pass", "skip", "xfail", "xpass") + BAD
CATEGORIES = ("wasm32", "no-threads", "no-subprocess", "no-fp-exceptions",
              "sandbox", "not-built", "cloche", "test", "TODO")
MAX_RERUNS = 25


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def unescape(text):
    return re.sub(r"\\(.)", lambda m: {"n": "\n", "t": "\t", "r": "\r"}.get(
        m.group(1), m.group(1)), text)


# ---------------------------------------------------------------- inputs


def sdist_path(name):
    out = subprocess.run(
        ["bash", "-c", f'. "{ROOT}/tools/common.sh"; source_file {name}'],
        check=True, capture_output=True, text=True).stdout
    return Path(out.strip().splitlines()[-1])


def wanted(pkg, rel):
    """Does the sdist member REL (path below the sdist's top folder) belong
    in the extracted test tree?"""
    if pkg == "numpy":
        return (rel in ("pytest.ini", "numpy/conftest.py")
                or (rel.startswith("numpy/") and "/tests/" in rel))
    return (rel in ("pyproject.toml", "pandas/conftest.py")
            or rel.startswith("pandas/tests/"))


def patch_numpy_conftest(path):
    """numpy's conftest imports get_fpu_mode from the test-only module
    _multiarray_tests (not built into the guest); its check_fpu_mode
    fixture then compares two equal stand-in values."""
    text = path.read_text(encoding="utf-8")
    old = "from numpy._core._multiarray_tests import get_fpu_mode\n"
    if old not in text:
        raise SystemExit(f"{path}: the line to replace is gone: {old}")
    path.write_text(text.replace(old, "def get_fpu_mode():  # cloche\n"
                                 "    return 0\n"), encoding="utf-8")


def extract_sources(work):
    """BUILD/data-tests/src/{numpy,pandas}: each sdist's test files, kept
    between runs while the sdist's hash is the same."""
    roots = {}
    for pkg in ("numpy", "pandas"):
        tarball = sdist_path(pkg)
        digest = hashlib.sha256(tarball.read_bytes()).hexdigest()[:16]
        dest = work / "src" / pkg
        stamp = dest / ".complete"
        if not (stamp.exists() and stamp.read_text() == digest):
            shutil.rmtree(dest, ignore_errors=True)
            dest.mkdir(parents=True)
            with tarfile.open(tarball) as tf:
                members = []
                for m in tf.getmembers():
                    top, _, rel = m.name.partition("/")
                    if (m.isfile() or m.isdir()) and wanted(pkg, rel):
                        m.name = rel
                        members.append(m)
                tf.extractall(dest, members=members, filter="data")
            if pkg == "numpy":
                patch_numpy_conftest(dest / "numpy" / "conftest.py")
            stamp.write_text(digest)
        roots[pkg] = dest
    return roots


def wheel_site():
    """One folder with the pinned wheels unpacked, cached by the hash of
    the requirements file."""
    cache = Path(os.environ.get("CLOCHE_CACHE") or Path(
        os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") /
        "cloche")
    key = hashlib.sha256(REQS.read_bytes()).hexdigest()[:16]
    site = cache / f"data-tests-site-{key}"
    if (site / ".complete").exists():
        return site
    dl = cache / f"data-tests-wheels-{key}"
    subprocess.run([sys.executable, "-m", "pip", "download", "--quiet",
                    "--require-hashes", "--no-deps", "--only-binary", ":all:",
                    "--python-version", "3.13", "-d", str(dl),
                    "-r", str(REQS)], check=True)
    shutil.rmtree(site, ignore_errors=True)
    site.mkdir(parents=True)
    for whl in sorted(dl.glob("*.whl")):
        with zipfile.ZipFile(whl) as z:
            z.extractall(site)
    (site / ".complete").write_text(key)
    return site


# ---------------------------------------------------------------- running


def parse_lines(path):
    """(results {id: (status, secs, detail)}, dangling start id, done?)"""
    results, dangling, done = {}, None, False
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return results, None, False
    for line in text.splitlines():
        f = line.split("\t")
        if f[0] == "start" and len(f) >= 2:
            dangling = f[1]
        elif f[0] == "done":
            done = True
        elif len(f) >= 3 and f[0] in STATUSES:
            results[f[1]] = (f[0], float(f[2] or 0),
                             unescape(f[3]) if len(f) > 3 else "")
            if f[1] == dangling:
                dangling = None
    return results, dangling, done


class Runner:
    def __init__(self, args, roots, site):
        self.args = args
        self.roots = roots
        self.site = site
        self.cloche = Path(args.build).resolve() / "cloche"
        self.out = Path(args.build).resolve() / "data-tests" / "runs"

    def watch(self, cmd, results, logpath):
        """Runs CMD; kills it when RESULTS has not grown for --test-timeout
        seconds. Returns (exit code, killed?)."""
        with open(logpath, "wb") as logf:
            p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=logf,
                                 stderr=logf)
            size, last = -1, time.monotonic()
            while True:
                try:
                    return p.wait(timeout=0.5), False
                except subprocess.TimeoutExpired:
                    pass
                grown = results.stat().st_size if results.exists() else 0
                if grown != size:
                    size, last = grown, time.monotonic()
                if time.monotonic() - last > self.args.test_timeout:
                    p.kill()
                    p.wait()
                    return p.returncode, True

    def run_file(self, pkg, rel):
        """Runs one test file, again after each trap or hang. Returns
        ({id: (status, secs, detail)}, seconds, runs)."""
        tag = rel.replace("/", "_").removesuffix(".py")
        outdir = self.out / pkg / tag
        shutil.rmtree(outdir, ignore_errors=True)
        outdir.mkdir(parents=True)
        results, dropped = {}, []
        t0 = time.monotonic()
        for n in range(MAX_RERUNS):
            res = outdir / f"run-{n}.txt"
            cmd = [str(self.cloche), "run", "--json",
                   "--timeout", str(self.args.timeout),
                   "--memory", self.args.memory,
                   "--max-output", "16M", "--vfs-quota", "512M",
                   "--mount", f"{self.roots[pkg]}:/dt/src",
                   "--mount", f"{outdir}:/dt/out:rw",
                   "--package", str(self.site),
                   str(DRIVER), "--out", f"/dt/out/{res.name}",
                   "--root", "/dt/src", f"/dt/src/{rel}"]
            for tid in dropped:
                cmd += ["--deselect", tid]
            rc, killed = self.watch(cmd, res, outdir / f"run-{n}.json")
            got, dangling, done = parse_lines(res)
            results.update(got)
            if done:
                break
            what = "timeout" if killed else "trap"
            detail = self.death_detail(outdir / f"run-{n}.json", rc, killed)
            if dangling is None:
                results[f"{rel}::<run>"] = ("error", 0.0, detail)
                break
            results[dangling] = (what, 0.0, detail)
            dropped.append(dangling)
        return results, time.monotonic() - t0, n + 1

    @staticmethod
    def death_detail(logpath, rc, killed):
        if killed:
            return "no result written for --test-timeout seconds (killed)"
        raw = logpath.read_bytes()
        try:
            r = json.loads(raw)
        except ValueError:
            return f"exit {rc}: " + raw.decode(errors="replace")[-400:]
        exc = r.get("exception") or {}
        return (f"exit {rc}, outcome {r.get('outcome')}: " +
                str(r.get("detail") or r.get("limit") or
                    exc.get("message") or "")[:400])


# ---------------------------------------------------------------- comparing


class Expectations:
    """tests/data/expected.toml: [[expect]] groups, each with category,
    reason and one list of test ids (fnmatch globs allowed) per status."""

    def __init__(self, path):
        self.path = path
        data = tomllib.loads(path.read_text(encoding="utf-8")) \
            if path.exists() else {}
        self.groups = data.get("expect", [])
        self.entries = []          # (status, glob, group)
        for g in self.groups:
            if g.get("category") not in CATEGORIES:
                raise SystemExit(f"{path}: unknown category in {g}")
            for status in BAD:
                for pat in g.get(status, []):
                    self.entries.append((status, pat, g))
        self.exact = {(s, p): g for s, p, g in self.entries
                      if not any(c in p for c in "*?[")}
        self.used = set()

    def match(self, status, tid):
        g = self.exact.get((status, tid))
        if g is not None:
            self.used.add((status, tid))
            return g
        for s, pat, grp in self.entries:
            if s == status and fnmatch.fnmatchcase(tid, pat):
                self.used.add((s, pat))
                return grp
        return None


def skip_category(detail):
    d = detail.lower()
    for words, cat in ((("thread",), "no-threads"),
                       (("subprocess", "fork", "spawn"), "no-subprocess"),
                       (("wasm", "32-bit", "32 bit", "longdouble",
                         "long double", "float128"), "wasm32"),
                       (("floating point", "fpe", "fp exception"),
                        "no-fp-exceptions"),
                       (("could not import", "no module", "requires"),
                        "not-built")):
        if any(w in d for w in words):
            return cat
    return "other"


def toml_str(s):
    return json.dumps(s, ensure_ascii=False)


def append_todo(path, unexpected):
    by_status = {}
    for _, tid, status, _ in unexpected:
        by_status.setdefault(status, []).append(tid)
    lines = ["", "[[expect]]", 'category = "TODO"',
             'reason = "TODO: new unexpected results (tools/data_tests.py '
             '--update)"']
    for status in BAD:
        if status in by_status:
            lines.append(f"{status} = [")
            lines += [f"  {toml_str(t)}," for t in sorted(by_status[status])]
            lines.append("]")
    with open(path, "a", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")


def report(args, suites, outcomes, exp, wall):
    unexpected, rows, skips, by_cat = [], [], {}, {}
    for key, pkg, files, _ in suites:
        counts = dict.fromkeys(STATUSES, 0)
        n_exp = n_unexp = 0
        secs = 0.0
        for rel in files:
            results, fsecs, _ = outcomes[rel]
            secs += fsecs
            for tid, (status, _, detail) in results.items():
                counts[status] += 1
                if status == "skip":
                    cat = skip_category(detail)
                    skips[cat] = skips.get(cat, 0) + 1
                if status in BAD:
                    g = exp.match(status, tid)
                    if g is None:
                        unexpected.append((key, tid, status, detail))
                        n_unexp += 1
                    else:
                        n_exp += 1
                        by_cat[g["category"]] = by_cat.get(g["category"],
                                                           0) + 1
        rows.append((key, sum(counts.values()), counts["pass"],
                     counts["skip"], counts["xfail"],
                     counts["fail"] + counts["error"],
                     counts["trap"], counts["timeout"], n_exp, n_unexp,
                     secs))
    fmt = "{:17} {:>6} {:>6} {:>5} {:>5} {:>5} {:>4} {:>7} {:>8} {:>5} {:>6}"
    print()
    print(fmt.format("suite", "tests", "pass", "skip", "xfail", "fail",
                     "trap", "timeout", "expected", "UNEXP", "secs"))
    tot = [0] * 10
    for r in rows:
        print(fmt.format(r[0], *r[1:10], f"{r[10]:.0f}"))
        tot = [a + b for a, b in zip(tot, r[1:])]
    print(fmt.format("TOTAL", *tot[:9], f"{tot[9]:.0f}"))
    print("\nskips by kind of reason: " + ", ".join(
        f"{n} {c}" for c, n in sorted(skips.items(), key=lambda x: -x[1])))

    ran = [rel for _, _, files, _ in suites for rel in files]
    stale = [(s, pat, g) for s, pat, g in exp.entries
             if (s, pat) not in exp.used
             and any(pat.startswith(rel + "::") for rel in ran)]
    if args.verbose:
        for key, pkg, files, _ in suites:
            for rel in files:
                for tid, (status, _, d) in sorted(outcomes[rel][0].items()):
                    if status in BAD:
                        g = exp.match(status, tid)
                        print(f"  {status:7} {tid}  [{g and g['category']}]")
    if unexpected:
        print("\nUNEXPECTED (not in tests/data/expected.toml):")
        for key, tid, status, detail in unexpected:
            first = next((ln for ln in reversed(detail.splitlines())
                          if ln.strip()), "")
            print(f"  {status:7} {tid}\n          {first[:150]}")
    if stale:
        print("\nstale expectations (no longer happen; remove them):")
        for s, pat, g in stale:
            print(f"  {s:7} {pat}")
    todo = [g for g in exp.groups if g["category"] == "TODO"]
    if todo:
        print(f"\n{len(todo)} expectation groups still have category TODO")
    if args.update and unexpected:
        append_todo(exp.path, unexpected)
        print(f"\nappended {len(unexpected)} ids to {exp.path} as TODO")
    cats = ", ".join(f"{by_cat[c]} {c}" for c in CATEGORIES if c in by_cat)
    line = (f" {tot[0]} tests in {len(rows)} suites: {tot[1]} passed, "
            f"{tot[2]} skipped, {tot[3]} xfailed, {tot[7]} expected "
            f"failures ({cats}), {len(unexpected)} unexpected in {wall:.0f}s ")
    print("\n" + line.center(max(len(line) + 8, 78), "="))
    return 1 if unexpected or todo or (args.strict and stale) else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default=str(ROOT / "build"))
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--suites", help="comma-separated suite keys")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--timeout", type=int, default=900)
    ap.add_argument("--test-timeout", type=int, default=120)
    ap.add_argument("--memory", default="1500M")
    ap.add_argument("--update", action="store_true")
    ap.add_argument("--strict", action="store_true")
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args()

    suites = SUITES
    if args.suites:
        keys = args.suites.split(",")
        suites = [s for s in SUITES if s[0] in keys]
    elif args.quick:
        suites = [s for s in SUITES if s[3]]
    exp = Expectations(EXPECTED)
    work = Path(args.build).resolve() / "data-tests"
    roots = extract_sources(work)
    runner = Runner(args, roots, wheel_site())
    jobs = [(pkg, rel) for _, pkg, files, _ in suites for rel in files]
    t0 = time.monotonic()
    outcomes = {}
    with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
        futs = {pool.submit(runner.run_file, pkg, rel): rel
                for pkg, rel in jobs}
        for fut in concurrent.futures.as_completed(futs):
            rel = futs[fut]
            outcomes[rel] = fut.result()
            res, secs, runs = outcomes[rel]
            bad = sum(1 for s, _, _ in res.values() if s in BAD)
            log(f"{rel}: {len(res)} tests, {bad} not passing, {secs:.0f}s"
                + (f", {runs} runs" if runs > 1 else ""))
    return report(args, suites, outcomes, exp, time.monotonic() - t0)


if __name__ == "__main__":
    sys.exit(main())
