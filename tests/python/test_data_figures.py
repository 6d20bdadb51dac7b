"""Figures as results with real matplotlib (the data-stack guest,
the default; docs/figures.md): a plot leaves a PNG in the result.
Skipped when the guest has no matplotlib. The plumbing itself (caps,
hostile figures) is tested with a fake pyplot in test_cli_figures.py."""

import base64
import json
import os
import subprocess
import zlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CLOCHE = os.environ.get("CLOCHE_BIN", str(ROOT / "build" / "cloche"))


def cloche(*args):
    return subprocess.run([CLOCHE, *args], capture_output=True, text=True,
                          timeout=180)


def guest_has_matplotlib():
    return (Path(CLOCHE).exists() and
            cloche("run", "-c", "import matplotlib.pyplot").returncode == 0)


pytestmark = pytest.mark.skipif(not guest_has_matplotlib(),
                                reason="guest built without matplotlib")


def images(code):
    p = cloche("run", "--json", "-c", code)
    r = json.loads(p.stdout)
    assert r["outcome"] == "ok", r
    return r, [base64.b64decode(i["base64"]) for i in r["images"]]


def size(png):
    """(width, height) from IHDR, after checking the image inflates."""
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    at, data = 8, b""
    while at < len(png):
        n = int.from_bytes(png[at:at + 4], "big")
        if png[at + 4:at + 8] == b"IDAT":
            data += png[at + 8:at + 8 + n]
        at += 12 + n
    assert zlib.decompress(data)
    return int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")


def test_plot_gives_one_png():
    r, pngs = images("import matplotlib.pyplot as plt\n"
                     "plt.plot([1, 3, 2]); plt.title('t')\n"
                     "print(len(plt.get_fignums()))")
    assert r["stdout"] == "1\n"  # still open while the code runs
    assert len(pngs) == 1 and r["images_dropped"] == 0
    w, h = size(pngs[0])
    assert 200 < w < 1000 and 200 < h < 800  # 640x480 at 100 dpi, tight


def test_dataframe_plot_and_show():
    r, pngs = images("import pandas as pd, matplotlib.pyplot as plt\n"
                     "df = pd.DataFrame({'a': [1, 2, 3], 'b': [3, 1, 2]})\n"
                     "df.plot()\n"
                     "plt.show()\n"
                     "df.plot(kind='bar')")
    assert len(pngs) == 2  # the trailing Axes' figure is not repeated


def test_figures_closed_between_session_runs(tmp_path):
    snap = tmp_path / "s.img"
    p = cloche("run", "--save", str(snap), "-c",
               "import matplotlib.pyplot as plt\nplt.plot([1])")
    assert p.returncode == 0
    p = cloche("run", "--load", str(snap), "--json", "-c",
               "plt.get_fignums()")
    r = json.loads(p.stdout)
    assert r["value"] == [] and r["images"] == []


def test_figure_outside_pyplot_as_trailing_value():
    _, pngs = images("from matplotlib.figure import Figure\n"
                     "fig = Figure(figsize=(2, 1), dpi=50)\n"
                     "fig.add_subplot().plot([1, 2])\n"
                     "fig")
    assert len(pngs) == 1
    # Rendered at the figure's own dpi with bbox_inches="tight", as a
    # notebook does: native matplotlib 3.10.9 gives 98 x 60 for this figure
    # (the tick labels reach below its 100 x 50).
    assert size(pngs[0]) == (98, 60)


def test_save_figures(tmp_path):
    p = cloche("run", "--save-figures", str(tmp_path), "-c",
               "import matplotlib.pyplot as plt\n"
               "for i in range(3): plt.figure(); plt.plot([i, 1])")
    assert p.returncode == 0, p.stderr
    files = sorted(tmp_path.iterdir())
    assert [f.name for f in files] == [f"figure-{i}.png" for i in (1, 2, 3)]
    assert all(size(f.read_bytes())[0] > 100 for f in files)
