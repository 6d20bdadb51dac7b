"""Code mode: MCP servers started on the host, their tools called as
functions from sandboxed code (cloche.McpServers, Sandbox(mcp_servers=),
cloche run --mcp-server). The server is a small SDK server written for the
tests (mcp_fixtures/calc_server.py)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("mcp")

import cloche  # noqa: E402
from cloche.mcp_client import McpServer, identifier, result_value  # noqa: E402

CALC = Path(__file__).parent / "mcp_fixtures" / "calc_server.py"
CALC_CMD = f"{sys.executable} {CALC}"


@pytest.fixture(scope="module")
def servers() -> Iterator[cloche.McpServers]:
    spec = McpServer([sys.executable, str(CALC)], env={"CALC_TOKEN": "tok-123456"})
    with cloche.McpServers([spec]) as s:
        yield s


def test_tools_namespaced_with_schema_and_description(servers: cloche.McpServers) -> None:
    names = [t.name for t in servers.tools]
    # the server calls itself "calc"; "word-count" becomes an identifier
    assert names == ["calc.add", "calc.word_count", "calc.fail", "calc.secret_length", "calc.now"]
    with cloche.Sandbox(mcp_servers=servers) as sb:
        listed = {c["name"]: c for c in sb.run_sync("list_callbacks()").value}
        add = listed["calc.add"]
        assert add["description"].startswith("Add two integers")
        assert '"type": "integer"' in add["description"]  # its result's schema
        assert add["schema"]["properties"]["a"]["type"] == "integer"
        assert add["schema"]["required"] == ["a", "b"]
        assert sb.run_sync("calc.add.__doc__").value == add["description"]


async def test_gathered_calls_overlap(servers: cloche.McpServers) -> None:
    async with cloche.Sandbox(mcp_servers=servers) as sb:
        t0 = time.monotonic()
        r = await sb.run(
            "import asyncio\n"
            "s, w = await asyncio.gather(calc.add(a=2, b=3), calc.word_count(text='a b c'))\n"
            "print(s, w)\n"
            "[s, w]")
        elapsed = time.monotonic() - t0
        assert r.stdout == "5 {'words': 3, 'chars': 5}\n"
        assert r.value == [5, {"words": 3, "chars": 5}]
        # each tool takes 0.3 s on the server: together, not one after the other
        assert elapsed < 0.55, elapsed


def test_sync_style_call_and_positional_args(servers: cloche.McpServers) -> None:
    with cloche.Sandbox(mcp_servers=servers) as sb:
        assert sb.run_sync("calc.add(20, 22)").value == 42
        assert sb.run_sync("invoke('calc.add', a=1, b=1)").value == 2


def test_failing_tool_is_callback_error(servers: cloche.McpServers) -> None:
    with cloche.Sandbox(mcp_servers=servers) as sb:
        r = sb.run_sync("try:\n    calc.fail(message='disk on fire')\n"
                        "except CallbackError as e:\n    err = str(e)\nerr")
        assert "McpToolError" in r.value and "disk on fire" in r.value
        r = sb.run_sync("calc.add(a='x', b=1)")  # the schema's shape, checked inside
        assert r.exception is not None and r.exception.type == "TypeError"


def test_credentials_stay_on_the_host(servers: cloche.McpServers) -> None:
    with cloche.Sandbox(mcp_servers=servers) as sb:
        assert sb.run_sync("calc.secret_length()").value == len("tok-123456")
        r = sb.run_sync("import os\n[k for k in os.environ if 'TOKEN' in k]")
        assert r.value == []
        r = sb.run_sync("invoke('other.add', a=1, b=2)")  # no server it was not given
        assert r.exception is not None and "no host callback" in r.exception.message


def test_sandbox_starts_and_stops_its_own_servers() -> None:
    sb = cloche.Sandbox(mcp_servers=[f"math={CALC_CMD}"])
    try:
        assert sb.run_sync("math.add(a=1, b=2)").value == 3
        hub = sb._mcp
        assert hub is not None and hub.started
    finally:
        sb.close()
    assert not hub.started


def test_bad_server_fails_clearly() -> None:
    with pytest.raises(cloche.McpError, match="nonexistent-mcp-server"):
        cloche.McpServers(["nonexistent-mcp-server --flag"], timeout=10).start()


def test_spec_parsing_and_names() -> None:
    s = McpServer.parse("fs=npx -y '@scope/server fs' /tmp")
    assert (s.name, s.argv()) == ("fs", ["npx", "-y", "@scope/server fs", "/tmp"])
    assert McpServer.parse("http://127.0.0.1:9/mcp").url == "http://127.0.0.1:9/mcp"
    assert identifier("word-count") == "word_count" and identifier("class") == "class_"
    assert identifier("9lives") == "_9lives"


def test_result_values() -> None:
    from mcp.types import CallToolResult, TextContent

    wrapped = {"properties": {"result": {"type": "integer"}}, "required": ["result"]}
    r = CallToolResult(content=[TextContent(type="text", text="3")], structured_content={"result": 3})
    assert result_value(r, wrapped) == 3
    r = CallToolResult(content=[TextContent(type="text", text="plain")])
    assert result_value(r, None) == "plain"
    r = CallToolResult(content=[TextContent(type="text", text="a"), TextContent(type="text", text="b")])
    assert result_value(r, None) == ["a", "b"]
    r = CallToolResult(content=[TextContent(type="text", text="bad")], is_error=True)
    with pytest.raises(cloche.McpToolError, match="bad"):
        result_value(r, None)


def test_cloche_run_with_mcp_server(cloche_bin: str) -> None:
    code = ("import asyncio, sys\n"
            "print(await asyncio.gather(calc.add(a=1, b=2), calc.word_count(text='x y')))\n"
            "print(sys.argv)")
    p = subprocess.run([cloche_bin, "run", "--timeout", "20", "--mcp-server", CALC_CMD,
                        "-c", code, "arg1"], capture_output=True, text=True, timeout=120,
                       env=_cli_env())
    assert p.returncode == 0, p.stderr
    assert p.stdout == "[3, {'words': 2, 'chars': 3}]\n['-c', 'arg1']\n"
    p = subprocess.run([cloche_bin, "run", "--json", "--mcp-server", CALC_CMD,
                        "-c", "calc.fail(message='no')"], capture_output=True, text=True,
                       timeout=120, env=_cli_env())
    assert p.returncode == 1
    assert json.loads(p.stdout)["exception"]["type"] == "CallbackError"
    p = subprocess.run([cloche_bin, "run", "--timeout", "0.5", "--mcp-server", CALC_CMD,
                        "-c", "while True: pass"], capture_output=True, text=True,
                       timeout=120, env=_cli_env())
    assert p.returncode == 3 and "limit" in p.stderr


def _cli_env() -> dict[str, str]:
    """The command finds cloche-python beside itself when installed; a
    development build (CLOCHE_BIN) is pointed at this interpreter."""
    env = dict(os.environ)
    if not (Path(sys.executable).parent / "cloche-python").exists():
        env["CLOCHE_PYTHON"] = sys.executable
    return env


async def test_shared_servers_across_concurrent_sandboxes(servers: cloche.McpServers) -> None:
    async def one(n: int) -> object:
        async with cloche.Sandbox(mcp_servers=servers) as sb:
            return (await sb.run(f"await calc.add(a={n}, b={n})")).value

    t0 = time.monotonic()
    assert await asyncio.gather(*(one(n) for n in range(4))) == [0, 2, 4, 6]
    assert time.monotonic() - t0 < 1.0
