"""pydantic-ai: a toolset whose ``run_python`` tool runs the model's code in
cloche sandboxes (``pip install 'cloche[pydantic-ai]'``).

>>> from pydantic_ai import Agent
>>> from cloche.integrations.pydantic_ai import ClocheToolset
>>> agent = Agent("openai:gpt-5", toolsets=[ClocheToolset(timeout=10, memory="128M")])

Where the code runs (``session=``):

* ``"run"`` (default): one sandbox per agent run, so variables defined by
  one tool call are there for the next call of the same run; closed when
  the run ends.
* ``"call"``: a fresh sandbox for every call.
* ``"toolset"``: one sandbox for everything this toolset runs.
* a function ``(ctx: RunContext) -> key``: one sandbox per key, such as a
  conversation id from ``ctx.deps`` (a session per conversation); at most
  ``max_sessions`` are kept, the least recently used is closed first.

The tool returns text for the model: stdout, stderr, the last expression's
value and the error (traceback, or which limit stopped the run), cut to
``max_reply`` characters with a marker. Host tools (``tools=``) and MCP
servers (``mcp_servers=``) are callable inside the sandbox as in
:class:`cloche.Sandbox`; every other keyword is a Sandbox option.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable
from typing import Any, Literal, Union

from pydantic_ai import RunContext
from pydantic_ai.toolsets import FunctionToolset

from .._reply import describe_sandbox, run_for_model
from .._sandbox import Sandbox
from .._tools import ToolSpec, to_tool
from ..mcp_client import McpServers, McpServerSpec, sandbox_servers

__all__ = ["ClocheToolset"]

SessionMode = Union[Literal["run", "call", "toolset"], Callable[[RunContext[Any]], Hashable]]

_DESCRIPTION = (
    "Run Python code and get back its stdout, stderr, the value of the last "
    "expression and any error with its traceback. ")


class ClocheToolset(FunctionToolset[Any]):
    """A pydantic-ai toolset with one tool, ``run_python(code)``, that runs
    code in cloche sandboxes. See the module docstring for ``session``."""

    def __init__(self, *, session: SessionMode = "run", tool_name: str = "run_python",
                 max_reply: int = 20_000, max_sessions: int = 64,
                 tools: Iterable[ToolSpec] = (),
                 mcp_servers: McpServers | Iterable[McpServerSpec] | None = None,
                 id: str | None = None, **sandbox_options: Any) -> None:
        super().__init__(id=id)
        self.session = session
        self.max_reply = max_reply
        self.max_sessions = max_sessions
        self._mcp: McpServers | None = None
        self._mcp_owned = False
        if mcp_servers is not None:
            self._mcp, self._mcp_owned = sandbox_servers(mcp_servers)
        self._options: dict[str, Any] = dict(sandbox_options, tools=list(tools))
        if self._mcp is not None:
            self._options["mcp_servers"] = self._mcp
        self._boxes: OrderedDict[tuple[Any, ...], tuple[Sandbox, asyncio.Lock]] = OrderedDict()
        self._entered = 0
        with Sandbox(**self._options) as probe:  # checks the options now
            version = str(probe.run_sync("import sys; sys.version.split()[0]").value)
        names = [to_tool(t).name for t in self._options["tools"]]
        about = describe_sandbox(sandbox_options, version, self._mcp)
        if names:
            about += ("\nFunctions of the host callable in the sandbox: "
                      + ", ".join(names) + " (see list_callbacks()).")
        if session == "call":
            about += "\nEvery call starts from a fresh interpreter."
        else:
            about += "\nVariables, imports and /data files persist between calls."

        async def run_python(ctx: RunContext[Any], code: str) -> str:
            """Run Python code in the sandbox.

            Args:
                code: Python source to run; top-level await is allowed.
            """
            return await self._run(ctx, code)

        self.add_function(run_python, name=tool_name, description=_DESCRIPTION + about,
                          takes_ctx=True)

    async def _run(self, ctx: RunContext[Any], code: str) -> str:
        mode = self.session
        if mode == "call":
            with Sandbox(**self._options) as sb:
                return (await run_for_model(sb, code, self.max_reply))[0]
        if mode == "run":
            key: tuple[Any, ...] = ("run", ctx.run_id)
        elif mode == "toolset":
            key = ("toolset",)
        else:
            assert callable(mode)
            key = ("key", mode(ctx))
        sb, lock = self._box(key)
        async with lock:
            return (await run_for_model(sb, code, self.max_reply))[0]

    def _box(self, key: tuple[Any, ...]) -> tuple[Sandbox, asyncio.Lock]:
        entry = self._boxes.get(key)
        if entry is None:
            while len(self._boxes) >= self.max_sessions:
                for old, (sb, lock) in self._boxes.items():
                    if not lock.locked():
                        del self._boxes[old]
                        sb.close()
                        break
                else:
                    break
            entry = self._boxes[key] = (Sandbox(**self._options), asyncio.Lock())
        self._boxes.move_to_end(key)
        return entry

    def sandbox(self, key: Hashable | None = None) -> Sandbox | None:
        """The sandbox of a session (``key`` as ``session(ctx)`` returns it;
        none for ``"toolset"`` mode), if it exists."""
        entry = self._boxes.get(("toolset",) if key is None else ("key", key))
        return entry[0] if entry else None

    def reset(self, key: Hashable | None = None) -> None:
        """Close one session's sandbox (or, without a key, every sandbox)."""
        keys = list(self._boxes) if key is None else [("key", key), ("toolset",)]
        for k in keys:
            entry = self._boxes.pop(k, None)
            if entry is not None:
                entry[0].close()

    async def __aenter__(self) -> ClocheToolset:
        self._entered += 1
        return self

    async def __aexit__(self, *args: Any) -> bool | None:
        self._entered -= 1
        if self._entered == 0:  # the runs are over: their sandboxes go
            for k in [k for k in self._boxes if k[0] == "run"]:
                self._boxes.pop(k)[0].close()
        return None

    def close(self) -> None:
        """Close every sandbox and the MCP servers this toolset started."""
        self.reset()
        if self._mcp is not None and self._mcp_owned:
            self._mcp.close()
