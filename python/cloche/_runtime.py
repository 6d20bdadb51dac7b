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

import _signal  # type: ignore[import-not-found]  # the C module behind signal
import asyncio
import concurrent.futures
import os
import queue
import signal
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


class _CtrlC:
    """Ctrl-C during ``run_sync`` on the main thread stops the guest.

    The guest runs without the GIL, so Python's SIGINT handler cannot run
    until it returns. While a main-thread run is in progress, the signal
    wakeup fd points at a pipe watched by a daemon thread, which cancels
    the running sandbox; the run then returns at its next epoch tick and
    Python raises KeyboardInterrupt as usual. Only done when SIGINT has
    Python's default handler and no other wakeup fd is set (an event loop
    on the main thread has its own, and is left alone).
    """

    def __init__(self) -> None:
        self._r, self._w = os.pipe()
        os.set_blocking(self._w, False)
        self.current: Any = None
        threading.Thread(target=self._watch, name="cloche-ctrl-c", daemon=True).start()

    def _watch(self) -> None:
        while True:
            if signal.SIGINT in os.read(self._r, 64):
                native = self.current
                if native is not None:
                    native.cancel()

    def arm(self, native: Any) -> bool:
        # _signal.getsignal: signal.getsignal's conversion of the result to
        # an enum cost a third of run_sync's own time (profiled).
        if (threading.current_thread() is not threading.main_thread()
                or _signal.getsignal(signal.SIGINT) is not signal.default_int_handler):
            return False
        old = signal.set_wakeup_fd(self._w)
        if old != -1:
            signal.set_wakeup_fd(old)
            return False
        self.current = native
        return True

    def disarm(self) -> None:
        self.current = None
        signal.set_wakeup_fd(-1)


_ctrl_c: _CtrlC | None = None


def ctrl_c() -> _CtrlC:
    global _ctrl_c
    if _ctrl_c is None:
        with _lock:
            if _ctrl_c is None:
                _ctrl_c = _CtrlC()
    return _ctrl_c
