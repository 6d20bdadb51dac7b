"""An asyncio event loop that works on wasm32-wasip1 and yields to the host.

The stock selector loop needs socket.socketpair() for its self-pipe, which
WASI lacks, so asyncio.run() fails out of the box. This loop has no self-pipe
and no selector: there are no threads to wake it and no sockets to wait on.
When nothing is ready:
- if host callbacks are outstanding, the loop stops and the run returns to
  the host as PENDING (with the time of the next timer, if any); the host
  resumes it with the replies. No wasm frame stays live in between.
- otherwise it sleeps until the next timer (time.sleep goes to the host's
  poll_oneoff, which the host bounds by the run's deadline).
"""

import asyncio
import time
from asyncio import base_events, events

from . import cothreads
from .callbacks import calls


class DeadlockError(RuntimeError):
    """Every task is waiting and nothing can ever wake one of them."""


class NeedHost(Exception):
    """Every task waits; some wait on host callbacks. Carries the timeout
    until the next timer (None: no timer)."""

    def __init__(self, timeout):
        super().__init__(timeout)
        self.timeout = timeout


class _TimerOnlySelector:
    """Stands in for a selector: no file descriptors, only timeouts."""

    def select(self, timeout):
        # Nothing is ready: queued threads (run_in_executor, to_thread) get
        # their turn first, then the loop waits on the host or a timer.
        if timeout != 0 and cothreads.run_one():
            return []
        if timeout != 0 and calls.outstanding():
            raise NeedHost(timeout)
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

    def step(self, task):
        """Run loop iterations until `task` is done or the host is needed.

        Returns (True, None) when the task is done, or (False, timeout) when
        every task waits and some wait on host callbacks. The loop is marked
        running meanwhile so code can use asyncio.get_running_loop(); it is
        left idle afterwards, so tasks the code created but did not await
        stay scheduled on this loop for the next run.
        """
        self._run_forever_setup()
        try:
            while not task.done():
                try:
                    self._run_once()
                except NeedHost as need:
                    return False, need.timeout
        finally:
            self._run_forever_cleanup()
        return True, None


class ClocheEventLoopPolicy(events.BaseDefaultEventLoopPolicy):
    _loop_factory = ClocheEventLoop


def install():
    """Make asyncio.run(), new_event_loop() and asyncio.EventLoop (also
    SelectorEventLoop, DefaultEventLoopPolicy) the loop above."""
    from asyncio import unix_events

    for module in (asyncio, unix_events):
        module.EventLoop = module.SelectorEventLoop = ClocheEventLoop
        module.DefaultEventLoopPolicy = ClocheEventLoopPolicy
    asyncio.set_event_loop_policy(ClocheEventLoopPolicy())
