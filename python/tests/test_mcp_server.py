"""`cloche mcp`: an MCP client from the official SDK launches it over stdio
(and over streamable HTTP on loopback) and uses every tool; the finer
behaviours (session cap and expiry, output cut, file paths) are checked
against the same server in-process."""

from __future__ import annotations

import asyncio
import base64
import os
import re
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("mcp")

from mcp import Client, StdioServerParameters  # noqa: E402
from mcp.types import CallToolResult, ImageContent, TextContent  # noqa: E402

from cloche.mcp_server import ServerConfig, build_server, cut_text, parse_http  # noqa: E402

CALC = Path(__file__).parent / "mcp_fixtures" / "calc_server.py"
TOOLS = {"run_python", "reset_session", "list_sessions", "upload_file", "download_file"}


def text(r: CallToolResult) -> str:
    block = r.content[0]
    assert isinstance(block, TextContent)
    return block.text


def _env() -> dict[str, str]:
    env = dict(os.environ)
    if not (Path(sys.executable).parent / "cloche-python").exists():
        env["CLOCHE_PYTHON"] = sys.executable  # a development build of the command
    return env


async def _scenario(c: Client) -> None:
    """What the issue asks of both transports."""
    tools = {t.name: t for t in (await c.list_tools()).tools}
    assert set(tools) == TOOLS
    desc = tools["run_python"].description or ""
    assert "CPython 3.13" in desc and "/data" in desc and "No network" in desc
    assert "subprocess" in desc and "calc.{add" in desc  # code-mode tools named

    r = await c.call_tool("run_python", {"code": "print('hi')\n6 * 7"})
    assert not r.is_error and text(r) == "[stdout]\nhi\n[value]\n42"
    assert r.structured_content is not None and r.structured_content["value"] == "42"

    r = await c.call_tool("run_python", {"code": "x = 41", "session": "s1"})
    r = await c.call_tool("run_python", {"code": "x + 1", "session": "s1"})
    assert text(r) == "[value]\n42"
    r = await c.call_tool("run_python", {"code": "x"})  # no session: fresh
    assert r.is_error and "NameError" in text(r)

    r = await c.call_tool("upload_file", {"session": "s1", "path": "in/data.csv",
                                          "content": "a,b\n1,2\n"})
    assert not r.is_error, text(r)
    r = await c.call_tool("run_python", {
        "code": "import csv\nrows = list(csv.DictReader(open('/data/in/data.csv')))\n"
                "open('/data/out.txt', 'w').write(str(int(rows[0]['a']) + int(rows[0]['b'])))",
        "session": "s1"})
    assert not r.is_error, text(r)
    r = await c.call_tool("download_file", {"session": "s1", "path": "out.txt"})
    assert text(r) == "3"
    r = await c.call_tool("list_sessions", {})
    assert text(r).startswith("s1: ") and "in/data.csv" in text(r)

    t0 = time.monotonic()
    r = await c.call_tool("run_python", {"code": "while True: pass", "session": "s1"})
    assert r.is_error and "time limit (2 s)" in text(r)
    assert time.monotonic() - t0 < 10
    r = await c.call_tool("run_python", {"code": "'still alive'", "session": "s1"})
    assert text(r) == "[value]\n'still alive'"

    r = await c.call_tool("run_python", {
        "code": "import asyncio\nawait asyncio.gather(calc.add(a=1, b=2), calc.add(a=3, b=4))"})
    assert text(r) == "[value]\n[3, 7]"

    r = await c.call_tool("reset_session", {"session": "s1"})
    assert "reset" in text(r)
    r = await c.call_tool("run_python", {"code": "'x' in globals()", "session": "s1"})
    assert text(r) == "[value]\nFalse"


async def test_stdio_launches_cloche_mcp(cloche_bin: str) -> None:
    params = StdioServerParameters(
        command=cloche_bin,
        args=["mcp", "--timeout", "2", "--mcp-server", f"{sys.executable} {CALC}"],
        env=_env())
    async with Client(params) as c:
        await _scenario(c)
        t0 = time.monotonic()
        for _ in range(20):
            await c.call_tool("run_python", {"code": "1 + 1", "session": "bench"})
        per_call = (time.monotonic() - t0) / 20
        print(f"run_python round trip over stdio: {per_call * 1000:.2f} ms")
        assert per_call < 0.5


@asynccontextmanager
async def _http_server(cloche_bin: str, *args: str) -> AsyncIterator[str]:
    proc = subprocess.Popen([cloche_bin, "mcp", "--http", "0", *args],
                            stderr=subprocess.PIPE, text=True, env=_env())
    try:
        assert proc.stderr is not None
        line = await asyncio.wait_for(asyncio.to_thread(proc.stderr.readline), 60)
        m = re.search(r"serving on (http://127\.0\.0\.1:\d+/mcp)", line)
        assert m, line
        yield m.group(1)
    finally:
        proc.terminate()
        proc.wait(10)


async def test_http_on_loopback(cloche_bin: str) -> None:
    async with _http_server(cloche_bin, "--timeout", "2", "--mcp-server",
                            f"{sys.executable} {CALC}") as url:
        async with Client(url) as c:
            await _scenario(c)
        # a second client sees the same named sessions
        async with Client(url) as c1, Client(url) as c2:
            await c1.call_tool("run_python", {"code": "shared = 1", "session": "team"})
            r = await c2.call_tool("run_python", {"code": "shared + 1", "session": "team"})
            assert text(r) == "[value]\n2"


def test_parse_http() -> None:
    assert parse_http("8000") == ("127.0.0.1", 8000)
    assert parse_http(":8000") == ("127.0.0.1", 8000)
    assert parse_http("0.0.0.0:80") == ("0.0.0.0", 80)
    assert parse_http("[::1]:9") == ("::1", 9)
    with pytest.raises(ValueError):
        parse_http("host:port")


def test_cloche_mcp_flag_errors(cloche_bin: str) -> None:
    p = subprocess.run([cloche_bin, "mcp", "--memory", "lots"], capture_output=True,
                       text=True, timeout=60, env=_env(), stdin=subprocess.DEVNULL)
    assert p.returncode == 2 and "memory" in p.stderr
    p = subprocess.run([cloche_bin, "mcp", "--help"], capture_output=True, text=True,
                       timeout=60, env=_env())
    assert p.returncode == 0
    for flag in ("--http", "--timeout", "--memory", "--max-output", "--mount",
                 "--allow-net", "--secret", "--mcp-server", "--session-idle", "--max-sessions"):
        assert flag in p.stdout


# --- in-process: the same server, no transport ------------------------------------


@asynccontextmanager
async def _inproc(**config: Any) -> AsyncIterator[Client]:
    sandbox = config.pop("sandbox", {"timeout": 5})
    app, store = build_server(ServerConfig(sandbox=sandbox, **config))
    try:
        async with Client(app) as c:
            yield c
    finally:
        store.close()


async def test_output_cut_with_marker() -> None:
    async with _inproc(max_reply=2000) as c:
        r = await c.call_tool("run_python", {"code": "for i in range(10000): print(i)"})
        out = text(r)
        assert len(out) < 2100
        assert out.startswith("[stdout]\n0\n1\n2\n") and out.endswith("9998\n9999")
        assert re.search(r"\[cloche: [\d,]+ characters of stdout cut here; it had 48,890", out)


async def test_output_limit_is_reported() -> None:
    async with _inproc(sandbox={"max_output": "10k"}) as c:
        r = await c.call_tool("run_python", {"code": "print('y' * 50000)", "session": "s"})
        assert r.is_error and "stdout limit (10,240 bytes)" in text(r)
        r = await c.call_tool("run_python", {"code": "1", "session": "s"})
        assert not r.is_error


async def test_session_cap_and_idle_expiry() -> None:
    async with _inproc(max_sessions=2, session_idle=0.3) as c:
        for name in ("a", "b"):
            r = await c.call_tool("run_python", {"code": f"v = {name!r}", "session": name})
            assert not r.is_error
        r = await c.call_tool("run_python", {"code": "1", "session": "c"})
        assert r.is_error and "too many sessions (2)" in text(r)
        await asyncio.sleep(0.5)  # both idle past 0.3 s: expired
        r = await c.call_tool("run_python", {"code": "'v' in globals()", "session": "c"})
        assert text(r) == "[value]\nFalse"
        r = await c.call_tool("list_sessions", {})
        assert text(r).startswith("c: ") and "a:" not in text(r)
        r = await c.call_tool("run_python", {"code": "1", "session": "bad name!"})
        assert r.is_error


async def test_files_confined_to_data() -> None:
    async with _inproc() as c:
        for path in ("../etc/passwd", "/tmp/x", "/data", "a/../../x"):
            r = await c.call_tool("upload_file", {"session": "f", "path": path, "content": "x"})
            assert r.is_error and "not a file under /data" in text(r), path
        png = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\0" * 20).decode()
        r = await c.call_tool("upload_file", {"session": "f", "path": "/data/p.png",
                                              "content": png, "encoding": "base64"})
        assert not r.is_error, text(r)
        r = await c.call_tool("download_file", {"session": "f", "path": "p.png"})
        assert isinstance(r.content[0], ImageContent) and r.content[0].data == png
        r = await c.call_tool("upload_file", {"session": "f", "path": "b.bin",
                                              "content": base64.b64encode(b"\xff\xfe").decode(),
                                              "encoding": "base64"})
        r = await c.call_tool("download_file", {"session": "f", "path": "b.bin"})
        assert text(r) == base64.b64encode(b"\xff\xfe").decode()
        r = await c.call_tool("download_file", {"session": "f", "path": "missing.txt"})
        assert r.is_error
        r = await c.call_tool("download_file", {"session": "nosuch", "path": "a.txt"})
        assert r.is_error and "no session" in text(r)


async def test_runs_in_different_sessions_overlap() -> None:
    async with _inproc() as c:
        code = "import time\nt = time.time()\nwhile time.time() - t < 0.4: pass"
        t0 = time.monotonic()
        await asyncio.gather(*(c.call_tool("run_python", {"code": code, "session": f"p{i}"})
                               for i in range(2)))
        assert time.monotonic() - t0 < 0.75


def test_cut_text() -> None:
    assert cut_text("short", 100) == "short"
    long = "".join(f"{i}\n" for i in range(5000))
    cut = cut_text(long, 500)
    assert len(cut) <= 500 and cut.startswith("0\n1\n") and cut.endswith("4999\n")
    assert "characters of output cut here" in cut
