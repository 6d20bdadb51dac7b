"""An asyncio event loop that works on wasm32-wasip1.

The stock selector loop needs socket.socketpair() for its self-pipe, which
WASI lacks, so asyncio.run() fails out of the box. This loop has no self-pipe
and no selector: there are no threads to wake it and no sockets to wait on.
When nothing is ready it sleeps until the next timer (time.sleep goes to the
host's poll_oneoff, which the host bounds by the run's deadline).
"""

import asyncio
import time
from asyncio import base_events, events


class DeadlockError(RuntimeError):
    """Every task is waiting and nothing can ever wake one of them."""


class _TimerOnlySelector:
    """Stands in for a selector: no file descriptors, only timeouts."""

    def select(self, timeout):
        if timeout is None:
            raise DeadlockError(
                "event loop deadlock: every task is waiting and nothing "
                "can wake them (no timers, no pending host calls)")
        if timeout > 0:
            time.sleep(timeout)
        return []

    def close(self):
        pass


class ClocheEventLoop(base_events.BaseEventLoop):
    """BaseEventLoop with a timer-only 'selector'."""

    def __init__(self):
        super().__init__()
        self._selector = _TimerOnlySelector()

    def _process_events(self, event_list):
        pass

    def _write_to_self(self):
        # Only threads need to wake a sleeping loop; WASI has none.
        pass

    def close(self):
        super().close()

    def step_until(self, task):
        """Run loop iterations until `task` is done; return its result.

        The loop is marked running for the duration so code inside can use
        asyncio.get_running_loop(); it is left idle afterwards, so tasks
        the code created but did not await stay scheduled on this loop.
        """
        self._run_forever_setup()
        try:
            while not task.done():
                self._run_once()
        finally:
            self._run_forever_cleanup()
        return task.result()


class ClocheEventLoopPolicy(events.BaseDefaultEventLoopPolicy):
    _loop_factory = ClocheEventLoop


def install():
    """Make asyncio.run() and new_event_loop() use ClocheEventLoop."""
    asyncio.set_event_loop_policy(ClocheEventLoopPolicy())
