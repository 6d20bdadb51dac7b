"""Figures as results in the Python package: Result.images, the images
limit, and MCP run_python returning them as image content.

The minimal guest has no matplotlib: tests/fixtures/fake_pyplot.py, run at
the top of the code, stands in for matplotlib.pyplot inside the sandbox.
"""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

import cloche

ROOT = Path(__file__).resolve().parents[2]
SOURCE = (ROOT / "tests" / "fixtures" / "fake_pyplot.py").read_text()
FAKE = (f"exec({SOURCE!r}, {{'__name__': 'fake_pyplot'}})\n"
        "import matplotlib.pyplot as plt\n")


def width(png: bytes) -> int:
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    return int.from_bytes(png[16:20], "big")


def test_result_images_in_order_and_closed(sb: cloche.Sandbox) -> None:
    r = sb.run_sync(FAKE + "plt.figure(2, width=20); plt.figure(1, width=10)")
    assert [i.mime for i in r.images] == ["image/png", "image/png"]
    assert [width(i.data) for i in r.images] == [10, 20]
    assert r.images_dropped == 0 and "images=2" in repr(r)
    d = r.to_dict()
    assert [width(base64.b64decode(i["base64"])) for i in d["images"]] == [10, 20]
    assert d["images_dropped"] == 0
    r = sb.run_sync("plt.get_fignums()")  # closed: not repeated
    assert r.value == [] and r.images == []


def test_no_images_by_default(sb: cloche.Sandbox) -> None:
    r = sb.run_sync("1 + 1")
    assert r.images == [] and r.images_dropped == 0
    assert r.to_dict()["images"] == []


async def test_async_run_show_image_and_save(sb: cloche.Sandbox, tmp_path: Path) -> None:
    r = await sb.run(FAKE + "import cloche, asyncio\nawait asyncio.sleep(0)\n"
                     "cloche.show_image(plt.make_png(7))\nplt.figure(1, width=8)")
    assert [width(i.data) for i in r.images] == [7, 8]
    r.images[0].save(tmp_path / "a.png")
    assert (tmp_path / "a.png").read_bytes() == r.images[0].data
    assert r.images[0]._repr_png_() == r.images[0].data
    assert repr(r.images[0]).startswith("Image('image/png', ")


def test_images_limit_and_hostile_figures(sb: cloche.Sandbox) -> None:
    assert sb.limit("images") == 8 * 2**20
    sb.limit("images", 4000)
    r = sb.run_sync(FAKE + "plt.figure(1, width=1, pad=5000)\n"
                    "plt.figure(2, mode='raise'); plt.figure(3, mode='junk')\n"
                    "plt.figure(4, width=4)")
    assert r.ok
    assert [width(i.data) for i in r.images] == [4]
    assert r.images_dropped == 2 and r.bytes_cut > 5000
    assert "figure 2 could not be rendered: RuntimeError" in r.stderr
    assert "over the images cap of 4000 bytes" in r.stderr
    assert "not a well-formed PNG" in r.stderr


def test_max_images_option() -> None:
    with cloche.Sandbox(max_images="1k") as sb:
        assert sb.limit("images") == 1024
        r = sb.run_sync(FAKE + "plt.figure(1, pad=2000); plt.figure(2, width=2)")
        assert [width(i.data) for i in r.images] == [2] and r.images_dropped == 1


def test_figures_of_a_failed_run(sb: cloche.Sandbox) -> None:
    r = sb.run_sync(FAKE + "plt.figure(1, width=3)\n1 / 0")
    assert r.exception is not None and r.exception.type == "ZeroDivisionError"
    assert [width(i.data) for i in r.images] == [3]
    with pytest.raises(cloche.PythonError) as e:
        sb.run_sync(FAKE + "plt.figure(1, width=4)\n1 / 0", check=True)
    assert [width(i.data) for i in e.value.result.images] == [4]


async def test_mcp_run_python_returns_image_content() -> None:
    pytest.importorskip("mcp")
    from mcp import Client
    from mcp.types import ImageContent, TextContent

    from cloche.mcp_server import ServerConfig, build_server

    app, store = build_server(ServerConfig(sandbox={"timeout": 10}))
    try:
        async with Client(app) as c:
            r = await c.call_tool("run_python", {
                "code": FAKE + "plt.figure(1, width=5); plt.figure(2, width=6)\n'done'"})
            assert not r.is_error
            first, *images = r.content
            assert isinstance(first, TextContent)
            assert first.text == "[value]\n'done'\n[images]\n2 images (PNG) returned"
            assert all(isinstance(i, ImageContent) for i in images)
            assert [(i.mime_type, width(base64.b64decode(i.data)))
                    for i in images if isinstance(i, ImageContent)] == [
                        ("image/png", 5), ("image/png", 6)]
            assert r.structured_content is not None
            assert r.structured_content["images"] == 2
            r = await c.call_tool("run_python", {"code": "1"})
            assert len(r.content) == 1
    finally:
        store.close()


def test_python_cli_save_figures(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`cloche run --mcp-server ...` is the Python half: same flag, same files."""
    from cloche._cli import main

    out = tmp_path / "figs" / "x"
    assert main(["run", "--save-figures", str(out), "-c",
                 FAKE + "plt.figure(1, width=2); plt.figure(2, width=3)"]) == 0
    assert [width(f.read_bytes()) for f in sorted(out.iterdir())] == [2, 3]
    assert f"cloche: saved {out}/figure-2.png" in capsys.readouterr().err
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert main(["run", "--save-figures", str(blocker), "-c", "print(1)"]) == 2
    err = capsys.readouterr().err
    assert "--save-figures" in err and "cannot write there" in err
    assert main(["run", "-c", FAKE + "plt.figure(1)"]) == 0
    assert "the run returned 1 image (keep them" in capsys.readouterr().err
