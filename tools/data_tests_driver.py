"""Runs numpy's or pandas' own pytest files inside a cloche sandbox and
writes one line per test to a result file, flushed as it goes, so that the
host (tools/data_tests.py) knows which test was running when a run traps.

    data_tests_driver.py --out FILE --root DIR [pytest args...]

DIR is the extracted sdist subset (its pytest.ini or pyproject.toml, the
package's conftest.py and test folders, no package sources). The packages
themselves are the ones compiled into the guest; each test folder's parent
package gets DIR's matching folder appended to its __path__, so
`from pandas.tests.frame.common import ...` finds the extracted files.

Result lines (tab-separated, detail escaped):
    start   <nodeid>
    <status> <nodeid> <seconds> <detail>    status: pass fail error skip
                                            xfail xpass
    done
Plain Python: runs inside the guest.
"""

import argparse
import importlib
import os
import sys
import time


def escape(text):
    return (text.replace("\\", "\\\\").replace("\t", "\\t")
            .replace("\n", "\\n").replace("\r", "\\r"))


def extend_package_paths(root):
    """For every folder under ROOT that mirrors an importable package of
    the guest, append it to that package's __path__."""
    for top in ("numpy", "pandas"):
        base = os.path.join(root, top)
        if not os.path.isdir(base):
            continue
        for dirpath, dirnames, _ in os.walk(base):
            dirnames[:] = [d for d in dirnames if d not in ("tests", "data")]
            rel = os.path.relpath(dirpath, root)
            name = rel.replace(os.sep, ".")
            try:
                mod = importlib.import_module(name)
            except ImportError:
                continue
            path = getattr(mod, "__path__", None)
            if path is not None and dirpath not in path:
                path.append(dirpath)


class Recorder:
    """pytest plugin: one line per test, written before and after it."""

    def __init__(self, out):
        self.out = open(out, "a", encoding="utf-8")
        self.t0 = {}
        self.status = {}
        self.detail = {}

    def write(self, *fields):
        self.out.write("\t".join(fields) + "\n")
        self.out.flush()

    def pytest_runtest_logstart(self, nodeid, location):
        self.t0[nodeid] = time.monotonic()
        self.write("start", nodeid)

    def pytest_collectreport(self, report):
        if report.failed:
            self.write("error", report.nodeid + "::<collect>", "0",
                       escape(str(report.longrepr)[-2000:]))

    def pytest_runtest_logreport(self, report):
        nid = report.nodeid
        if report.when == "call" or report.failed or report.skipped:
            if hasattr(report, "wasxfail"):
                status = "xfail" if report.skipped else "xpass"
            elif report.skipped:
                status = "skip"
            elif report.failed:
                status = "fail" if report.when == "call" else "error"
            else:
                status = "pass"
            # setup errors and teardown errors win over a call's result
            if self.status.get(nid) in (None, "pass") or status == "error":
                self.status[nid] = status
                if report.skipped and isinstance(report.longrepr, tuple):
                    self.detail[nid] = str(report.longrepr[2])
                elif report.failed or status == "xpass":
                    self.detail[nid] = str(report.longrepr)[-2000:]

    def pytest_runtest_logfinish(self, nodeid, location):
        secs = time.monotonic() - self.t0.pop(nodeid, time.monotonic())
        self.write(self.status.pop(nodeid, "error"), nodeid, f"{secs:.3f}",
                   escape(self.detail.pop(nodeid, "")))

    def pytest_sessionfinish(self, session, exitstatus):
        self.write("done")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--root", required=True)
    args, rest = ap.parse_known_args()
    os.chdir("/tmp")          # hypothesis and tmp_path write here
    os.environ.setdefault("HYPOTHESIS_STORAGE_DIRECTORY", "/tmp/.hypothesis")
    extend_package_paths(args.root)
    import pytest
    rc = pytest.main(["--rootdir", args.root, "-p", "no:cacheprovider",
                      "-p", "no:faulthandler", "--basetemp=/tmp/pytest",
                      "-q", "--no-header", "--capture=sys", "-o", "addopts=",
                      "-o", "log_file=/tmp/pytest-log.txt",
                      *rest],
                     plugins=[Recorder(args.out)])
    return int(rc)


if __name__ == "__main__":
    sys.exit(main())
