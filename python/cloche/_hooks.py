"""The bridge the native sandbox calls back into: host calls, live output,
trace events. One per Sandbox; it holds no reference to the Sandbox itself
(the native object holds it), so dropping a Sandbox frees it at once.

Where a host call runs (libcloche calls ``_dispatch`` on the thread driving
the run, which must return quickly):

* ``async def`` tool: on the run's event loop (the caller's for ``await
  sb.run``, a private loop thread for ``run_sync``);
* sync tool called from sync guest code (call id 0): right here, inline —
  the guest is blocked on it anyway, and there is no thread hop;
* sync tools of an async batch (id >= 1): collected, then ``_batch`` runs
  a lone call inline and spreads several over the tool thread pool, so
  ``asyncio.gather`` overlaps them;
* in *manual* mode (``Sandbox.start``), async-style calls are kept in
  ``stash`` for the caller to answer (:class:`cloche.Pending`).
"""

from __future__ import annotations

import asyncio
import codecs
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from . import _runtime
from ._result import Output, TraceEvent
from ._tools import Tool, error_message, result_json

if TYPE_CHECKING:
    from . import _native


def run_sync_tool(tool: Tool[Any], call: _native.Call) -> None:
    """Run a plain tool for a call and complete the call (any thread)."""
    try:
        assert tool.fn is not None
        value = tool.fn(**tool.bind(call.args))
        payload = result_json(value)
    except BaseException as exc:  # the guest gets the message, not the object
        call.fail(error_message(exc))
        if not isinstance(exc, Exception):
            raise
        return
    call.return_json(payload)


async def run_async_tool(tool: Tool[Any], call: _native.Call) -> None:
    """Await an async tool for a call and complete the call (loop thread)."""
    try:
        assert tool.fn is not None
        value = await tool.fn(**tool.bind(call.args))
        payload = result_json(value)
    except asyncio.CancelledError:
        call.fail("the tool call was cancelled on the host")
        raise
    except BaseException as exc:
        call.fail(error_message(exc))
        if not isinstance(exc, Exception):
            raise
        return
    call.return_json(payload)


class Hooks:
    def __init__(self, on_output: Callable[[Output], None] | None,
                 on_trace: Callable[[list[TraceEvent]], None] | None) -> None:
        self.tools: dict[str, Tool[Any]] = {}
        self.manual = False
        self.stash: list[_native.Call] = []
        self.deferred: list[tuple[Tool[Any], _native.Call]] = []
        self.loop: asyncio.AbstractEventLoop | None = None
        self.tasks: set[asyncio.Task[None]] = set()
        self.on_output = on_output
        self.on_trace = on_trace
        self.sink: Callable[[Output], None] | None = None
        self._decoders = [codecs.getincrementaldecoder("utf-8")("replace")
                          for _ in range(2)]
        self._decoding = False  # output went through the decoders this run

    # --- per run ---------------------------------------------------------------

    def begin(self, loop: asyncio.AbstractEventLoop | None) -> None:
        self.loop = loop
        if self._decoding:  # a run that never reached end(): drop its bytes
            self._decoding = False
            for d in self._decoders:
                d.reset()

    def end(self) -> None:
        """The run is over: flush split output, stop its leftover tool tasks."""
        if self._decoding:  # most runs stream nothing: skip the decoders
            self._decoding = False
            for fd, d in enumerate(self._decoders, start=1):
                tail = d.decode(b"", final=True)
                if tail:
                    self._emit(fd, tail)
        if self.tasks:
            loop, tasks = self.loop, list(self.tasks)
            if loop is not None and not loop.is_closed():
                for t in tasks:
                    loop.call_soon_threadsafe(t.cancel)

    # --- called by the native sandbox -----------------------------------------

    def _dispatch(self, call: _native.Call) -> bool:
        tool = self.tools.get(call.name)
        if self.manual and call.id != 0:
            self.stash.append(call)
            return False
        if tool is None or tool.fn is None:
            call.fail(f"tool {call.name} has no host implementation here "
                      "(its calls are answered through Sandbox.start)")
            return False
        if tool.is_async:
            self.start_async(tool, call)
            return False
        if call.id == 0:
            run_sync_tool(tool, call)
            return False
        self.deferred.append((tool, call))
        return True

    def _batch(self) -> None:
        batch, self.deferred = self.deferred, []
        if len(batch) == 1:
            run_sync_tool(*batch[0])
            return
        pool = _runtime.tool_pool()
        for tool, call in batch:
            pool.submit(run_sync_tool, tool, call)

    def _output(self, fd: int, data: bytes) -> None:
        self._decoding = True
        text = self._decoders[fd == 2].decode(data)
        if text:
            self._emit(fd, text)

    def _trace(self, raw: list[tuple[int, int, int, str]]) -> None:
        if self.on_trace is not None:
            self.on_trace([TraceEvent._from_raw(r) for r in raw])

    # --- helpers ---------------------------------------------------------------

    def _emit(self, fd: int, text: str) -> None:
        chunk = Output("stderr" if fd == 2 else "stdout", text)
        if self.on_output is not None:
            self.on_output(chunk)
        if self.sink is not None:
            self.sink(chunk)

    def start_async(self, tool: Tool[Any], call: _native.Call) -> None:
        loop = self.loop or _runtime.tool_loop()
        loop.call_soon_threadsafe(self._spawn, loop, tool, call)

    def _spawn(self, loop: asyncio.AbstractEventLoop, tool: Tool[Any],
               call: _native.Call) -> None:
        task = loop.create_task(run_async_tool(tool, call))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    def start_now(self, call: _native.Call) -> None:
        """Run a call's tool outside a step (Pending.finish)."""
        tool = self.tools.get(call.name)
        if tool is None or tool.fn is None:
            call.fail(f"tool {call.name} has no host implementation")
        elif tool.is_async:
            self.start_async(tool, call)
        else:
            _runtime.tool_pool().submit(run_sync_tool, tool, call)
