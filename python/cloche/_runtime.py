"""Threads the package runs work on, made lazily and shared by all sandboxes.

* ``run_pool``: where ``await sb.run()`` drives the guest (the GIL is
  released while the guest runs, so these threads run in parallel).
* ``tool_pool``: where sync tools of a gathered batch run.
* ``tool_loop``: an event loop thread for ``async def`` tools called from a
  blocking run (``run_sync``), which has no event loop of its own.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading

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
