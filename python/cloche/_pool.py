"""Pool: sandboxes made ahead of time and reset in the background."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from types import TracebackType
from typing import Any

from . import _runtime
from ._sandbox import Sandbox

__all__ = ["Pool"]


def _warm(sb: Sandbox) -> None:
    """The first-run work done now, as libcloche's own pool does
    (cloche_sandbox_warm: typical runs that leave no trace), so the first
    real run pays no first-run costs: page faults on the image, compiling,
    building a value."""
    sb._native.warm()
    sb._ensure_runner()  # the thread `await sb.run` uses, started now


class Pool:
    """Keeps ``size`` sandboxes (made with ``options``, the same keywords as
    :class:`Sandbox`) instantiated, warmed (first-run work done) and ready,
    so taking one costs no creation. A returned sandbox is reset to a fresh
    interpreter (``files=`` written again) and warmed on a background
    thread before it is handed out again.

    >>> async with cloche.Pool(size=4, timeout=5, tools=[search]) as pool:
    ...     async with pool.sandbox() as sb:
    ...         r = await sb.run("await search('cats')")
    """

    def __init__(self, size: int = 4, **options: Any) -> None:
        if size < 1:
            raise ValueError("size must be at least 1")
        self.size = size
        self.options = options
        self._ready: asyncio.Queue[Sandbox] | None = None
        self._all: list[Sandbox] = []
        self._resets: set[asyncio.Future[None]] = set()
        self._closed = False

    async def __aenter__(self) -> Pool:
        await self.open()
        return self

    async def __aexit__(self, et: type[BaseException] | None,
                        ev: BaseException | None, tb: TracebackType | None) -> None:
        await self.close()

    async def open(self) -> None:
        """Make the sandboxes (in parallel threads). Called by ``async with``
        and, if needed, by the first :meth:`sandbox`."""
        if self._ready is not None:
            return
        self._ready = asyncio.Queue()
        loop = asyncio.get_running_loop()
        made = await asyncio.gather(*(
            loop.run_in_executor(_runtime.run_pool(), self._make)
            for _ in range(self.size)))
        self._all.extend(made)
        for sb in made:
            self._ready.put_nowait(sb)

    @contextlib.asynccontextmanager
    async def sandbox(self) -> AsyncIterator[Sandbox]:
        """Take a ready sandbox for the ``async with`` block (waiting for one
        if all are in use); it is reset and returned to the pool after."""
        if self._closed:
            raise RuntimeError("the pool is closed")
        await self.open()
        assert self._ready is not None
        sb = await self._ready.get()
        try:
            yield sb
        finally:
            self._give_back(sb)

    def _give_back(self, sb: Sandbox) -> None:
        loop = asyncio.get_running_loop()
        ready = self._ready
        assert ready is not None

        def reset() -> None:
            pending = sb.pending
            if pending is not None:
                pending.cancel()
            sb.reset()
            _warm(sb)

        fut = loop.run_in_executor(_runtime.run_pool(), reset)
        self._resets.add(fut)

        def done(f: asyncio.Future[None]) -> None:
            self._resets.discard(f)
            if self._closed:
                return
            if f.cancelled() or f.exception() is not None:
                with contextlib.suppress(Exception):  # replace a broken one
                    sb.close()
                ready.put_nowait(self._replace(sb))
            else:
                ready.put_nowait(sb)

        fut.add_done_callback(done)

    def _make(self) -> Sandbox:
        sb = Sandbox(**self.options)
        _warm(sb)
        return sb

    def _replace(self, old: Sandbox) -> Sandbox:
        new = self._make()
        self._all = [new if s is old else s for s in self._all]
        return new

    @property
    def available(self) -> int:
        """Sandboxes ready to be taken right now."""
        return self._ready.qsize() if self._ready is not None else 0

    async def close(self) -> None:
        """Wait for background resets, then free every sandbox."""
        if self._resets:
            await asyncio.gather(*self._resets, return_exceptions=True)
        self._closed = True
        for sb in self._all:
            with contextlib.suppress(Exception):
                sb.close()
        self._all.clear()
