"""MCP tools inside the sandbox ("code mode").

The host starts MCP servers (or connects to them over streamable HTTP),
lists their tools and registers each one as a cloche tool named
``<server>.<tool>``, so sandboxed code calls them as functions::

    async with cloche.McpServers(["calc=python calc_server.py"]) as servers:
        async with cloche.Sandbox(mcp_servers=servers) as sb:
            r = await sb.run("await asyncio.gather(calc.add(a=1, b=2), calc.add(a=3, b=4))")

or simply ``cloche.Sandbox(mcp_servers=["python calc_server.py"])``, which
starts the servers itself and stops them on ``close()``.

How it fits together:

* The MCP connections live on one private event-loop thread (the "hub"):
  the SDK's client is anyio-based and a connection must be opened and
  closed by the same task, while sandboxes call tools from whatever loop or
  thread drives their run. Each tool call is handed to the hub with
  ``run_coroutine_threadsafe``; calls gathered in the sandbox are in flight
  on the hub together, so they reach the servers concurrently.
* Only tool names, descriptions, schemas and results cross into the
  sandbox. The servers run on the host with the host's environment (their
  credentials included); the sandbox sees none of it, and reaches no
  server it was not given.
* A result becomes a Python value: the tool's structured content when it
  has one (unwrapped from the SDK's ``{"result": ...}`` wrapper), else its
  text (one text block: a str; several blocks: a list). A result flagged
  ``isError`` raises ``CallbackError`` in the sandbox with its text.

Needs the ``mcp`` package: ``pip install 'cloche[mcp]'``.
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import keyword
import os
import re
import shlex
import threading
import weakref
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import TYPE_CHECKING, Any, Union

from ._errors import Error
from ._tools import Tool

if TYPE_CHECKING:
    from mcp import Client

__all__ = ["McpServer", "McpServers", "McpError", "McpToolError", "McpServerSpec"]

_NAME_RE = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)=(.+)$", re.DOTALL)


class McpError(Error):
    """An MCP server could not be started, connected to or listed."""


class McpToolError(Exception):
    """An MCP tool answered with an error (``isError``); the guest sees
    ``CallbackError("McpToolError: <the tool's text>")``."""


@dataclass(frozen=True)
class McpServer:
    """One MCP server for code mode.

    ``command`` is a command line ("npx -y some-server --flag", split like a
    shell would, without running one) or an argv list; ``url`` instead
    connects to a running server over streamable HTTP. ``name`` is the
    namespace of its tools inside the sandbox (default: the name the server
    reports, else the command's base name). The process inherits this
    process's environment plus ``env``, in ``cwd``.

    A string spec given to ``Sandbox(mcp_servers=...)`` or ``--mcp-server``
    may start with ``NAME=``: ``"fs=npx -y @modelcontextprotocol/server-filesystem /tmp"``.
    """

    command: str | Sequence[str] = ()
    name: str | None = None
    env: Mapping[str, str] = field(default_factory=dict)
    cwd: str | os.PathLike[str] | None = None
    url: str | None = None

    @classmethod
    def parse(cls, spec: str) -> McpServer:
        """``"[NAME=]CMD ARGS"`` or ``"[NAME=]http(s)://host/mcp"``."""
        name = None
        m = _NAME_RE.match(spec.strip())
        if m:
            name, spec = m.group(1), m.group(2)
        spec = spec.strip()
        if spec.startswith(("http://", "https://")):
            return cls(name=name, url=spec)
        if not shlex.split(spec):
            raise ValueError(f"empty MCP server command: {spec!r}")
        return cls(spec, name=name)

    def argv(self) -> list[str]:
        argv = shlex.split(self.command) if isinstance(self.command, str) else list(self.command)
        if not argv and self.url is None:
            raise ValueError("an McpServer needs a command or a url")
        return argv

    def label(self) -> str:
        """How the server is named in messages."""
        if self.name:
            return self.name
        return self.url or " ".join(self.argv())


McpServerSpec = Union[McpServer, str, Sequence[str]]
"""An :class:`McpServer`, a ``"[NAME=]CMD ARGS"`` string or an argv list."""


def to_server(spec: McpServerSpec) -> McpServer:
    if isinstance(spec, McpServer):
        return spec
    if isinstance(spec, str):
        return McpServer.parse(spec)
    return McpServer(list(spec))


def identifier(text: str) -> str:
    """A Python identifier made from a server or tool name."""
    ident = re.sub(r"\W", "_", text, flags=re.ASCII).strip("_") or "tool"
    if ident[0].isdigit():
        ident = "_" + ident
    if keyword.iskeyword(ident):
        ident += "_"
    return ident


def _wrapped(schema: dict[str, Any] | None) -> bool:
    """The SDK wraps a non-object return value as {"result": value}."""
    if not schema:
        return False
    props = schema.get("properties")
    return isinstance(props, dict) and list(props) == ["result"] and \
        schema.get("required") == ["result"]


def _content_value(block: Any) -> Any:
    kind = getattr(block, "type", None)
    if kind == "text":
        return block.text
    if kind in ("image", "audio"):
        return {"type": kind, "mime_type": block.mime_type, "data": block.data}
    if kind == "resource":
        res = block.resource
        out = {"type": "resource", "uri": str(res.uri), "mime_type": res.mime_type}
        out.update({"text": res.text} if hasattr(res, "text") else {"blob": res.blob})
        return out
    if kind == "resource_link":
        return {"type": "resource_link", "uri": str(block.uri), "name": block.name}
    return block.model_dump(mode="json", by_alias=True, exclude_none=True)


def result_value(result: Any, output_schema: dict[str, Any] | None) -> Any:
    """A CallToolResult as the value the sandboxed code receives."""
    if result.is_error:
        text = "\n".join(str(_content_value(b)) for b in result.content)
        raise McpToolError(text or "the tool failed")
    structured = result.structured_content
    if structured is not None:
        if _wrapped(output_schema) and isinstance(structured, dict) and \
                list(structured) == ["result"]:
            return structured["result"]
        return structured
    values = [_content_value(b) for b in result.content]
    if not values:
        return None
    return values[0] if len(values) == 1 else values


def _describe(tool: Any) -> str:
    """The tool's description, with its result's shape when it declares one."""
    text = (tool.description or tool.title or "").strip()
    schema = tool.output_schema
    if schema:
        import json

        shape = schema["properties"]["result"] if _wrapped(schema) else schema
        shape = {k: v for k, v in shape.items() if k != "title"}
        text += ("\n\n" if text else "") + "Returns: " + json.dumps(shape)
    return text


class _Hub:
    """The event-loop thread that owns every MCP connection of a McpServers."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        ready = threading.Event()

        def serve() -> None:
            asyncio.set_event_loop(self.loop)
            self.loop.call_soon(ready.set)
            self.loop.run_forever()
            self.loop.close()

        self.thread = threading.Thread(target=serve, name="cloche-mcp", daemon=True)
        self.thread.start()
        ready.wait()

    def submit(self, coro: Any) -> concurrent.futures.Future[Any]:
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def stop(self) -> None:
        if self.loop.is_running():
            self.loop.call_soon_threadsafe(self.loop.stop)
        if threading.current_thread() is not self.thread:
            self.thread.join(5)


class _Connection:
    """One connected server: its client, listed tools and namespace."""

    def __init__(self, server: McpServer) -> None:
        self.server = server
        self.client: Client | None = None
        self.namespace = ""
        self.tools: list[Any] = []
        self.closing: asyncio.Event | None = None
        self.task: asyncio.Task[None] | None = None

    async def run(self, ready: asyncio.Future[None], timeout: float) -> None:
        """Open the connection, list tools, then hold it open until closing."""
        from mcp import Client, StdioServerParameters

        self.closing = asyncio.Event()
        srv = self.server
        target: Any
        if srv.url is not None:
            target = srv.url
        else:
            argv = srv.argv()
            env = dict(os.environ)
            env.update(srv.env)
            target = StdioServerParameters(command=argv[0], args=argv[1:], env=env,
                                           cwd=os.fspath(srv.cwd) if srv.cwd else None)
        try:
            async with Client(target) as client:
                with _deadline(timeout):
                    self.tools = await _list_all(client)
                self.client = client
                info = client.server_info
                self.namespace = identifier(srv.name or (info.name if info and info.name else "")
                                            or _base_name(srv))
                ready.set_result(None)
                await self.closing.wait()
        except BaseException as exc:
            if not ready.done():
                ready.set_exception(exc)
            elif not isinstance(exc, (asyncio.CancelledError, Exception)):
                raise
        finally:
            self.client = None


def _base_name(srv: McpServer) -> str:
    if srv.url is not None:
        return "mcp"
    argv = srv.argv()
    # "npx -y @scope/server-foo" / "uvx mcp-server-foo" / "python srv.py": the
    # last argument that does not look like a flag names it best.
    words = [a for a in argv if not a.startswith("-")]
    word = words[-1] if len(words) > 1 and os.path.basename(argv[0]) in (
        "npx", "uvx", "python", "python3", "node", "deno", "bunx", "pipx") else argv[0]
    return os.path.splitext(os.path.basename(word.rstrip("/")))[0]


class _deadline:
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def __enter__(self) -> None:
        import anyio

        self._scope = anyio.fail_after(self.seconds)
        self._scope.__enter__()

    def __exit__(self, *exc: Any) -> Any:
        return self._scope.__exit__(*exc)


async def _list_all(client: Client) -> list[Any]:
    tools: list[Any] = []
    cursor = None
    for _ in range(100):  # a server whose pages never end cannot hang us
        page = await client.list_tools(cursor=cursor)
        tools.extend(page.tools)
        cursor = page.next_cursor
        if cursor is None:
            break
    return tools


_open_hubs: weakref.WeakSet[McpServers] = weakref.WeakSet()


@atexit.register
def _close_all() -> None:
    for servers in list(_open_hubs):
        servers.close()


class McpServers:
    """Connections to MCP servers whose tools sandboxes can call.

    Start them once and share them between sandboxes
    (``Sandbox(mcp_servers=servers)``), or let a sandbox start its own from
    specs (``Sandbox(mcp_servers=["CMD ARGS"])``). Each MCP tool ``t`` of a
    server named ``ns`` becomes the cloche tool ``ns.t`` (names made into
    Python identifiers), with the tool's description (plus its result
    schema) and input schema; ``list_callbacks()`` shows them in the
    sandbox.

    >>> with cloche.McpServers(["calc=python calc_server.py"]) as servers:
    ...     print([t.name for t in servers.tools])     # ['calc.add', ...]

    ``timeout``: seconds to start and list each server (default 30).
    """

    def __init__(self, servers: Iterable[McpServerSpec], *, timeout: float = 30.0) -> None:
        self.servers = [to_server(s) for s in servers]
        self.timeout = timeout
        self._hub: _Hub | None = None
        self._conns: list[_Connection] = []
        self._tools: list[Tool[Any]] = []
        self._lock = threading.Lock()

    # --- lifecycle ----------------------------------------------------------------

    def start(self) -> McpServers:
        """Start (connect to) every server and list its tools; blocking.
        Raises :class:`McpError` naming the server that failed."""
        with self._lock:
            if self._hub is not None:
                return self
            self._hub = _Hub()
            _open_hubs.add(self)
            try:
                self._hub.submit(self._connect_all()).result()
            except BaseException:
                self._close_locked()
                raise
        return self

    async def astart(self) -> McpServers:
        """:meth:`start` without blocking the caller's event loop."""
        await asyncio.get_running_loop().run_in_executor(None, self.start)
        return self

    async def _connect_all(self) -> None:
        conns = [_Connection(s) for s in self.servers]
        loop = asyncio.get_running_loop()
        readies = []
        for conn in conns:
            ready: asyncio.Future[None] = loop.create_future()
            conn.task = loop.create_task(conn.run(ready, self.timeout))
            readies.append(ready)
        self._conns = conns
        results = await asyncio.gather(*readies, return_exceptions=True)
        for conn, res in zip(conns, results):
            if isinstance(res, BaseException):
                raise McpError(f"MCP server {conn.server.label()!r} failed to start: "
                               f"{_describe_exc(res)}") from res
        self._tools = self._make_tools(conns)

    def _make_tools(self, conns: list[_Connection]) -> list[Tool[Any]]:
        tools: list[Tool[Any]] = []
        used: set[str] = set()
        for conn in conns:
            ns = conn.namespace
            n = 2
            while ns in used:
                ns, n = f"{conn.namespace}_{n}", n + 1
            conn.namespace = ns
            used.add(ns)
            names: set[str] = set()
            for mt in conn.tools:
                short = identifier(mt.name)
                while short in names:
                    short += "_"
                names.add(short)
                tools.append(self._tool(conn, mt, f"{ns}.{short}"))
        return tools

    def _tool(self, conn: _Connection, mt: Any, name: str) -> Tool[Any]:
        hub = self._hub
        assert hub is not None
        remote, out_schema = mt.name, mt.output_schema

        async def call(**kwargs: Any) -> Any:
            client = conn.client
            if client is None:
                raise McpError(f"MCP server {conn.server.label()!r} is not connected")
            cf = hub.submit(client.call_tool(remote, kwargs))
            try:
                result = await asyncio.wrap_future(cf)
            except asyncio.CancelledError:
                cf.cancel()
                raise
            return result_value(result, out_schema)

        schema = dict(mt.input_schema or {"type": "object"})
        schema.pop("title", None)
        return Tool(call, name=name, description=_describe(mt), schema=schema)

    def close(self) -> None:
        """Stop the servers (closing their connections); idempotent."""
        with self._lock:
            self._close_locked()

    def _close_locked(self) -> None:
        hub, self._hub = self._hub, None
        if hub is None:
            return
        _open_hubs.discard(self)

        async def shut() -> None:
            for conn in self._conns:
                if conn.closing is not None:
                    conn.closing.set()
            tasks = [c.task for c in self._conns if c.task is not None]
            if tasks:
                _, slow = await asyncio.wait(tasks, timeout=5)
                for t in slow:
                    t.cancel()
                if slow:
                    await asyncio.wait(slow, timeout=2)

        if hub.loop.is_running():
            try:
                hub.submit(shut()).result(10)
            except Exception:
                pass
        hub.stop()
        self._conns = []

    @property
    def started(self) -> bool:
        return self._hub is not None

    # --- what sandboxes use -----------------------------------------------------

    @property
    def tools(self) -> list[Tool[Any]]:
        """The servers' tools as cloche tools (after :meth:`start`)."""
        if self._hub is None:
            raise McpError("McpServers not started (use start() or a with block)")
        return list(self._tools)

    def namespaces(self) -> dict[str, list[str]]:
        """{namespace: [tool names]} of the connected servers."""
        out: dict[str, list[str]] = {}
        for t in self._tools:
            ns, _, short = t.name.partition(".")
            out.setdefault(ns, []).append(short)
        return out

    def __enter__(self) -> McpServers:
        return self.start()

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    async def __aenter__(self) -> McpServers:
        return await self.astart()

    async def __aexit__(self, et: type[BaseException] | None,
                        ev: BaseException | None, tb: TracebackType | None) -> None:
        await asyncio.get_running_loop().run_in_executor(None, self.close)

    def __repr__(self) -> str:
        state = "started" if self.started else "stopped"
        return f"<cloche.McpServers {[s.label() for s in self.servers]} {state}>"


def _describe_exc(exc: BaseException) -> str:
    inner = getattr(exc, "exceptions", None)  # anyio task groups wrap errors
    if isinstance(inner, (list, tuple)) and inner:
        return "; ".join(_describe_exc(e) for e in inner)
    if isinstance(exc, TimeoutError):
        return "no answer in time"
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def sandbox_servers(spec: McpServers | Iterable[McpServerSpec]) -> tuple[McpServers, bool]:
    """The McpServers a Sandbox uses, and whether the sandbox owns it."""
    if isinstance(spec, McpServers):
        if not spec.started:
            spec.start()
        return spec, False
    if isinstance(spec, (str, McpServer)):
        spec = [spec]
    return McpServers(spec).start(), True
