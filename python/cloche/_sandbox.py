"""Sandbox: a persistent, isolated Python interpreter, asyncio-native with
sync twins (``run`` / ``run_sync``)."""

from __future__ import annotations

import asyncio
import datetime
import json
import os
import weakref
from collections.abc import AsyncGenerator, Callable, Iterable, Mapping
from types import MappingProxyType, TracebackType
from typing import TYPE_CHECKING, Any, TypeVar, Union

from . import _errors, _native, _runtime
from ._hooks import Hooks
from ._options import (Duration, Engine, MountSpec, Network, Size, default_engine,
                       parse_ms, parse_size, to_mount)
from ._result import LIMIT_NAMES, Output, Result, TraceEvent
from ._tools import Tool, ToolSpec, result_json, to_tool

if TYPE_CHECKING:
    from .mcp_client import McpServers, McpServerSpec

__all__ = ["Sandbox", "Pending", "ToolCall"]

T = TypeVar("T")
SandboxT = TypeVar("SandboxT", bound="Sandbox")
Code = Union[str, bytes]

_LIMIT_ERRORS: dict[str, type[_errors.LimitExceeded]] = {
    "timeout": _errors.Timeout,
    "memory": _errors.MemoryLimit,
    "fuel": _errors.FuelExhausted,
    "stdout": _errors.OutputLimit,
    "stderr": _errors.OutputLimit,
    "callbacks": _errors.CallbackLimit,
}
_END = object()


class Sandbox:
    """A persistent, isolated Python 3.13 interpreter (globals survive runs).

    All options are keyword-only and optional::

        async with cloche.Sandbox(timeout=5, memory="128M", tools=[lookup]) as sb:
            r = await sb.run("x = await lookup('a')\\nx * 2")
            print(r.value)

    Limits: ``timeout`` (seconds, per run, tool waits included), ``memory``
    (guest memory, "64M"), ``fuel`` (wasm instructions, roughly; needs a
    fuel-metered engine, chosen for you), ``max_output`` (bytes of stdout
    and of stderr per run; ``max_stderr`` sets stderr apart),
    ``max_callbacks``, ``callback_timeout``, ``callback_payload``. Each
    tripped limit raises its own :class:`~cloche.LimitExceeded` subclass.
    ``max_images`` caps the bytes of a run's images (``Result.images``,
    8M by default): images over it are left out, the run goes on.

    Files: ``files`` ({guest path: bytes or str}) are written at creation
    and after every :meth:`reset`; ``mounts`` show host folders or files
    (read-only by default); ``packages`` (.whl, .zip or folders) go on
    ``sys.path``; ``data_dir`` ("/data") and /tmp are writable, within
    ``disk_quota`` bytes and ``max_files`` entries; ``max_open_files``
    caps host files open at once through mounts (64).

    Environment: ``env`` (os.environ inside), ``argv`` (sys.argv),
    ``fixed_clock`` (a datetime or Unix seconds: reproducible time),
    ``network`` (a :class:`~cloche.Network` grant; off by default).

    Observing: ``on_output(chunk: Output)`` gets output live, on the thread
    running the sandbox; ``on_trace(events: list[TraceEvent])`` turns on
    line tracing of user code.

    A sandbox is used by one run at a time; many sandboxes run in parallel
    (in threads or as concurrent tasks), the guest never holding the GIL.
    """

    def __init__(
        self,
        *,
        timeout: Duration | None = None,
        memory: Size | None = None,
        fuel: int | None = None,
        max_output: Size | None = None,
        max_stderr: Size | None = None,
        tools: Iterable[ToolSpec] = (),
        mounts: Iterable[MountSpec] = (),
        packages: Iterable[str | os.PathLike[str]] = (),
        network: Network | None = None,
        env: Mapping[str, str] | None = None,
        files: Mapping[str, bytes | str] | None = None,
        argv: Iterable[str] = (),
        data_dir: str | None = None,
        disk_quota: Size | None = None,
        max_files: int | None = None,
        max_open_files: int | None = None,
        fixed_clock: datetime.datetime | float | None = None,
        max_callbacks: int | None = None,
        callback_timeout: Duration | None = None,
        callback_payload: Size | None = None,
        max_images: Size | None = None,
        on_output: Callable[[Output], None] | None = None,
        on_trace: Callable[[list[TraceEvent]], None] | None = None,
        engine: Engine | None = None,
        mcp_servers: McpServers | Iterable[McpServerSpec] | None = None,
    ) -> None:
        tool_list = [to_tool(t) for t in tools]
        self._mcp: McpServers | None = None  # code mode (mcp_client.py)
        self._mcp_owned = False
        if mcp_servers is not None:
            from .mcp_client import sandbox_servers
            self._mcp, self._mcp_owned = sandbox_servers(mcp_servers)
        self._options: dict[str, Any] = dict(
            timeout=timeout, memory=memory, fuel=fuel, max_output=max_output,
            max_stderr=max_stderr, tools=tool_list, mounts=list(mounts),
            packages=list(packages), network=network, env=env, files=files,
            argv=list(argv), data_dir=data_dir, disk_quota=disk_quota,
            max_files=max_files, max_open_files=max_open_files,
            fixed_clock=fixed_clock,
            max_callbacks=max_callbacks, callback_timeout=callback_timeout,
            callback_payload=callback_payload, max_images=max_images,
            on_output=on_output,
            on_trace=on_trace, engine=engine, mcp_servers=self._mcp)
        if engine is None:
            engine = default_engine(fuel is not None)
        elif fuel is not None and not engine.fuel:
            raise _errors.InvalidArgument("fuel needs an Engine(fuel=True)", -1)
        out_cap = parse_size(max_output, "max_output") if max_output is not None else 0
        err_cap = parse_size(max_stderr, "max_stderr") if max_stderr is not None else out_cap
        if isinstance(fixed_clock, datetime.datetime):
            clock_ns = int(fixed_clock.timestamp() * 1e9)
        else:
            clock_ns = int(fixed_clock * 1e9) if fixed_clock is not None else 0
        self._hooks = Hooks(on_output, on_trace)
        self._runner: _runtime.Runner | None = None
        self._finalizer: weakref.finalize[Any, Any] | None = None
        self._files = {p: d.encode() if isinstance(d, str) else bytes(d)
                       for p, d in (files or {}).items()}
        self._native = _native.Sandbox(
            engine._native, self._hooks,
            timeout_ms=parse_ms(timeout) if timeout is not None else 0,
            fuel=int(fuel) if fuel is not None else 0,
            memory=parse_size(memory, "memory") if memory is not None else 0,
            stdout_limit=out_cap, stderr_limit=err_cap, fixed_clock_ns=clock_ns,
            env=[f"{k}={v}" for k, v in (env or {}).items()],
            argv=list(argv), data_dir=data_dir,
            vfs_quota=parse_size(disk_quota, "disk_quota") if disk_quota is not None else 0,
            vfs_max_files=max_files or 0, trace=on_trace is not None,
            mounts=[to_mount(m)._raw() for m in mounts],
            network=network._raw() if network is not None else None,
            max_open_host_files=max_open_files or 0)
        self._native.set_output(on_output is not None)
        if max_callbacks is not None:
            self.limit("callbacks", max_callbacks)
        if callback_timeout is not None:
            self.limit("callback_timeout", parse_ms(callback_timeout, "callback_timeout"))
        if callback_payload is not None:
            self.limit("callback_payload", parse_size(callback_payload, "callback_payload"))
        if max_images is not None:
            self.limit("images", parse_size(max_images, "max_images"))
        for t in tool_list + (self._mcp.tools if self._mcp is not None else []):
            self.add_tool(t)
        for p in packages:
            self.add_package(p)
        self._put_files()

    # --- context managers ------------------------------------------------------

    def __enter__(self: SandboxT) -> SandboxT:
        return self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    async def __aenter__(self: SandboxT) -> SandboxT:
        return self

    async def __aexit__(self, et: type[BaseException] | None,
                        ev: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        """Free the sandbox now (it is also freed when garbage-collected);
        MCP servers it started itself are stopped."""
        self._native.close()
        if self._finalizer is not None:
            self._finalizer()  # ends the runner thread
        if self._mcp is not None and self._mcp_owned:
            self._mcp.close()

    @property
    def closed(self) -> bool:
        return self._native.closed

    # --- running ----------------------------------------------------------------

    async def run(self, code: Code, *, check: bool = False) -> Result:
        """Run code (top-level ``await`` allowed) and return its Result.

        An exception in the code is data in the Result unless ``check=True``
        (then :class:`~cloche.PythonError`); a tripped limit raises its
        :class:`~cloche.LimitExceeded` subclass; :meth:`cancel` raises
        :class:`~cloche.Cancelled`. Cancelling the awaiting task stops the
        guest promptly and leaves the sandbox usable.
        """
        return self._result(await self._in_thread(self._native.run, code), check)

    def run_sync(self, code: Code, *, check: bool = False) -> Result:
        """Blocking twin of :meth:`run` (runs on the calling thread, GIL
        released). On the main thread, Ctrl-C stops the guest and raises
        KeyboardInterrupt; the sandbox stays usable."""
        self._hooks.begin(None)
        ctrl_c = _runtime.ctrl_c()
        armed = ctrl_c.arm(self._native)
        try:
            raw = self._native.run(code)
        finally:
            if armed:
                ctrl_c.disarm()
            self._hooks.end()
        return self._result(raw, check)

    async def stream(self, code: Code, *, check: bool = False
                     ) -> AsyncGenerator[Output | Result, None]:
        """Run code, yielding :class:`~cloche.Output` chunks as the code
        writes them, and finally the :class:`~cloche.Result`.

        >>> async for item in sb.stream("for i in range(3): print(i)"):
        ...     print(item)
        """
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[Any] = asyncio.Queue()

        def sink(chunk: Output) -> None:
            loop.call_soon_threadsafe(queue.put_nowait, chunk)

        self._hooks.sink = sink
        self._native.set_output(True)
        task = loop.create_task(self.run(code, check=check))
        task.add_done_callback(lambda _: queue.put_nowait(_END))
        try:
            while (item := await queue.get()) is not _END:
                yield item
            yield task.result()
        finally:
            if not task.done():
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
            self._hooks.sink = None
            self._native.set_output(self._hooks.on_output is not None)

    def cancel(self) -> None:
        """Stop the current run from any thread; it raises
        :class:`~cloche.Cancelled`. No effect when nothing runs."""
        self._native.cancel()

    # --- durable runs -----------------------------------------------------------

    async def start(self, code: Code) -> Result | Pending:
        """Start a run whose tool calls *you* answer: returns the Result, or
        a :class:`Pending` listing the calls the code is waiting on (async
        style: ``await tool(...)``; sync-style calls still run the tool).

        While pending no guest code is live: :meth:`Pending.snapshot` can be
        stored and resumed hours later in another process.
        """
        self._hooks.manual = True
        try:
            raw = await self._in_thread(self._native.start, code)
        except BaseException:
            self._hooks.manual = False
            raise
        return await self._settle(raw)

    def start_sync(self, code: Code) -> Result | Pending:
        """Blocking twin of :meth:`start`."""
        self._hooks.manual = True
        self._hooks.begin(None)
        try:
            raw = self._native.start(code)
        except BaseException:
            self._hooks.manual = False
            raise
        return self._settle_sync(raw)

    @property
    def pending(self) -> Pending | None:
        """The pending run (after :meth:`start` or :meth:`restore` of a
        pending snapshot), or None."""
        return Pending(self) if self._native.is_pending() else None

    async def _settle(self, raw: tuple[Any, ...] | None) -> Result | Pending:
        while raw is None:
            if self._outstanding():
                return Pending(self)
            raw = await self._in_thread(self._wait_resume)
        self._hooks.manual = False
        return self._result(raw, False)

    def _settle_sync(self, raw: tuple[Any, ...] | None) -> Result | Pending:
        while raw is None:
            if self._outstanding():
                return Pending(self)
            raw = self._wait_resume()
        self._hooks.manual = False
        self._hooks.end()
        return self._result(raw, False)

    def _wait_resume(self) -> tuple[Any, ...] | None:
        self._native.wait()
        return self._native.resume()

    def _outstanding(self) -> list[_native.Call]:
        stash = self._hooks.stash
        stash[:] = [c for c in stash if not c.done]
        return stash

    # --- sessions and snapshots ------------------------------------------------

    def reset(self) -> None:
        """Back to a fresh interpreter (microseconds: copy-on-write image),
        with the ``files=`` given at creation written again. Tools,
        packages, mounts and limits stay."""
        self._native.reset()
        self._put_files()

    def clear(self) -> None:
        """Delete the session's user globals (imports included); files,
        the module cache and running tasks stay."""
        self._native.clear()

    def save_state(self, *, skip_unpicklable: bool = False) -> bytes:
        """The session's user globals, pickled (functions and classes defined
        in the session by value): portable to any cloche with the same
        Python minor version. Unpicklable globals raise
        :class:`~cloche.Unpicklable` unless ``skip_unpicklable``."""
        flags = _native.STATE_SKIP_UNPICKLABLE if skip_unpicklable else 0
        return self._native.state_save(flags)

    def load_state(self, data: bytes) -> None:
        """Restore globals saved by :meth:`save_state` into this session."""
        self._native.state_restore(bytes(data))

    def snapshot(self, *, key: bytes | None = None, compression: int = 0) -> bytes:
        """The whole sandbox as bytes (memory, files, a pending run and its
        calls): restore it with :meth:`Sandbox.restore`, any number of
        times. ``key`` signs it (HMAC-SHA-256) instead of a checksum."""
        return self._native.snapshot_save(key, compression)

    @classmethod
    def restore(cls: type[SandboxT], data: bytes, *, key: bytes | None = None,
                **options: Any) -> SandboxT:
        """A new sandbox (made with ``options``, tools included: they are
        host code, not state) holding the snapshot's state. A pending
        snapshot comes back pending: see :attr:`pending`."""
        sb = cls(**options)
        sb._restore(data, key)
        return sb

    def _restore(self, data: bytes, key: bytes | None) -> None:
        self._hooks.manual = True
        try:
            self._native.snapshot_restore(bytes(data), key)
        finally:
            self._hooks.manual = self._native.is_pending()

    def fork(self, **overrides: Any) -> Sandbox:
        """A new, independent sandbox with this one's options (or
        ``overrides``) and its current state."""
        return type(self).restore(self.snapshot(), **{**self._options, **overrides})

    # --- tools, files, limits --------------------------------------------------

    def add_tool(self, tool: ToolSpec) -> Tool[Any]:
        """Expose a tool (a :class:`~cloche.Tool` or a plain function) from
        the next run on; a tool of the same name is replaced."""
        t = to_tool(tool)
        timeout = parse_ms(t.timeout, "tool timeout") if t.timeout else 0
        self._native.add_callback(t.name, t.description, t._schema_json, timeout)
        self._hooks.tools[t.name] = t
        if t not in self._options["tools"]:
            self._options["tools"] = [*self._options["tools"], t]
        return t

    @property
    def tools(self) -> Mapping[str, Tool[Any]]:
        return MappingProxyType(self._hooks.tools)

    def add_package(self, path: str | os.PathLike[str]) -> None:
        """Put a pure-Python package (.whl, .zip or folder) on ``sys.path``
        from the next run on; it survives resets."""
        self._native.add_package(os.fspath(path))

    def write_file(self, path: str, data: bytes | str) -> None:
        """Write a file into the sandbox's in-memory filesystem (folders are
        made as needed; counts against ``disk_quota``)."""
        self._native.write_file(path, data.encode() if isinstance(data, str) else bytes(data))

    def read_file(self, path: str) -> bytes:
        """Read a file out of the sandbox (:class:`~cloche.NotFound` if absent)."""
        return self._native.read_file(path)

    def limit(self, name: str, value: int | None = None) -> int:
        """Read (and with ``value``, change from the next run on) a limit in
        libcloche's units: "timeout" (ms), "fuel", "memory" (bytes),
        "stdout", "stderr", "callbacks", "callback_timeout" (ms),
        "callback_payload", "trace", "images" (bytes of a run's images).
        Returns the previous value."""
        try:
            which = LIMIT_NAMES.index(name)
        except ValueError:
            raise _errors.InvalidArgument(f"unknown limit {name!r}", -1) from None
        prev = self._native.limit(which, -1 if value is None else int(value))
        if prev < 0:
            raise _errors.InvalidArgument(f"limit {name!r} cannot be set here", -1)
        return prev

    # --- internals ---------------------------------------------------------------

    def _put_files(self) -> None:
        for path, data in self._files.items():
            self._native.write_file(path, data)

    async def _in_thread(self, fn: Callable[..., T], *args: Any) -> T:
        """Run a blocking native step on this sandbox's runner thread,
        awaiting it. If the awaiting task is cancelled, stop the guest and
        wait for the step to return (so the sandbox is free again) before
        re-raising."""
        loop = asyncio.get_running_loop()
        runner = self._ensure_runner()
        if runner.busy:
            raise _errors.Busy("the sandbox is running another call", -6)
        self._hooks.begin(loop)
        fut: asyncio.Future[T] = loop.create_future()
        runner.submit(loop, fut, fn, args)
        try:
            return await fut
        except asyncio.CancelledError:
            await self._stop(loop, runner)
            raise
        finally:
            self._hooks.end()

    def _ensure_runner(self) -> _runtime.Runner:
        runner = self._runner
        if runner is None:
            runner = self._runner = _runtime.Runner()
            self._finalizer = weakref.finalize(self, runner.close)
        return runner

    async def _stop(self, loop: asyncio.AbstractEventLoop, runner: _runtime.Runner) -> None:
        after: asyncio.Future[None] = loop.create_future()
        runner.submit(loop, after, _noop, ())  # done once the step has returned
        while not after.done():
            self._native.cancel()
            try:
                await asyncio.wait([after], timeout=0.005)
            except asyncio.CancelledError:
                continue
        if self._native.is_pending():  # a started run: end it too
            self._native.cancel()
            self._native.resume()
            self._hooks.manual = False

    def _result(self, raw: tuple[Any, ...], check: bool) -> Result:
        r = Result(raw)
        if r.outcome == "ok":
            return r
        if r.outcome == "exception":
            if check:
                raise _errors.PythonError(r)
            return r
        if r.outcome == "limit":
            cls = _LIMIT_ERRORS.get(r.limit or "", _errors.LimitExceeded)
            value = None
            if r.limit in LIMIT_NAMES and not self.closed:
                value = self._native.limit(LIMIT_NAMES.index(r.limit), -1)
            raise cls(r, value)
        if r.outcome == "cancelled":
            raise _errors.Cancelled("the run was cancelled", r)
        raise _errors.Crashed(f"the guest crashed: {r.detail}", r)


def _noop() -> None:
    pass


class ToolCall:
    """One call a pending run waits on: answer it with :meth:`answer` or
    :meth:`fail` (any thread), then :meth:`Pending.resume`."""

    def __init__(self, call: _native.Call, tool: Tool[Any] | None) -> None:
        self._call = call
        self.tool = tool
        self.name: str = call.name
        self.id: int = call.id
        self._args: dict[str, Any] | None = None

    @property
    def args(self) -> dict[str, Any]:
        """The arguments as the guest sent them (a JSON object)."""
        if self._args is None:
            loaded = json.loads(self._call.args)
            self._args = loaded if isinstance(loaded, dict) else {}
        return self._args

    @property
    def done(self) -> bool:
        return self._call.done

    def answer(self, value: Any) -> None:
        """Complete the call with a JSON-representable value."""
        self._call.return_json(result_json(value))

    def fail(self, message: str) -> None:
        """Complete the call with an error: CallbackError(message) in the guest."""
        self._call.fail(message)

    def __repr__(self) -> str:
        return f"ToolCall(id={self.id}, name={self.name!r}, args={self._call.args})"


class Pending:
    """A started run waiting on tool calls you answer (see
    :meth:`Sandbox.start`). No guest code is live while it waits.

    >>> step = await sb.start(code)
    >>> while isinstance(step, cloche.Pending):
    ...     step = await step.resume({c.id: answer(c) for c in step.calls})
    >>> step.value
    """

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        tools = sandbox._hooks.tools
        self.calls: list[ToolCall] = [ToolCall(c, tools.get(c.name))
                                      for c in sandbox._outstanding()]

    def __repr__(self) -> str:
        return f"Pending(calls={self.calls!r})"

    def _answer(self, answers: Mapping[int, Any] | None,
                errors: Mapping[int, str] | None) -> None:
        by_id = {c.id: c for c in self.calls}
        for cid, value in (answers or {}).items():
            if cid not in by_id:
                raise KeyError(f"no pending call with id {cid}")
            by_id[cid].answer(value)
        for cid, message in (errors or {}).items():
            if cid not in by_id:
                raise KeyError(f"no pending call with id {cid}")
            by_id[cid].fail(message)

    async def resume(self, answers: Mapping[int, Any] | None = None, *,
                     errors: Mapping[int, str] | None = None) -> Result | Pending:
        """Answer calls by id (``answers``: values; ``errors``: messages
        raised as CallbackError) and continue the run until it finishes or
        waits again. Calls left unanswered stay pending."""
        self._answer(answers, errors)
        sb = self.sandbox
        return await sb._settle(await sb._in_thread(sb._native.resume))

    def resume_sync(self, answers: Mapping[int, Any] | None = None, *,
                    errors: Mapping[int, str] | None = None) -> Result | Pending:
        """Blocking twin of :meth:`resume`."""
        self._answer(answers, errors)
        sb = self.sandbox
        sb._hooks.begin(None)
        return sb._settle_sync(sb._native.resume())

    async def finish(self) -> Result:
        """Answer every outstanding call (and later ones) by running the
        registered tools, and drive the run to its end."""
        sb = self.sandbox
        sb._hooks.loop = asyncio.get_running_loop()
        self._auto()
        return sb._result(await sb._in_thread(sb._native.drive), False)

    def finish_sync(self) -> Result:
        """Blocking twin of :meth:`finish`."""
        sb = self.sandbox
        sb._hooks.begin(None)
        self._auto()
        try:
            raw = sb._native.drive()
        finally:
            sb._hooks.end()
        return sb._result(raw, False)

    def _auto(self) -> None:
        hooks = self.sandbox._hooks
        hooks.manual = False
        for call in self.sandbox._outstanding():
            hooks.start_now(call)
        hooks.stash.clear()

    def snapshot(self, *, key: bytes | None = None, compression: int = 0) -> bytes:
        """The sandbox with this pending run, as bytes (see
        :meth:`Sandbox.snapshot`)."""
        return self.sandbox.snapshot(key=key, compression=compression)

    def cancel(self) -> None:
        """Abandon the run; the sandbox is free for new runs."""
        sb = self.sandbox
        sb._native.cancel()
        sb._native.resume()
        sb._hooks.manual = False
        sb._hooks.stash.clear()
