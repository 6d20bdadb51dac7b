"""ThreadPoolExecutor for the cooperative threads of cothreads.py.

The stock executor keeps worker threads that loop on a work queue; under
run-to-completion threads an idle worker would wait on that queue forever.
Here every submitted call is its own queued thread (named like the stock
executor's workers), so it runs when someone waits: Future.result(),
as_completed(), wait(), map() results, shutdown(wait=True), the asyncio
loop going idle, or the end of the run.
"""

import itertools
import os
import threading
from concurrent.futures import _base

from . import cothreads


class BrokenThreadPool(_base.BrokenExecutor):
    """An initializer failed; the pool takes no more work."""


class ThreadPoolExecutor(_base.Executor):
    _counter = itertools.count().__next__

    def __init__(self, max_workers=None, thread_name_prefix="",
                 initializer=None, initargs=()):
        if max_workers is None:
            max_workers = min(32, (os.process_cpu_count() or 1) + 4)
        if max_workers <= 0:
            raise ValueError("max_workers must be greater than 0")
        if initializer is not None and not callable(initializer):
            raise TypeError("initializer must be a callable")
        self._max_workers = max_workers
        self._thread_name_prefix = (thread_name_prefix or
                                    f"ThreadPoolExecutor-{self._counter()}")
        self._initializer = initializer
        self._initargs = initargs
        self._started_slots = set()
        self._submitted = 0
        self._work_items = []  # (future, thread), in submit order
        self._shutdown = False
        self._broken = False

    def submit(self, fn, /, *args, **kwargs):
        if self._broken:
            raise BrokenThreadPool(self._broken)
        if self._shutdown:
            raise RuntimeError("cannot schedule new futures after shutdown")
        future = _base.Future()
        slot = self._submitted % self._max_workers
        self._submitted += 1
        thread = threading.Thread(
            name=f"{self._thread_name_prefix}_{slot}",
            target=self._work, args=(future, slot, fn, args, kwargs))
        thread.start()
        self._work_items.append((future, thread))
        return future

    submit.__doc__ = _base.Executor.submit.__doc__

    def _initialize(self, slot):
        """Run the initializer once per worker slot; False if it failed."""
        if self._initializer is None or slot in self._started_slots:
            return True
        self._started_slots.add(slot)
        try:
            self._initializer(*self._initargs)
        except BaseException:
            _base.LOGGER.critical("Exception in initializer:", exc_info=True)
            self._broken = ("A thread initializer failed, the thread pool "
                            "is not usable anymore")
            return False
        return True

    def _work(self, future, slot, fn, args, kwargs):
        if not self._initialize(slot):
            future.set_exception(BrokenThreadPool(self._broken))
            return
        if not future.set_running_or_notify_cancel():
            return
        try:
            result = fn(*args, **kwargs)
        except cothreads.ThreadBlocked as stop:
            future.set_exception(cothreads.DeadlockError(str(stop)))
        except BaseException as exc:
            future.set_exception(exc)
        else:
            future.set_result(result)

    def shutdown(self, wait=True, *, cancel_futures=False):
        self._shutdown = True
        items, self._work_items = self._work_items, []
        if cancel_futures:
            for future, _ in items:
                future.cancel()
        if wait:
            for _, thread in items:
                thread.join()

    shutdown.__doc__ = _base.Executor.shutdown.__doc__


def install():
    """Make concurrent.futures.ThreadPoolExecutor this class."""
    import concurrent.futures
    import concurrent.futures.thread as stock

    stock.ThreadPoolExecutor = ThreadPoolExecutor
    stock.BrokenThreadPool = BrokenThreadPool
    concurrent.futures.ThreadPoolExecutor = ThreadPoolExecutor
