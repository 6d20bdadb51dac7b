"""``cloche mcp``: a Model Context Protocol server that runs Python in
cloche sandboxes, built on the official ``mcp`` SDK (``MCPServer``).

Tools it serves:

* ``run_python(code, session=None)``: stdout, stderr, the value of the last
  expression and the error, as text for the model (plus the same fields as
  structured content), then the run's images (open matplotlib figures at
  its end, docs/figures.md) as image content. Without a session each call gets a fresh sandbox; a
  named session keeps its globals and its /data files between calls.
* ``reset_session(session)``, ``list_sessions()``.
* ``upload_file(session, path, content, encoding)`` and
  ``download_file(session, path)``: files in the session's /data.

Sessions expire after ``session_idle`` seconds without a call and are
capped at ``max_sessions``. Every reply is cut to ``max_reply`` characters
with a marker saying how much was left out (the head and the tail are
kept); the sandbox's own ``max_output`` cap stops a run that prints more.

Use :func:`build_server` to embed it, or ``cloche mcp`` (``_cli.py``).
Needs the ``mcp`` package: ``pip install 'cloche[mcp]'``.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import mimetypes
import posixpath
import re
import socket
import sys
import time
from dataclasses import dataclass, field
from typing import Any, Literal

from mcp.server.mcpserver import MCPServer
from mcp.types import CallToolResult, ImageContent, TextContent

from . import _errors
from ._result import Image
from ._sandbox import Sandbox
from ._reply import cut_text, describe_sandbox, run_for_model
from .mcp_client import McpServers, McpServerSpec

__all__ = ["ServerConfig", "SessionStore", "build_server", "serve", "cut_text", "parse_http"]

SESSION_RE = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
DATA_DIR = "/data"


@dataclass
class ServerConfig:
    """What ``cloche mcp`` serves.

    ``sandbox`` holds :class:`~cloche.Sandbox` keyword options (limits,
    mounts, packages, network...) used for every sandbox the server makes.
    """

    sandbox: dict[str, Any] = field(default_factory=dict)
    session_idle: float = 600.0
    """Seconds a named session may sit unused before it is closed."""
    max_sessions: int = 16
    """Named sessions alive at once; creating one more is refused."""
    max_reply: int = 20_000
    """Characters of output returned to the model per call (head and tail kept)."""
    mcp_servers: list[McpServerSpec] = field(default_factory=list)
    """MCP servers whose tools sandboxed code may call (code mode)."""
    name: str = "cloche"


# --- sessions -------------------------------------------------------------------


class SessionError(Exception):
    """A session request the server refuses (shown to the model)."""


@dataclass
class _Session:
    name: str
    sandbox: Sandbox
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    created: float = field(default_factory=time.monotonic)
    last_used: float = field(default_factory=time.monotonic)
    runs: int = 0


class SessionStore:
    """Named sandboxes with idle expiry and a cap."""

    def __init__(self, config: ServerConfig, mcp: McpServers | None) -> None:
        self.config = config
        self.mcp = mcp
        self.sessions: dict[str, _Session] = {}

    def new_sandbox(self) -> Sandbox:
        opts = dict(self.config.sandbox)
        if self.mcp is not None:
            opts["mcp_servers"] = self.mcp
        return Sandbox(**opts)

    def expire(self) -> list[str]:
        """Close sessions idle for longer than session_idle; their names."""
        now = time.monotonic()
        gone = [s for s in self.sessions.values()
                if not s.lock.locked() and now - s.last_used > self.config.session_idle]
        for s in gone:
            self.drop(s.name)
        return [s.name for s in gone]

    def get(self, name: str, create: bool = True) -> _Session:
        if not SESSION_RE.match(name):
            raise SessionError("a session name is 1-64 letters, digits, '_', '.' or '-'")
        self.expire()
        s = self.sessions.get(name)
        if s is None:
            if not create:
                raise SessionError(f"no session named {name!r} (see list_sessions)")
            if len(self.sessions) >= self.config.max_sessions:
                raise SessionError(
                    f"too many sessions ({self.config.max_sessions}): reset one with "
                    "reset_session, run without a session, or wait until idle ones "
                    f"expire ({self.config.session_idle:g} s)")
            s = self.sessions[name] = _Session(name, self.new_sandbox())
        s.last_used = time.monotonic()
        return s

    def drop(self, name: str) -> bool:
        s = self.sessions.pop(name, None)
        if s is None:
            return False
        s.sandbox.close()
        return True

    def close(self) -> None:
        for name in list(self.sessions):
            self.drop(name)


# --- the server -------------------------------------------------------------------


def build_server(config: ServerConfig, mcp: McpServers | None = None
                 ) -> tuple[MCPServer, SessionStore]:
    """The MCPServer and its session store (close the store when done)."""
    with Sandbox(**config.sandbox) as probe:  # also checks the options now
        version = str(probe.run_sync("import sys; sys.version.split()[0]").value)
    store = SessionStore(config, mcp)
    about = describe_sandbox(config.sandbox, version, mcp)
    app: MCPServer = MCPServer(
        config.name,
        instructions="Runs Python code in an isolated sandbox (cloche). " + about,
        version=_version(),
        log_level="WARNING",
    )

    def text_result(text: str, error: bool = False,
                    data: dict[str, Any] | None = None) -> CallToolResult:
        return CallToolResult(content=[TextContent(type="text", text=text)],
                              structured_content=data, is_error=error)

    @app.tool(description=(
        "Run Python code in a sandbox and return its stdout, stderr, the value of "
        "the last expression and any error (with traceback); matplotlib figures left "
        "open at the end come back as PNG images. Without `session` the "
        "code runs in a fresh interpreter; with a session name, variables, imports "
        "and files in /data persist between calls of that session (sessions expire "
        f"after {config.session_idle:g} s idle). " + about))
    async def run_python(code: str, session: str | None = None) -> CallToolResult:
        if session is None:
            with store.new_sandbox() as sb:
                text, data, r = await run_for_model(sb, code, config.max_reply)
        else:
            try:
                s = store.get(session)
            except SessionError as e:
                return text_result(str(e), True)
            async with s.lock:
                text, data, r = await run_for_model(s.sandbox, code, config.max_reply)
                s.runs += 1
                s.last_used = time.monotonic()
        if session is not None:
            data["session"] = session
        result = text_result(text, r.outcome != "ok", data)
        result.content.extend(_image_content(r.images))
        return result

    @app.tool(description="Forget a session: its variables and /data files are "
              "dropped; the next run_python with that name starts fresh.")
    async def reset_session(session: str) -> str:
        if store.drop(session):
            return f"session {session!r} reset"
        return f"no session named {session!r}; nothing to reset"

    @app.tool(description="List the live sessions: name, runs, seconds idle, and "
              f"the files in /data. Sessions expire after {config.session_idle:g} s "
              f"idle; at most {config.max_sessions} exist at once.")
    async def list_sessions() -> str:
        store.expire()
        if not store.sessions:
            return "no sessions"
        now = time.monotonic()
        lines = []
        for s in store.sessions.values():
            files = "" if s.lock.locked() else _data_files(s.sandbox)
            lines.append(f"{s.name}: {s.runs} runs, idle {now - s.last_used:.0f} s"
                         + (f", /data: {files}" if files else ""))
        return "\n".join(lines)

    @app.tool(description=(
        "Write a file into a session's /data folder (the session is created if "
        "needed). `path` is relative to /data (or absolute under /data); `content` "
        "is text, or base64 when encoding='base64'."))
    async def upload_file(session: str, path: str, content: str,
                          encoding: Literal["utf-8", "base64"] = "utf-8") -> CallToolResult:
        try:
            target = _data_path(path)
            data = (base64.b64decode(content, validate=True) if encoding == "base64"
                    else content.encode("utf-8"))
            s = store.get(session)
        except (SessionError, ValueError, binascii.Error) as e:
            return text_result(f"upload refused: {e}", True)
        async with s.lock:
            try:
                _make_parents(s.sandbox, target)
                s.sandbox.write_file(target, data)
            except _errors.Error as e:
                return text_result(f"upload failed: {e}", True)
        return text_result(f"wrote {len(data):,} bytes to {target} in session {session!r}")

    @app.tool(description=(
        "Read a file from a session's /data folder. Text comes back as text (cut "
        "if very long), images as images, other bytes as base64."))
    async def download_file(session: str, path: str) -> CallToolResult:
        try:
            target = _data_path(path)
            s = store.get(session, create=False)
        except (SessionError, ValueError) as e:
            return text_result(f"download refused: {e}", True)
        async with s.lock:
            try:
                data = s.sandbox.read_file(target)
            except _errors.Error as e:
                return text_result(f"cannot read {target}: {e}", True)
        mime = mimetypes.guess_type(target)[0] or ""
        if mime.startswith("image/") and len(data) <= config.max_reply * 50:
            return CallToolResult(content=[ImageContent(
                type="image", data=base64.b64encode(data).decode(), mime_type=mime)])
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            encoded = base64.b64encode(data).decode()
            return text_result(cut_text(encoded, config.max_reply, "base64")
                               if len(encoded) > config.max_reply else encoded)
        return text_result(cut_text(text, config.max_reply, "the file"))

    return app, store


def _image_content(images: list[Image]) -> list[ImageContent]:
    """A run's images as MCP image content (already checked and capped by
    libcloche: at most 64, 8 MiB by default)."""
    return [ImageContent(type="image", data=i.to_base64(), mime_type=i.mime)
            for i in images]


def _version() -> str:
    from . import __version__

    return __version__


def _data_path(path: str) -> str:
    """An absolute path under /data, or ValueError."""
    full = posixpath.normpath(posixpath.join(DATA_DIR, path))
    if not full.startswith(DATA_DIR + "/"):
        raise ValueError(f"{path!r} is not a file under {DATA_DIR}")
    return full


def _make_parents(sb: Sandbox, path: str) -> None:
    parent = posixpath.dirname(path)
    if parent != DATA_DIR:
        sb.run_sync(f"__import__('os').makedirs({parent!r}, exist_ok=True)", check=True)


def _data_files(sb: Sandbox, limit: int = 20) -> str:
    try:
        r = sb.run_sync(
            "[_d[6:] + '/' + _n if len(_d) > 5 else _n for _d, _s, _f in "
            "__import__('os').walk('/data') for _n in _f][:%d]" % (limit + 1))
    except _errors.Error:
        return ""
    names = r.value if isinstance(r.value, list) else []
    shown = ", ".join(map(str, names[:limit]))
    return shown + (", ..." if len(names) > limit else "")


# --- running it -------------------------------------------------------------------


def parse_http(spec: str) -> tuple[str, int]:
    """"PORT", ":PORT", "HOST:PORT" or "[V6]:PORT" -> (host, port); the host
    defaults to 127.0.0.1 (loopback)."""
    host, port = "127.0.0.1", spec
    if spec.startswith("["):
        host, _, port = spec[1:].partition("]")
        port = port.lstrip(":")
    elif ":" in spec:
        host, _, port = spec.rpartition(":")
        host = host or "127.0.0.1"
    if not port.isdigit() or int(port) > 65535:
        raise ValueError(f"--http {spec!r}: want [HOST:]PORT")
    return host, int(port)


async def serve(config: ServerConfig, http: tuple[str, int] | None = None) -> None:
    """Serve until stdin closes (stdio) or the process is stopped (HTTP)."""
    mcp = await McpServers(config.mcp_servers).astart() if config.mcp_servers else None
    try:
        app, store = build_server(config, mcp)
        try:
            if http is None:
                await app.run_stdio_async()
            else:
                await _serve_http(app, *http)
        finally:
            store.close()
    finally:
        if mcp is not None:
            await asyncio.get_running_loop().run_in_executor(None, mcp.close)


async def _serve_http(app: MCPServer, host: str, port: int) -> None:
    import uvicorn

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    sock.setblocking(False)
    bound = sock.getsockname()[1]
    shown = f"[{host}]" if family == socket.AF_INET6 else host
    if host not in ("127.0.0.1", "localhost", "::1"):
        print(f"cloche mcp: warning: listening on {host}, not loopback: anyone who can "
              "reach it can run code here (no authentication)", file=sys.stderr)
    print(f"cloche mcp: serving on http://{shown}:{bound}/mcp", file=sys.stderr, flush=True)
    starlette_app = app.streamable_http_app(host=host)
    config = uvicorn.Config(starlette_app, log_level="warning", lifespan="on")
    await uvicorn.Server(config).serve(sockets=[sock])
