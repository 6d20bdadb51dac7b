"""Figures as results through the cloche command: --json carries them as
base64, --save-figures DIR writes figure-N.png (cloche run and resume).

The minimal guest has no matplotlib: tests/fixtures/fake_pyplot.py, run at
the top of each script, stands in for matplotlib.pyplot inside the sandbox.
"""

import base64
import json
import os
import subprocess
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CLOCHE = os.environ.get("CLOCHE_BIN", str(ROOT / "build" / "cloche"))
FIXTURES = ROOT / "tests" / "fixtures"
SOURCE = (FIXTURES / "fake_pyplot.py").read_text()
FAKE = (f"exec({SOURCE!r}, {{'__name__': 'fake_pyplot'}})\n"
        "import matplotlib.pyplot as plt\n")


def cloche(*args):
    return subprocess.run([CLOCHE, *args], capture_output=True, text=True,
                          timeout=120)


def run(code, *flags):
    return cloche("run", *flags, "-c", FAKE + code)


def png_width(data):
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    # A decoder's view: IHDR's width, and IDAT inflates.
    idat = data.index(b"IDAT")
    size = int.from_bytes(data[idat - 4:idat], "big")
    zlib.decompress(data[idat + 4:idat + 4 + size])
    return int.from_bytes(data[16:20], "big")


def test_json_images_in_figure_order():
    p = run("plt.figure(2, width=20); plt.figure(1, width=10)", "--json")
    assert p.returncode == 0, p.stderr
    r = json.loads(p.stdout)
    assert [i["mime"] for i in r["images"]] == ["image/png"] * 2
    widths = [png_width(base64.b64decode(i["base64"])) for i in r["images"]]
    assert widths == [10, 20]
    assert r["images_dropped"] == 0


def test_no_images_without_matplotlib():
    # cloche imports matplotlib only where the image has it (the data
    # guest pre-imports it with numpy); a run that plots nothing has no image.
    p = cloche("run", "--json", "-c", "import sys\n"
               "('matplotlib' in sys.modules) == ('numpy' in sys.modules)")
    r = json.loads(p.stdout)
    assert (r["value"], r["images"], r["images_dropped"]) == (True, [], 0)


def test_save_figures_creates_folder_and_prints_paths(tmp_path):
    out = tmp_path / "a" / "b"
    p = run("plt.figure(1, width=3); plt.figure(2, width=4)\nprint('ok')",
            "--save-figures", str(out))
    assert (p.returncode, p.stdout) == (0, "ok\n"), p.stderr
    files = sorted(out.iterdir())
    assert [f.name for f in files] == ["figure-1.png", "figure-2.png"]
    assert [png_width(f.read_bytes()) for f in files] == [3, 4]
    assert f"cloche: saved {out}/figure-1.png\n" in p.stderr
    assert f"cloche: saved {out}/figure-2.png\n" in p.stderr


def test_plain_run_hints_at_unsaved_images():
    p = run("plt.figure(1)")
    assert p.returncode == 0
    assert "the run returned 1 image (keep them with --save-figures" in p.stderr


def test_save_figures_unwritable_is_a_usage_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    p = run("print('never')", "--save-figures", str(blocker / "sub"))
    assert p.returncode == 2
    assert p.stdout == ""
    assert "--save-figures" in p.stderr and "cannot write there" in p.stderr
    p = run("print('never')", "--save-figures", str(blocker))
    assert p.returncode == 2 and "Not a directory" in p.stderr
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        if os.access(ro, os.W_OK):  # root ignores the mode
            return
        p = run("print('never')", "--save-figures", str(ro))
        assert p.returncode == 2 and "Permission denied" in p.stderr
    finally:
        ro.chmod(0o700)


def test_hostile_figures_do_not_lose_the_run():
    p = run("plt.figure(1, mode='raise'); plt.figure(2, mode='junk')\n"
            "plt.figure(3, mode='gif'); plt.figure(4, width=4)\n"
            "for i in range(2000): plt.figure(10 + i)\n"
            "print('done')", "--json")
    assert p.returncode == 0
    r = json.loads(p.stdout)
    assert r["stdout"] == "done\n"
    # The guest keeps 64 (junk among them: its signature looks right); the
    # host drops junk.
    assert len(r["images"]) == 63
    assert png_width(base64.b64decode(r["images"][0]["base64"])) == 4
    err = r["stderr"]
    assert "figure 1 could not be rendered: RuntimeError" in err
    assert "figure 3 did not render as PNG" in err
    assert "1938 images left out: at most 64 per run" in err
    assert "[cloche: 1 images left out: not a well-formed PNG]" in err
    assert r["images_dropped"] == 1


def test_images_over_the_byte_cap():
    p = run("plt.figure(1, width=1, pad=9 * 2**20); plt.figure(2, width=2)",
            "--json")
    r = json.loads(p.stdout)
    assert [png_width(base64.b64decode(i["base64"])) for i in r["images"]] \
        == [2]
    assert r["images_dropped"] == 1 and r["cut"] > 9 * 2**20
    assert "images left out: over the images cap of 8388608 bytes" \
        in r["stderr"]


def test_max_images_flag():
    p = run("plt.figure(1, width=1); plt.figure(2, width=2, pad=200)",
            "--max-images", "100", "--json")
    r = json.loads(p.stdout)
    assert [png_width(base64.b64decode(i["base64"])) for i in r["images"]] \
        == [1]
    assert "over the images cap of 100 bytes" in r["stderr"]
    p = cloche("run", "--max-images", "0", "-c", "1")
    assert p.returncode == 2 and "bad --max-images" in p.stderr


def test_suspended_run_saves_figures_on_resume(tmp_path):
    snap = tmp_path / "run.snap"
    p = run("plt.figure(1, width=5)\nawait sleep(0.01)\n"
            "plt.figure(2, width=6)", "--demo-tools", "--suspend", str(snap))
    assert p.returncode == 5, p.stderr
    out = tmp_path / "figs"
    p = cloche("resume", str(snap), "--demo-tools", "--save-figures",
               str(out))
    assert p.returncode == 0, p.stderr
    assert [png_width(f.read_bytes()) for f in sorted(out.iterdir())] == [5, 6]


def test_repl_numbers_figures_across_the_session(tmp_path):
    out = tmp_path / "figs"
    script = (f"exec({SOURCE!r}, {{'__name__': 'fake_pyplot'}})\n"
              "import matplotlib.pyplot as plt\n"
              "plt.figure(1, width=3)\n"
              "plt.figure(1, width=4); plt.figure(2, width=5)\n")
    p = subprocess.run([CLOCHE, "repl", "--save-figures", str(out)],
                       input=script, capture_output=True, text=True,
                       timeout=120)
    assert p.returncode == 0, p.stderr
    assert [png_width(f.read_bytes()) for f in sorted(out.iterdir())] \
        == [3, 4, 5]
    p = subprocess.run([CLOCHE, "repl"], input=script, capture_output=True,
                       text=True, timeout=120)
    assert "start cloche repl with --save-figures DIR" in p.stderr


def test_help_mentions_figures():
    p = cloche("run", "--help")
    assert "--save-figures DIR" in p.stdout and "images" in p.stdout
    p = cloche("resume", "--help")
    assert "--save-figures DIR" in p.stdout
    p = cloche("repl", "--help")
    assert "--save-figures DIR" in p.stdout and "--max-images" in p.stdout
