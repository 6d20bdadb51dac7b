"""Runs CPython regression-test modules with unittest and writes one line per
test outcome to a file, so tools/fidelity.py can compare a native run with a
sandboxed one. The same file runs in both places: natively under the cache's
python3.13, and inside the sandbox as the script of `cloche run`.

    fidelity_driver.py --out FILE --lib DIR [--resume-after ID]
                       [--exclude GLOB]... [--use RES]... MODULE...

FILE gets tab-separated lines, flushed one by one so a run that dies (a trap,
a limit) leaves every finished test behind:

    start  ID                     a test began
    STATUS ID SECONDS DETAIL      it ended: pass fail error skip xfail xpass
    done   SECONDS                every module ran to the end

ID is the unittest id. Errors outside a test get a pseudo id: a failed or
skipped import is `MODULE.(import)`, a setUpClass/setUpModule failure or skip
is `CLASS.setUpClass` / `MODULE.setUpModule` (likewise for tearDown*).
DETAIL is the skip reason or the traceback, with `\\`, tab and newline
escaped. Everything else a test prints goes to the usual stdout/stderr.
"""

import argparse
import fnmatch
import importlib
import importlib.util
import os
import sys
import tempfile
import time
import traceback
import unittest

# A test's final status when several parts reported (subtests, cleanups):
# the worst wins.
RANK = {"skip": 0, "xfail": 1, "pass": 1, "xpass": 2, "fail": 3, "error": 4}


def escape(text):
    return (text.replace("\\", "\\\\").replace("\t", "\\t")
            .replace("\r", "\\r").replace("\n", "\\n"))


def pseudo_id(test):
    """The id to record for TEST: its own, or one that names the scope of a
    module-import or class/module fixture failure."""
    if isinstance(test, unittest.suite._ErrorHolder):
        # "setUpClass (pkg.mod.Class)" or "setUpModule (pkg.mod)"
        desc = test.description
        method, _, scope = desc.partition(" (")
        if scope.endswith(")"):
            return scope[:-1] + "." + method
        return desc
    cls = type(test)
    if cls.__module__ == "unittest.loader" and cls.__name__ in (
            "_FailedTest", "ModuleSkipped"):
        return test._testMethodName + ".(import)"
    if isinstance(test, unittest.case._SubTest):
        return pseudo_id(test.test_case)
    return test.id()


class Recorder(unittest.TestResult):
    """Writes one line per finished test; subtests fold into their test."""

    def __init__(self, out):
        super().__init__()
        self.out = out
        self.current = None  # [id, status, detail, start time]

    def write(self, *fields):
        self.out.write("\t".join(fields) + "\n")
        self.out.flush()

    def startTest(self, test):
        super().startTest(test)
        tid = pseudo_id(test)
        self.current = [tid, None, "", time.perf_counter()]
        self.write("start", tid)

    def stopTest(self, test):
        if test is not None:
            super().stopTest(test)
        cur, self.current = self.current, None
        if cur is None:
            return
        tid, status, detail, t0 = cur
        self.write(status or "pass", tid, "%.3f" % (time.perf_counter() - t0),
                   escape(detail))

    def abort(self, detail):
        """Something escaped unittest (KeyboardInterrupt, SystemExit): the
        running test gets it as its error before the driver dies."""
        if self.current is not None:
            self.current[1], self.current[2] = "error", detail
            self.stopTest(None)

    def note(self, test, status, detail):
        tid = pseudo_id(test)
        cur = self.current
        if cur is None or cur[0] != tid:
            # Outside startTest/stopTest: a fixture or import failure.
            self.write(status, tid, "0", escape(detail))
            return
        if cur[1] is None or RANK[status] > RANK[cur[1]]:
            cur[1], cur[2] = status, detail

    def trace(self, err, test):
        return "".join(traceback.format_exception(*err))[-4000:]

    def addSuccess(self, test):
        super().addSuccess(test)
        self.note(test, "pass", "")

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self.note(test, "fail", self.trace(err, test))

    def addError(self, test, err):
        super().addError(test, err)
        self.note(test, "error", self.trace(err, test))

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        if isinstance(test, unittest.case._SubTest):
            return  # a skipped subtest does not skip its test
        self.note(test, "skip", str(reason))

    def addExpectedFailure(self, test, err):
        super().addExpectedFailure(test, err)
        self.note(test, "xfail", "")

    def addUnexpectedSuccess(self, test):
        super().addUnexpectedSuccess(test)
        self.note(test, "xpass", "")

    def addSubTest(self, test, subtest, err):
        super().addSubTest(test, subtest, err)
        if err is None:
            return
        failed = issubclass(err[0], test.failureException)
        status = "fail" if failed else "error"
        self.note(test, status, str(subtest) + "\n" + self.trace(err, test))


def filter_suite(suite, keep):
    """Drops the tests for which keep(test) is false, in run order, keeping
    the nesting (class and module fixtures still run once around their
    tests)."""
    kept = []
    for t in suite:
        if isinstance(t, unittest.TestSuite):
            filter_suite(t, keep)
            kept.append(t)
        elif keep(t):
            kept.append(t)
    suite._tests = kept


def prepare_package(name):
    """test.test_asyncio's __init__ skips the whole package on WASI (it wants
    a working socket, for the stock event loop's socketpair()). Its
    submodules are run anyway: the package is
    registered without running __init__, natively as well as in the
    sandbox, so both import the same code."""
    parts = name.split(".")
    if parts[:2] != ["test", "test_asyncio"] or len(parts) < 3:
        return
    if "test.test_asyncio" in sys.modules:
        return
    spec = importlib.util.find_spec("test.test_asyncio")
    module = importlib.util.module_from_spec(spec)
    sys.modules["test.test_asyncio"] = module
    import test
    test.test_asyncio = module


# Modules that skip themselves without sockets only because asyncio's stock
# event loop needs socketpair(); the sandbox's loop does not, so they run.
ASYNCIO_ONLY = {"test.test_contextlib_async"}


def import_test_module(name):
    from test import support
    saved = support.has_socket_support
    if name in ASYNCIO_ONLY:
        support.has_socket_support = True
    try:
        return importlib.import_module(name)
    finally:
        support.has_socket_support = saved


def load(name, recorder):
    prepare_package(name)
    try:
        module = import_test_module(name)
    except unittest.SkipTest as e:
        recorder.write("skip", name + ".(import)", "0", escape(str(e)))
        return None
    except BaseException:
        recorder.write("error", name + ".(import)", "0",
                       escape(traceback.format_exc()[-4000:]))
        return None
    return unittest.defaultTestLoader.loadTestsFromModule(module)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--lib", required=True,
                    help="folder holding the `test` package (appended to "
                         "sys.path, after the standard library)")
    ap.add_argument("--resume-after", metavar="ID",
                    help="skip every test up to and including ID")
    ap.add_argument("--exclude", action="append", default=[], metavar="GLOB")
    ap.add_argument("--use", action="append", default=[], metavar="RES",
                    help="test.support resource to enable")
    ap.add_argument("modules", nargs="+")
    args = ap.parse_args()

    out = open(args.out, "w", encoding="utf-8", errors="backslashreplace")
    sys.path.append(args.lib)

    # What regrtest sets up before running a test module.
    from test import support
    support.use_resources = list(args.use)
    support.verbose = 0
    support.failfast = False
    support.record_original_stdout(sys.stdout)
    try:
        # Python installs this handler at start-up unless SIGINT is ignored,
        # as it is in a background job; tests that interrupt themselves
        # (_thread.interrupt_main) need it.
        import signal
        signal.signal(signal.SIGINT, signal.default_int_handler)
    except (ImportError, AttributeError, OSError, ValueError):
        pass
    work = tempfile.mkdtemp(prefix="fidelity-")
    os.chdir(work)

    recorder = Recorder(out)
    resume = [args.resume_after]

    def keep(test):
        tid = pseudo_id(test)
        if resume[0] is not None:
            if tid == resume[0]:
                resume[0] = None
            return False
        return not any(fnmatch.fnmatchcase(tid, g) for g in args.exclude)

    t0 = time.perf_counter()
    for name in args.modules:
        suite = load(name, recorder)
        if suite is None:
            continue
        filter_suite(suite, keep)
        try:
            suite.run(recorder)
        except BaseException:
            recorder.abort("escaped the test runner:\n" +
                           traceback.format_exc()[-4000:])
            raise
    recorder.write("done", "%.3f" % (time.perf_counter() - t0))
    out.close()


if __name__ == "__main__":
    main()
