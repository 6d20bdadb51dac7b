"""Ordinary data-analysis scripts (tests/python/data_scripts/*.py) run
natively and in the data guest; their stdout must match byte for byte.

The native side is the venv tools/native_data.sh builds (the native
CPython 3.13.5 from the guest's source with numpy 2.4.6, pandas 3.0.6 and
matplotlib 3.10.9 from PyPI's wheels, pinned by hash). This test never
builds it: it takes CLOCHE_NATIVE_DATA_PYTHON, or a finished venv in the
cache whose versions match tools/native-data-requirements.txt, and skips
without one (tools/test.sh builds it for a data-stack build). It also
skips when the guest has no numpy.

Each script gets the data folder as argv[1]: the host path natively, a
read-only mount in the sandbox. The known differences from native (a
32-bit guest; FreeType) are tested at the end, as docs/data-stack.md
("Compared with native") describes them.
"""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1].parent
CLOCHE = os.environ.get("CLOCHE_BIN", str(ROOT / "build" / "cloche"))
SCRIPTS = Path(__file__).resolve().parent / "data_scripts"
DATA = SCRIPTS / "data"
GUEST_DATA = "/mnt/data"
REQ = ROOT / "tools" / "native-data-requirements.txt"
CACHE = Path(os.environ.get("CLOCHE_CACHE") or Path(
    os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "cloche")

# Natively, zoneinfo would prefer the host's /usr/share/zoneinfo; an empty
# PYTHONTZPATH makes it use the pinned tzdata wheel, as the guest does.
NATIVE_ENV = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"),
              "LC_ALL": "C.UTF-8", "TZ": "UTC", "PYTHONTZPATH": "",
              "PYTHONHASHSEED": "0", "OPENBLAS_NUM_THREADS": "1"}
VERSIONS = "import sys, numpy, pandas, matplotlib; print(sys.version.split()[0], " \
           "numpy.__version__, pandas.__version__, matplotlib.__version__)"


def pinned_versions():
    pins = dict(re.findall(r"^(\w+)==(\S+)", REQ.read_text(), re.M))
    return " ".join(["3.13.5", pins["numpy"], pins["pandas"], pins["matplotlib"]])


def native_python():
    """The native reference python, or None (never built here)."""
    given = os.environ.get("CLOCHE_NATIVE_DATA_PYTHON")
    if given:
        return given
    want = pinned_versions()
    found = sorted(CACHE.glob("native-data-*/.complete"),
                   key=lambda p: p.stat().st_mtime, reverse=True)
    for stamp in found:
        py = stamp.parent / "venv" / "bin" / "python3.13"
        p = subprocess.run([str(py), "-c", VERSIONS], capture_output=True,
                           text=True, env=NATIVE_ENV)
        if p.returncode == 0 and p.stdout.strip() == want:
            return str(py)
    return None


def guest_has_numpy():
    if not Path(CLOCHE).exists():
        return False
    p = subprocess.run([CLOCHE, "run", "-c", "import numpy"],
                       capture_output=True, timeout=300)
    return p.returncode == 0


NATIVE = native_python()
pytestmark = [
    pytest.mark.skipif(not guest_has_numpy(),
                       reason="guest built without the data stack"),
    pytest.mark.skipif(NATIVE is None, reason="no native data venv "
                       "(bash tools/native_data.sh builds it)"),
]


def run_native(args, cwd):
    return subprocess.run([NATIVE, *args], capture_output=True, text=True,
                          env=NATIVE_ENV, cwd=cwd, timeout=300)


def run_guest(args):
    return subprocess.run([CLOCHE, "run", "--memory", "512M", "--timeout",
                           "120", "--mount", f"{DATA}:{GUEST_DATA}:ro", *args],
                          capture_output=True, text=True, timeout=300)


def both(code, tmp_path):
    """Run CODE natively and in the sandbox; both must succeed."""
    nat = run_native(["-c", code], tmp_path)
    box = run_guest(["-c", code])
    assert nat.returncode == 0, nat.stderr
    assert box.returncode == 0, box.stderr
    return nat.stdout, box.stdout


def test_native_venv_has_the_guest_versions():
    p = run_native(["-c", VERSIONS], ROOT)
    box = run_guest(["-c", VERSIONS])
    assert p.stdout.strip() == pinned_versions()
    assert box.stdout.strip() == pinned_versions()


@pytest.mark.parametrize("script", sorted(p.name for p in SCRIPTS.glob("*.py")))
def test_script_matches_native(script, tmp_path):
    nat = run_native([str(SCRIPTS / script), str(DATA)], tmp_path)
    assert nat.returncode == 0, nat.stderr
    assert nat.stdout.count("\n") >= 3
    box = run_guest([str(SCRIPTS / script), GUEST_DATA])
    assert box.returncode == 0, box.stderr
    if box.stdout != nat.stdout:  # show the first differing lines
        import difflib
        diff = "".join(list(difflib.unified_diff(
            nat.stdout.splitlines(True), box.stdout.splitlines(True),
            "native", "cloche"))[:40])
        pytest.fail(f"{script}: output differs from native:\n{diff}")


# --- Documented differences (docs/data-stack.md, "Compared with native") ---

def test_limitation_default_integer_is_32_bit(tmp_path):
    """The guest is wasm32: numpy's default integer (np.intp, C long) is
    int32, as on any 32-bit numpy, so integer arrays made without a dtype
    overflow sooner. pandas' own integers stay int64."""
    code = """
import numpy as np, pandas as pd
print(np.arange(3).dtype, np.array([1, 2]).dtype, np.intp.__name__)
print(np.arange(50_000)[-1] ** 2, (np.arange(50_000) ** 2)[-1])
print((np.arange(50_000, dtype=np.int64) ** 2)[-1])
print(np.unique([3, 1, 3], return_counts=True)[1].dtype)
print(pd.Series([1, 2]).dtype, pd.Series(np.arange(2)).dtype)
"""
    nat, box = both(code, tmp_path)
    assert nat.splitlines() == [
        "int64 int64 int64", "2499900001 2499900001", "2499900001",
        "int64", "int64 int64"]
    assert box.splitlines() == [
        "int32 int32 int32", "-1795067295 -1795067295", "2499900001",
        "int32", "int64 int32"]


def test_limitation_memory_usage_counts_4_byte_pointers(tmp_path):
    """memory_usage()/info() count a pointer per object and string cell:
    4 bytes in the guest, 8 natively (deep=True counts the same objects)."""
    code = """
import pandas as pd
df = pd.DataFrame({"s": ["ab", "cd", "ef"], "o": [1, "x", None]})
print(df.memory_usage(index=False).tolist())
print(df["s"].memory_usage(deep=True, index=False) > 0)
"""
    nat, box = both(code, tmp_path)
    assert nat.splitlines() == ["[24, 24]", "True"]
    assert box.splitlines() == ["[12, 12]", "True"]


def test_limitation_text_is_drawn_by_a_newer_freetype(tmp_path):
    """matplotlib's wheels bundle FreeType 2.6.1 (what its test images
    expect); the guest links FreeType 2.13.3, so glyph pixels differ while
    sizes, layout and everything without text match (plot_figure.py)."""
    code = """
import hashlib, matplotlib.pyplot as plt
from matplotlib import ft2font
print(ft2font.__freetype_version__)
fig, ax = plt.subplots(figsize=(2, 1), dpi=50)
ax.set_axis_off()
fig.canvas.draw()
blank = bytes(fig.canvas.buffer_rgba())
fig.text(0.1, 0.3, "Agg 123", fontsize=14)
fig.canvas.draw()
print(fig.canvas.get_width_height(), bytes(fig.canvas.buffer_rgba()) != blank)
print(hashlib.sha256(blank).hexdigest()[:16])
plt.close(fig)
"""
    nat, box = both(code, tmp_path)
    n, b = nat.splitlines(), box.splitlines()
    assert (n[0], b[0]) == ("2.6.1", "2.13.3")
    assert n[1:] == b[1:] == ["(100, 50) True", n[2]]


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-v"]))
