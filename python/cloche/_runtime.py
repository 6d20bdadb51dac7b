"""Threads the package runs work on, made lazily and shared by all sandboxes.

* ``Runner``: each sandbox's own thread, where ``await sb.run()`` drives
  the guest (the GIL is released while the guest runs, so these threads
  run in parallel).
* ``run_pool``: where pools make and reset sandboxes in the background.
* ``tool_pool``: where sync tools of a gathered batch run.
* ``tool_loop``: an event loop thread for ``async def`` tools called from a
  blocking run (``run_sync``), which has no event loop of its own.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import queue
import threading
from collections.abc import Callable
from typing import Any

_lock = threading.Lock()
_run_pool: concurrent.futures.ThreadPoolExecutor | None = None
_tool_pool: concurrent.futures.ThreadPoolExecutor | None = None
_tool_loop: asyncio.AbstractEventLoop | None = None

RUN_THREADS = 256
"""Runs that can be awaited at once; more wait for a free thread."""
TOOL_THREADS = 32
"""Sync tools of gathered batches that run at once."""


def run_pool() -> concurrent.futures.ThreadPoolExecutor:
    global _run_pool
    if _run_pool is None:
        with _lock:
            if _run_pool is None:
                _run_pool = concurrent.futures.ThreadPoolExecutor(
                    RUN_THREADS, thread_name_prefix="cloche-run")
    return _run_pool


def tool_pool() -> concurrent.futures.ThreadPoolExecutor:
    global _tool_pool
    if _tool_pool is None:
        with _lock:
            if _tool_pool is None:
                _tool_pool = concurrent.futures.ThreadPoolExecutor(
                    TOOL_THREADS, thread_name_prefix="cloche-tool")
    return _tool_pool


def tool_loop() -> asyncio.AbstractEventLoop:
    global _tool_loop
    if _tool_loop is None:
        with _lock:
            if _tool_loop is None:
                loop = asyncio.new_event_loop()
                ready = threading.Event()

                def serve() -> None:
                    asyncio.set_event_loop(loop)
                    loop.call_soon(ready.set)
                    loop.run_forever()

                threading.Thread(target=serve, name="cloche-tool-loop",
                                 daemon=True).start()
                ready.wait()
                _tool_loop = loop
    return _tool_loop


class Runner:
    """One sandbox's own thread for awaited steps (``await sb.run``).

    A dedicated thread fed through a SimpleQueue hands work over in about
    half the time a ThreadPoolExecutor takes (no executor future, no
    thread-count bookkeeping), and one sandbox runs one step at a time
    anyway. Results go back with ``loop.call_soon_threadsafe``. The thread
    is a daemon, made on first use, and ends with :meth:`close` (called by
    ``Sandbox.close`` or when the Sandbox is garbage-collected).
    """

    def __init__(self) -> None:
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self.busy = False
        threading.Thread(target=self._serve, name="cloche-run", daemon=True).start()

    def submit(self, loop: asyncio.AbstractEventLoop, fut: asyncio.Future[Any],
               fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
        self.busy = True
        self._queue.put((loop, fut, fn, args))

    def close(self) -> None:
        self._queue.put(None)

    def _serve(self) -> None:
        while (item := self._queue.get()) is not None:
            loop, fut, fn, args = item
            try:
                ok, value = True, fn(*args)
            except BaseException as exc:  # delivered to the awaiting task
                ok, value = False, exc
            self.busy = False
            try:
                loop.call_soon_threadsafe(_deliver, fut, ok, value)
            except RuntimeError:  # the loop is closed: nobody awaits it
                pass


def _deliver(fut: asyncio.Future[Any], ok: bool, value: Any) -> None:
    if fut.cancelled():
        return
    if ok:
        fut.set_result(value)
    else:
        fut.set_exception(value)
