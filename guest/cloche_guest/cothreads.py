"""Cooperative threads for a guest that has exactly one real thread.

wasm32-wasip1 has no threads, so `_thread.start_new_thread` fails and with
it threading.Thread.start, ThreadPoolExecutor, asyncio.to_thread and
loop.run_in_executor. This module stands in for `_thread` (installed in
sys.modules before `threading` is first imported) and gives those APIs
run-to-completion semantics:

- A started thread is queued, not run. Queued threads run, one at a time and
  each to its end, whenever the running thread would otherwise wait: join(),
  acquiring a held lock (and so Condition, Event, Semaphore, Barrier,
  queue.Queue, Future.result), the asyncio loop having nothing ready, and at
  the end of a run (non-daemon threads, as the interpreter joins them at
  exit).
- A wait that no queued thread can satisfy: with a timeout it sleeps the
  timeout and fails, as it would natively; without one, in the main thread
  it raises DeadlockError, and in a queued thread it stops that thread
  (ThreadBlocked unwinds it; `finally` blocks run). A stopped non-daemon
  thread is reported on stderr; daemon threads stop silently, as they would
  at interpreter exit.

docs/threading.md describes the semantics and their limits.
"""

import collections
import itertools
import sys
import time

import _thread as _real

error = _real.error
TIMEOUT_MAX = _real.TIMEOUT_MAX
_excepthook = _real._excepthook
_ExceptHookArgs = _real._ExceptHookArgs
_is_main_interpreter = _real._is_main_interpreter


class DeadlockError(RuntimeError):
    """The main thread would wait forever: nothing can ever wake it."""


class ThreadBlocked(BaseException):
    """Unwinds a queued thread that would wait forever."""


_MAIN = _real.get_ident()
_idents = itertools.count(_MAIN + 1)
_state = {"current": _MAIN}
_queue = collections.deque()  # _Pending, in start order


class _Pending:
    __slots__ = ("function", "args", "kwargs", "handle", "daemon")

    def __init__(self, function, args, kwargs, handle, daemon):
        self.function = function
        self.args = args
        self.kwargs = kwargs
        self.handle = handle
        self.daemon = daemon


def get_ident():
    return _state["current"]


get_native_id = get_ident


def _get_main_thread_ident():
    return _MAIN


def daemon_threads_allowed():
    return True


def stack_size(size=0):
    if size and size < 32768:
        raise ValueError("size not valid: %d bytes" % size)
    return 0


def _count():
    return len(_queue)


interrupt_main = _real.interrupt_main  # a simulated signal: same thread anyway


def exit():
    raise SystemExit


exit_thread = exit


def _wait_until(ready, timeout, what):
    """Run queued threads until ready() holds; True if it does.

    timeout None waits forever; otherwise, when no queued thread made
    ready() true, sleep `timeout` (nothing else can happen meanwhile) and
    return False.
    """
    while not ready() and _queue:
        _run(_queue.popleft())
    if ready():
        return True
    if timeout is not None:
        if timeout > 0:
            _real_sleep(timeout)
        return False
    message = (f"{what} would wait forever: no other thread can run "
               "(threads in the sandbox run one at a time; "
               "see cloche's docs/threading.md)")
    if _state["current"] == _MAIN:
        raise DeadlockError(message)
    raise ThreadBlocked(message)


class LockType:
    """A non-recursive lock; waiting on it runs queued threads."""

    __slots__ = ("_locked", "__weakref__")

    def __init__(self):
        self._locked = False

    def acquire(self, blocking=True, timeout=-1):
        if not blocking and timeout != -1:
            raise ValueError("can't specify a timeout for a non-blocking call")
        if timeout < 0 and timeout != -1:
            raise ValueError("timeout value must be a non-negative number")
        if not self._locked:
            self._locked = True
            return True
        if not blocking or timeout == 0:
            return False
        wait = None if timeout == -1 else timeout
        if _wait_until(lambda: not self._locked, wait, "acquiring a lock"):
            self._locked = True
            return True
        return False

    def release(self):
        if not self._locked:
            raise RuntimeError("release unlocked lock")
        self._locked = False

    def locked(self):
        return self._locked

    def _at_fork_reinit(self):
        self._locked = False

    def __reduce_ex__(self, protocol):
        raise TypeError("cannot pickle '_thread.lock' object")

    acquire_lock = acquire
    release_lock = release
    locked_lock = locked
    __enter__ = acquire

    def __exit__(self, *exc):
        self.release()

    def __repr__(self):
        state = "locked" if self._locked else "unlocked"
        return f"<{state} _thread.lock object at {id(self):#x}>"


allocate_lock = allocate = LockType


class RLock:
    """A reentrant lock owned by the cooperative thread that took it."""

    __slots__ = ("_owner", "_count", "__weakref__")

    def __init__(self):
        self._owner = None
        self._count = 0

    def acquire(self, blocking=True, timeout=-1):
        me = get_ident()
        if self._owner == me:
            self._count += 1
            return True
        if self._owner is None:
            self._owner, self._count = me, 1
            return True
        if not blocking or timeout == 0:
            return False
        wait = None if timeout < 0 else timeout
        if _wait_until(lambda: self._owner is None, wait, "acquiring a lock"):
            self._owner, self._count = me, 1
            return True
        return False

    def release(self):
        if self._owner != get_ident():
            raise RuntimeError("cannot release un-acquired lock")
        self._count -= 1
        if not self._count:
            self._owner = None

    def locked(self):
        return self._owner is not None

    def _is_owned(self):
        return self._owner == get_ident()

    def _recursion_count(self):
        return self._count if self._owner == get_ident() else 0

    def _release_save(self):
        if self._owner != get_ident():
            raise RuntimeError("cannot release un-acquired lock")
        state = (self._count, self._owner)
        self._owner, self._count = None, 0
        return state

    def _acquire_restore(self, state):
        self.acquire()
        self._count, self._owner = state

    def _at_fork_reinit(self):
        self._owner, self._count = None, 0

    def __reduce_ex__(self, protocol):
        raise TypeError("cannot pickle '_thread.RLock' object")

    __enter__ = acquire

    def __exit__(self, *exc):
        self.release()

    def __repr__(self):
        state = "locked" if self._owner is not None else "unlocked"
        return (f"<{state} _thread.RLock object owner={self._owner or 0} "
                f"count={self._count} at {id(self):#x}>")


class _local:
    """Thread-local attributes: one __dict__ per cooperative thread.

    The instance's __dict__ is switched to the current thread's before every
    attribute access (threads never preempt each other, so no lock). As
    with _thread._local, a subclass's __init__ runs again, with the
    original arguments, the first time another thread touches the object.
    """

    __slots__ = ("_cloche_impl", "__dict__", "__weakref__")

    def __reduce_ex__(self, protocol):
        raise TypeError("cannot pickle '_thread._local' object")

    def __new__(cls, /, *args, **kw):
        if (args or kw) and cls.__init__ is object.__init__:
            raise TypeError("Initialization arguments are not supported")
        self = object.__new__(cls)
        own = object.__getattribute__(self, "__dict__")
        impl = {"args": (args, kw), "dicts": {get_ident(): own}}
        object.__setattr__(self, "_cloche_impl", impl)
        return self

    def __getattribute__(self, name):
        _local_select(self)
        return object.__getattribute__(self, name)

    def __setattr__(self, name, value):
        if name == "__dict__":
            raise AttributeError(
                f"{type(self).__name__!r} object attribute '__dict__' is read-only")
        _local_select(self)
        object.__setattr__(self, name, value)

    def __delattr__(self, name):
        if name == "__dict__":
            raise AttributeError(
                f"{type(self).__name__!r} object attribute '__dict__' is read-only")
        _local_select(self)
        object.__delattr__(self, name)


def _local_select(self):
    impl = object.__getattribute__(self, "_cloche_impl")
    me = get_ident()
    own = impl["dicts"].get(me)
    if own is not None:
        object.__setattr__(self, "__dict__", own)
        return
    own = impl["dicts"][me] = {}
    object.__setattr__(self, "__dict__", own)
    init = type(self).__init__
    if init is not object.__init__:
        args, kw = impl["args"]
        init(self, *args, **kw)


class _ThreadHandle:
    """What threading.Thread joins: done once the thread's function ends."""

    __slots__ = ("ident", "_done")

    def __init__(self):
        self.ident = None
        self._done = False

    def is_done(self):
        return self._done

    def _set_done(self):
        self._done = True

    def join(self, timeout=None):
        if self._done:
            return
        if self.ident == get_ident():
            raise RuntimeError("Cannot join current thread")
        _wait_until(self.is_done, timeout, "joining a thread")


def _make_thread_handle(ident):
    handle = _ThreadHandle()
    handle.ident = ident
    return handle


def _thread_of(function):
    """The threading.Thread a _bootstrap bound method belongs to, if any."""
    owner = getattr(function, "__self__", None)
    threading = sys.modules.get("threading")
    if threading is not None and isinstance(owner, threading.Thread):
        return owner
    return None


def _adopt_thread(thread, ident):
    """Make a queued Thread look started: start() waits for that."""
    thread._ident = ident
    if hasattr(thread, "_native_id"):
        thread._native_id = ident
    run = thread.run

    def run_until_blocked():
        try:
            run()
        except ThreadBlocked as stop:
            if not thread.daemon:
                print(f"cloche: thread {thread.name!r} stopped: {stop}",
                      file=sys.stderr)

    thread.run = run_until_blocked
    thread._started.set()


def start_joinable_thread(function, handle=None, daemon=True):
    handle = _ThreadHandle() if handle is None else handle
    handle.ident = next(_idents)
    thread = _thread_of(function)
    _queue.append(_Pending(function, (), {}, handle, daemon))
    if thread is not None:
        _adopt_thread(thread, handle.ident)
    return handle


def start_new_thread(function, args, kwargs=None):
    if not isinstance(args, tuple):
        raise TypeError("2nd arg must be a tuple")
    if kwargs is not None and not isinstance(kwargs, dict):
        raise TypeError("optional 3rd arg must be a dictionary")
    handle = _ThreadHandle()
    handle.ident = next(_idents)
    _queue.append(_Pending(function, args, kwargs or {}, handle, True))
    return handle.ident


start_new = start_new_thread


def _report_raw_thread_error(function):
    import traceback

    print(f"Exception ignored in thread started by: {function!r}",
          file=sys.stderr)
    traceback.print_exc(file=sys.stderr)


def _run(pending):
    """Run one queued thread to its end, as that thread."""
    events = sys.modules.get("asyncio.events")
    loop = events._get_running_loop() if events else None
    if loop is not None:
        events._set_running_loop(None)  # the loop belongs to another thread
    outer = _state["current"]
    _state["current"] = pending.handle.ident
    try:
        pending.function(*pending.args, **pending.kwargs)
    except (SystemExit, ThreadBlocked):
        pass
    except BaseException:
        _report_raw_thread_error(pending.function)
    finally:
        _state["current"] = outer
        pending.handle._set_done()
        if loop is not None:
            events._set_running_loop(loop)


def run_one():
    """Run the oldest queued thread; False if there was none."""
    if not _queue:
        return False
    _run(_queue.popleft())
    return True


def run_non_daemon():
    """End of a run: run queued non-daemon threads (and what they start)."""
    while _queue:
        pending = next((p for p in _queue if not p.daemon), None)
        if pending is None:
            return
        _queue.remove(pending)
        _run(pending)


def _shutdown():
    run_non_daemon()


_real_sleep = time.sleep


def sleep(seconds):
    """time.sleep that lets queued threads run first: a thread polled with
    `while not done: time.sleep(...)` then makes progress, as in python3.
    Sleeps whatever is left of `seconds` afterwards."""
    if seconds < 0:
        raise ValueError("sleep length must be non-negative")
    start = time.monotonic()
    while _queue:
        _run(_queue.popleft())
    left = seconds - (time.monotonic() - start)
    if left > 0:
        _real_sleep(left)


sleep.__doc__ = _real_sleep.__doc__


def install():
    """Put this module in place of _thread; threading must not be loaded."""
    if "threading" in sys.modules:
        raise RuntimeError("cothreads.install() after threading was imported")
    sys.modules["_thread"] = sys.modules[__name__]
    time.sleep = sleep
