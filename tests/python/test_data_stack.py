"""The data stack inside the sandbox (issue 14): numpy compiled into the
guest and pre-imported. Skipped when the guest was built without it
(tools/guest.sh with CLOCHE_DATA_STACK=0).

Expected values were computed once with native numpy of the same version
(2.4.6) and are written here, so the test needs no numpy on the host."""

import json
import os
import subprocess
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CLOCHE = os.environ.get("CLOCHE_BIN", str(ROOT / "build" / "cloche"))


def cloche(*args, timeout=120):
    return subprocess.run([CLOCHE, *args], capture_output=True, text=True,
                          timeout=timeout)


def run_json(code, *flags):
    p = cloche("run", "--json", *flags, "-c", code)
    return p, json.loads(p.stdout)


def guest_has_numpy():
    if not Path(CLOCHE).exists():
        return False
    p = cloche("run", "-c", "import numpy")
    return p.returncode == 0


pytestmark = pytest.mark.skipif(not guest_has_numpy(),
                                reason="guest built without the data stack")


def test_numpy_is_preimported_and_builtin():
    p = cloche("run", "-c", """
import sys
print('numpy' in sys.modules)
import numpy as np
print(np.__version__)
print('numpy._core._multiarray_umath' in sys.builtin_module_names)
""")
    assert p.returncode == 0, p.stderr
    assert p.stdout.split() == ["True", "2.4.6", "True"]


def test_array_math():
    p = cloche("run", "-c", """
import numpy as np
a = np.arange(12, dtype=np.float64).reshape(3, 4)
print(a.sum(), a.mean(axis=0).tolist(), (a @ a.T).trace())
print(np.sqrt(np.array([4.0, 9.0])).tolist(), np.int32(7) // 2)
print(np.cumsum([1, 2, 3]).tolist(), np.argsort([3, 1, 2]).tolist())
print(np.unique([3, 1, 3, 2]).tolist(), float(np.float16(0.1)))
print(np.array(['b', 'a']).astype('U').tolist(), np.isnan(np.nan))
print(repr(np.longdouble(1) / 3)[:20])
""")
    assert p.returncode == 0, p.stderr
    assert p.stdout.splitlines() == [
        "66.0 [4.0, 5.0, 6.0, 7.0] 506.0",
        "[2.0, 3.0] 3",
        "[1, 3, 6] [1, 2, 0]",
        "[1, 2, 3] 0.0999755859375",
        "['b', 'a'] True",
        "np.longdouble('0.333",
    ]


def test_linalg_fft_and_value():
    p, r = run_json("""
import numpy as np
x = np.linalg.solve(np.array([[3., 1.], [1., 2.]]), np.array([9., 8.]))
w = np.linalg.eigvalsh(np.array([[2., 1.], [1., 2.]]))
f = np.fft.fft(np.arange(4.))
bool(np.allclose(x, [2, 3]) and np.allclose(w, [1, 3]) and
     np.allclose(f, [6, -2 + 2j, -2, -2 - 2j]) and
     abs(np.linalg.det(np.eye(3) * 2) - 8) < 1e-12)
""")
    assert p.returncode == 0, p.stderr
    assert r["outcome"] == "ok" and r["value_repr"] == "True"


def test_random_with_seed_matches_native():
    p = cloche("run", "-c", """
import numpy as np
rng = np.random.default_rng(12345)
print(rng.integers(0, 1000, 6).tolist())
print(rng.standard_normal(3).tolist())
np.random.seed(0)
print(np.random.rand(3).tolist())
""")
    assert p.returncode == 0, p.stderr
    assert p.stdout.splitlines() == [
        "[699, 227, 788, 316, 204, 797]",
        "[-0.2591732349343976, -0.07534330701052097, -0.740884652085609]",
        "[0.5488135039273248, 0.7151893663724195, 0.6027633760716439]",
    ]


def test_huge_array_is_memory_error_not_trap():
    # 512 MiB of ones under a 128 MiB cap: numpy's allocation fails, it
    # raises MemoryError, and the program can catch it and go on.
    p, r = run_json("""
import numpy as np
try:
    np.ones((8192, 8192))
except MemoryError:
    print("MemoryError")
a = np.ones(1000)
float(a.sum())
""", "--memory", "128M")
    assert p.returncode == 0, p.stdout + p.stderr
    assert r["outcome"] == "ok" and r["value_repr"] == "1000.0"
    assert r["stdout"] == "MemoryError\n"


def test_huge_array_uncaught_is_memory_limit():
    p, r = run_json("import numpy as np\nnp.zeros((8192, 8192)) + 1",
                    "--memory", "128M")
    assert p.returncode == 3, p.stdout + p.stderr
    assert r["outcome"] == "limit" and r["limit"] == "memory"
    assert r["exception"]["type"] == "MemoryError"
    # The sandbox works on after the trip: a fresh run in the same process
    # is another test; here the same run's JSON is complete.
    assert "trap" not in p.stderr.lower()


def test_long_vectorised_loop_times_out():
    start = time.monotonic()
    p, r = run_json("""
import numpy as np
a = np.ones(1_000_000)
while True:
    a = np.sqrt(a * 1.0000001)
""", "--timeout", "1")
    assert time.monotonic() - start < 20
    assert p.returncode == 3
    assert r["limit"] == "timeout"


def test_timeout_inside_one_numpy_call():
    # One call that runs for many seconds inside numpy's C loops: the
    # deadline interrupts wasm code, not only the Python interpreter.
    start = time.monotonic()
    p, r = run_json("""
import numpy as np
a = np.ones((1500, 1500))
for _ in range(100):
    a = a @ a / 1500
""", "--timeout", "1")
    assert time.monotonic() - start < 20
    assert p.returncode == 3 and r["limit"] == "timeout"


def test_unseeded_random_differs_between_sandboxes():
    # numpy was imported (and its global generator seeded) at build time;
    # each sandbox reseeds it from the host's CSPRNG on its first run.
    code = "import numpy as np\nprint(np.random.rand(), np.random.default_rng().random())"
    first, second = cloche("run", "-c", code), cloche("run", "-c", code)
    assert first.returncode == 0 and second.returncode == 0, first.stderr
    a, b = first.stdout.split(), second.stdout.split()
    assert a[0] != b[0] and a[1] != b[1]


def guest_has_pandas():
    return Path(CLOCHE).exists() and \
        cloche("run", "-c", "import pandas").returncode == 0


needs_pandas = pytest.mark.skipif(not guest_has_pandas(),
                                  reason="guest built without pandas")

FRAME = """
import numpy as np
import pandas as pd
df = pd.DataFrame({
    "city": ["Oslo", "Lima", "Oslo", "Pune", "Lima", "Oslo"],
    "day": pd.to_datetime(["2024-01-01", "2024-01-01", "2024-01-02",
                           "2024-01-02", "2024-01-03", "2024-01-03"]),
    "temp": [-3.5, 22.0, -1.0, 31.5, 23.5, 0.5],
    "rain": [1, 0, 3, 0, 2, 1],
})
"""


@needs_pandas
def test_pandas_groupby_pivot_describe_like_native():
    # Expected text from native CPython 3.13.5 with pandas 3.0.6 and
    # numpy 2.4.6 (no pyarrow, as in the guest).
    p = cloche("run", "-c", FRAME + """
import sys
print('pandas' in sys.modules, pd.__version__)
print(df.groupby("city")["temp"].agg(["mean", "max", "count"]))
print(df.pivot_table(index="day", columns="city", values="rain",
                     aggfunc="sum", fill_value=0))
print(df.describe().round(3).to_string())
s = pd.Series(np.arange(6), index=pd.date_range("2024-03-01", periods=6))
print(s.resample("2D").sum().to_dict())
print(df["city"].str.upper().value_counts().to_dict())
""")
    assert p.returncode == 0, p.stderr
    assert p.stdout == """True 3.0.6
           mean   max  count
city                        
Lima  22.750000  23.5      2
Oslo  -1.333333   0.5      3
Pune  31.500000  31.5      1
city        Lima  Oslo  Pune
day                         
2024-01-01     0     1     0
2024-01-02     0     3     0
2024-01-03     2     1     0
                       day    temp   rain
count                    6   6.000  6.000
mean   2024-01-02 00:00:00  12.167  1.167
min    2024-01-01 00:00:00  -3.500  0.000
25%    2024-01-01 06:00:00  -0.625  0.250
50%    2024-01-02 00:00:00  11.250  1.000
75%    2024-01-02 18:00:00  23.125  1.750
max    2024-01-03 00:00:00  31.500  3.000
std                    NaN  15.191  1.169
{Timestamp('2024-03-01 00:00:00'): 1, Timestamp('2024-03-03 00:00:00'): 5, \
Timestamp('2024-03-05 00:00:00'): 9}
{'OSLO': 3, 'LIMA': 2, 'PUNE': 1}
"""


@needs_pandas
def test_pandas_csv_through_a_mount(tmp_path):
    (tmp_path / "in.csv").write_text("a,b\n1,x\n2,y\n3,x\n")
    p = cloche("run", "--mount", f"{tmp_path}:/data:rw", "-c", FRAME + """
src = pd.read_csv("/data/in.csv")
print(src.groupby("b")["a"].sum().to_dict())
df.to_csv("/data/out.csv", index=False)
back = pd.read_csv("/data/out.csv", parse_dates=["day"])
print(back.equals(df))
""")
    assert p.returncode == 0, p.stderr
    assert p.stdout == "{'x': 4, 'y': 2}\nTrue\n"
    out = (tmp_path / "out.csv").read_text().splitlines()
    assert out[0] == "city,day,temp,rain"
    assert out[1] == "Oslo,2024-01-01,-3.5,1"
    assert len(out) == 7


@needs_pandas
def test_pandas_memory_map_is_a_clear_error(tmp_path):
    (tmp_path / "in.csv").write_text("a\n1\n")
    p, r = run_json("import pandas as pd\n"
                    "pd.read_csv('/data/in.csv', memory_map=True)",
                    "--mount", f"{tmp_path}:/data")
    assert r["exception"]["type"] == "OSError"
    assert "memory_map=True" in r["exception"]["message"]


@needs_pandas
def test_image_snapshot_keeps_frames_and_arrays(tmp_path):
    img = tmp_path / "s.img"
    p = cloche("run", "--save", str(img), "-c",
               "import numpy as np, pandas as pd\n"
               "df = pd.DataFrame({'a': [1, 2, 3]}); arr = np.arange(5)")
    assert p.returncode == 0, p.stderr
    p = cloche("run", "--load", str(img), "-c",
               "print(df.a.sum(), arr.sum(), type(df).__name__)")
    assert p.returncode == 0, p.stderr
    assert p.stdout == "6 10 DataFrame\n"


def guest_has_matplotlib():
    return Path(CLOCHE).exists() and \
        cloche("run", "-c", "import matplotlib").returncode == 0


needs_mpl = pytest.mark.skipif(not guest_has_matplotlib(),
                               reason="guest built without matplotlib")


def png_size(data):
    """(width, height) from a PNG's IHDR chunk; fails on anything else."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert data[12:16] == b"IHDR"
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


@needs_mpl
def test_matplotlib_is_preimported_with_agg():
    p = cloche("run", "-c", """
import sys
print('matplotlib.pyplot' in sys.modules)
import numpy as np, pandas as pd, matplotlib.pyplot as plt
import matplotlib as mpl
print(mpl.__version__, mpl.get_backend().lower())
print('matplotlib.ft2font' in sys.builtin_module_names)
print(mpl.get_data_path())
print(len(mpl.font_manager.fontManager.ttflist) > 30)
""")
    assert p.returncode == 0, p.stderr
    assert p.stdout.splitlines() == [
        "True", "3.10.9 agg", "True",
        "/usr/local/share/python313/matplotlib/mpl-data", "True"]
    assert "Matplotlib" not in p.stderr  # no temporary-cache-dir warning


@needs_mpl
def test_savefig_png_to_a_mounted_folder(tmp_path):
    p = cloche("run", "--mount", f"{tmp_path}:/data:rw", "-c", """
import matplotlib.pyplot as plt
fig, ax = plt.subplots(figsize=(4, 3), dpi=100)
ax.plot([0, 1, 2, 3], [0, 1, 4, 9], label="squares")
ax.plot([0, 1, 2, 3], [0, 1, 2, 3], "--", label="line")
ax.text(1, 6, "hello $x^2$")
ax.set_title("A title")
ax.legend()
fig.savefig("/data/out.png")
print([t.get_text() for t in ax.get_legend().get_texts()])
""")
    assert p.returncode == 0, p.stderr
    assert p.stdout == "['squares', 'line']\n"
    data = (tmp_path / "out.png").read_bytes()
    assert png_size(data) == (400, 300)
    assert len(data) > 8000  # lines, text and a legend were drawn


@needs_mpl
def test_dataframe_plot_and_other_compiled_paths():
    # df.plot (pandas' matplotlib backend), contour (contourpy), Delaunay
    # (Qhull), constrained layout (kiwisolver), imshow (_image), hit tests
    # (_path), all rendered through Agg and Pillow into memory.
    p = cloche("run", "-c", """
import io
import numpy as np, pandas as pd, matplotlib.pyplot as plt
import matplotlib.tri as mtri
df = pd.DataFrame({"a": [1, 3, 2, 4], "b": [2, 2, 3, 1]})
ax = df.plot(title="df")
print(type(ax).__name__, len(ax.get_lines()))
fig, axs = plt.subplots(2, 2, layout="constrained")
x, y = np.meshgrid(np.linspace(-2, 2, 30), np.linspace(-2, 2, 30))
cs = axs[0, 0].contourf(x, y, np.exp(-x**2 - y**2), levels=5)
rng = np.random.default_rng(1)
tri = mtri.Triangulation(rng.random(20), rng.random(20))
axs[0, 1].triplot(tri)
axs[1, 0].imshow(np.arange(16.).reshape(4, 4))
line, = axs[1, 1].plot([0, 1], [0, 1])
buf = io.BytesIO()
fig.savefig(buf, format="png")
print(len(cs.levels), len(tri.triangles) > 10, buf.getvalue()[:4])
print(line.get_path().contains_point((0.5, 0.5), radius=0.1))
""")
    assert p.returncode == 0, p.stderr
    # The same values as native matplotlib 3.10.9 (radius is in pixels).
    assert p.stdout.splitlines() == [
        "Axes 2", "6 True b'\\x89PNG'", "False"]


@needs_mpl
def test_openpyxl_and_tabulate(tmp_path):
    p = cloche("run", "--mount", f"{tmp_path}:/data:rw", "-c", """
import pandas as pd
from tabulate import tabulate
df = pd.DataFrame({"city": ["Oslo", "Rome"], "temp": [-3.5, 12.25],
                   "rain": [1, 0]})
df.to_excel("/data/t.xlsx", index=False)
back = pd.read_excel("/data/t.xlsx")
print(back.equals(df))
print(tabulate(df.values.tolist(), headers=list(df.columns)))
""")
    assert p.returncode == 0, p.stderr
    # tabulate 0.9.0 natively prints the same table.
    assert p.stdout == ("True\ncity      temp    rain\n------  ------  ------\n"
                        "Oslo     -3.5        1\nRome     12.25       0\n")
    assert (tmp_path / "t.xlsx").read_bytes()[:2] == b"PK"


@needs_mpl
def test_cxx_error_path_traps_not_raises():
    # pybind11 reports bad arguments by throwing a C++ exception; the guest
    # has no exception handling, so the throw traps (docs/data-stack.md).
    # The sandbox ends with an error outcome; the host and the next
    # sandbox are fine.
    p = cloche("run", "-c", """
from matplotlib import ft2font
ft2font.FT2Font("/no/such/font.ttf")
""")
    assert p.returncode != 0
    assert "FileNotFoundError" not in p.stdout
    assert cloche("run", "-c", "import matplotlib; print(1)").stdout == "1\n"
