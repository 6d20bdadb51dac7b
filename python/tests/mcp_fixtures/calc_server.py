"""A small MCP server for the tests (official SDK, stdio): two tools that
take a while, one that fails, one that reports its environment."""

from __future__ import annotations

import asyncio
import os
import sys
import time

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError

app = MCPServer("calc")


@app.tool()
async def add(a: int, b: int) -> int:
    """Add two integers (takes 0.3 s)."""
    await asyncio.sleep(0.3)
    return a + b


@app.tool(name="word-count")
async def word_count(text: str) -> dict[str, int]:
    """Count the words of a text (takes 0.3 s)."""
    await asyncio.sleep(0.3)
    return {"words": len(text.split()), "chars": len(text)}


@app.tool()
def fail(message: str) -> str:
    """Always fails with the message."""
    raise ToolError(message)


@app.tool()
def secret_length() -> int:
    """Length of the server's CALC_TOKEN (the token stays on the host)."""
    return len(os.environ.get("CALC_TOKEN", ""))


@app.tool()
def now() -> float:
    """The server's clock."""
    return time.time()


if __name__ == "__main__":
    if "--http" in sys.argv:
        app.run("streamable-http", host="127.0.0.1", port=int(sys.argv[-1]))
    else:
        app.run()
