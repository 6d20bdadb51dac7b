"""Runs user code for the host: compile, execute, capture the result.

`run(source)` and `resume(replies)` return a tuple the C glue serializes
for the host:
    (0, value_repr, value_json, None, None, None, images)       finished
    (1, None, None, exc_type, exc_message, traceback, images)   exception
    (2, calls, wake_ns, None, None, None)               pending host calls
Text fields are UTF-8 bytes (lone surrogates backslash-escaped) or None;
`calls` is the batch encoded by callbacks._Calls.take_batch; `wake_ns` is
the time until the next timer in decimal nanoseconds, or None; `images`
the run's figures and shown images (figures.collect), or None. A tuple
without the seventh item (control operations) has no images.
"""

import inspect
import json
import linecache
import os
import random
import sys

import _cloche

from . import callbacks as _callbacks
from . import cothreads as _cothreads
from . import figures as _figures
from . import jsontext as _jsontext
from . import loop as _loop

STATUS_OK = 0
STATUS_EXCEPTION = 1
STATUS_PENDING = 2

# co_filename of runtime frames (the .py path the image was compiled with).
_RUNTIME_DIR = __file__.rpartition("/")[0] + "/"
_LINECACHE_KEEP = 64  # sources of recent runs kept for tracebacks

_main = sys.modules["__main__"]
_state = {"runs": 0, "seeded": False, "loop": None, "task": None}


def _adopt_instance():
    """First run of a new instance: take over what the image froze.

    The interpreter was initialized at build time (Wizer), so the random
    module's state, os.environ and sys.argv are baked into the image and
    would be the same in every sandbox. Reseed from the host CSPRNG and read
    the embedder's environment and arguments afresh from WASI.
    """
    random.seed()
    # numpy's legacy global generator (np.random.rand) was seeded at build
    # time too, when the data-stack guest imported numpy into the image.
    # Its whole MT19937 state (624 words) comes from the host CSPRNG, read
    # by the state setter word by word through a memoryview: no list of 624
    # ints, whose allocation alone dirties image pages a fresh sandbox then
    # copies. Seeding through mtrand.seed() goes through array conversions
    # and ufuncs that cost ~200 us of a fresh sandbox's first run (perf),
    # seed() without an argument (SeedSequence) over a millisecond.
    mtrand = sys.modules.get("numpy.random.mtrand")
    if mtrand is not None:
        key = memoryview(os.urandom(624 * 4)).cast("I")
        mtrand._rand.set_state(("MT19937", key, 624))
    for key in list(os.environ):
        del os.environ[key]
    for item in _cloche.environ():
        key, sep, value = item.partition(b"=")
        if sep and key:
            os.environb[key] = value
    sys.argv = [os.fsdecode(a) for a in _cloche.argv()] or [""]
    _state["seeded"] = True


def _session_loop():
    loop = _state["loop"]
    if loop is None or loop.is_closed():
        loop = _loop.ClocheEventLoop()
        _state["loop"] = loop
    return loop


def _remember_source(filename, source):
    linecache.cache[filename] = (len(source), None, source.splitlines(True),
                                 filename)
    stale = _state["runs"] - _LINECACHE_KEEP
    if stale > 0:
        linecache.cache.pop(f"<cloche:{stale}>", None)


_VALUE = "__cloche_value__"


def _compile(source, filename):
    """Compile the code; a trailing expression's value is stored in _VALUE.

    The code stays one code object, so top-level `await` anywhere makes the
    whole of it async code (which decides how host callbacks behave).
    Returns (code, has_value). The work is done in C (guest/compile.c).
    """
    code, has_value = _cloche.compile(source, filename)
    return code, bool(has_value)


_CO_COROUTINE = inspect.CO_COROUTINE


def _start(code, has_value, namespace):
    """Run sync code to the end, or start async code as the run's task.

    Returns the value of sync code; for async code returns None and leaves
    the task in _state["task"] for _advance().
    """
    if not code.co_flags & _CO_COROUTINE:
        # Plain code runs with no loop running, so asyncio.run() works.
        exec(code, namespace)
        return namespace.pop(_VALUE, None) if has_value else None

    async def main():
        await eval(code, namespace)
        return namespace.pop(_VALUE, None) if has_value else None

    _state["task"] = _session_loop().create_task(main())
    return None


def _abandon_task():
    """Forget a run that will never be resumed (its task is cancelled)."""
    task = _state["task"]
    _state["task"] = None
    _callbacks.calls.abandon()
    if task is not None and not task.done():
        task.cancel()


def _advance():
    """Drive the run's task until it finishes or waits on the host."""
    task = _state["task"]
    try:
        done, wake = _session_loop().step(task)
    except BaseException as exc:  # e.g. DeadlockError from the loop
        _abandon_task()
        images = _figures.collect(None)
        _flush()
        return (*_exception_fields(exc), images)
    if not done:
        _flush()
        wake_ns = None if wake is None else str(int(wake * 1e9)).encode()
        return (STATUS_PENDING, _callbacks.calls.take_batch(), wake_ns,
                None, None, None)
    _state["task"] = None
    try:
        value = task.result()
    except BaseException as exc:
        return _finish_exception(exc)
    return _finish_ok(value)


def _text(value):
    if value is None:
        return None
    return value.encode("utf-8", "backslashreplace")


def _value_fields(value):
    if value is None:
        return None, None
    if type(value) is int:  # the commonest value: its repr is its JSON
        try:
            text = int.__repr__(value).encode()
        except ValueError:  # past the digit limit: as below
            pass
        else:
            return text, text
    try:
        value_repr = repr(value)
    except BaseException as exc:  # a broken __repr__ must not lose the run
        value_repr = f"<repr() failed: {type(exc).__name__}: {exc}>"
    try:
        value_json = _to_json(value)
    except (TypeError, ValueError, RecursionError):
        value_json = None
    return _text(value_repr), _text(value_json)


# The value's JSON as json.dumps(value, allow_nan=False) writes it
# (jsontext.py); bools and strs (and ints, in _value_fields) skip even that
# (a third of a small run's time once went to json.dumps of an int).
_json_str = json.encoder.encode_basestring_ascii


def _to_json(value):
    kind = type(value)  # (an int comes here only past the digit limit)
    if kind is bool:
        return "true" if value else "false"
    if kind is str:
        return _json_str(value)
    return _jsontext.dumps(value)


def _user_traceback(tb):
    """Drop the runtime's own frames from the top of a traceback."""
    while (tb is not None
           and tb.tb_frame.f_code.co_filename.startswith(_RUNTIME_DIR)):
        tb = tb.tb_next
    return tb


def _exception_fields(exc):
    import traceback

    exc.__traceback__ = _user_traceback(exc.__traceback__)
    try:
        message = str(exc)
    except BaseException:
        message = "<str() failed>"
    text = "".join(traceback.format_exception(exc))
    return (STATUS_EXCEPTION, None, None, _text(type(exc).__name__),
            _text(message), _text(text))


def _flush():
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except BaseException:
            pass
    tracing = sys.modules.get("cloche_guest.tracing")
    if tracing is not None:
        tracing.flush()


def _join_threads():
    """End of a run: queued non-daemon threads run now, as the interpreter
    joins them at exit (cothreads.py)."""
    try:
        _cothreads.run_non_daemon()
    except BaseException:  # a broken excepthook must not lose the run
        import traceback

        traceback.print_exc()


def _exit_fields(exc):
    """SystemExit(code) with a nonzero code: no traceback. An int code is the
    message (the CLI exits with it); any other code is the text python3
    would print on stderr (and exit 1)."""
    code = exc.code
    if isinstance(code, int):
        message, text = str(int(code)), ""
    else:
        try:
            message = str(code)
        except BaseException:
            message = "<str() failed>"
        text = message + "\n"
    return (STATUS_EXCEPTION, None, None, b"SystemExit", _text(message),
            _text(text))


def _finish_ok(value):
    """The run finished: threads joined, figures collected, streams flushed."""
    _join_threads()
    images = _figures.collect(value)
    _flush()
    return (STATUS_OK, *_value_fields(value), None, None, None, images)


def _finish_exception(exc):
    """The run raised: its figures still come back, as in a notebook."""
    _join_threads()
    images = _figures.collect(None)
    _flush()
    if isinstance(exc, SystemExit):
        if exc.code in (None, 0):
            return (STATUS_OK, None, None, None, None, None, images)
        return (*_exit_fields(exc), images)
    return (*_exception_fields(exc), images)


def run(source):
    if not _state["seeded"]:
        _adopt_instance()
    if _state["task"] is not None:
        _abandon_task()
    _figures.start_run()
    _state["runs"] += 1
    filename = f"<cloche:{_state['runs']}>"
    try:
        _remember_source(filename, source)
        code, has_value = _compile(source, filename)
        value = _start(code, has_value, _main.__dict__)
    except BaseException as exc:
        return _finish_exception(exc)
    if _state["task"] is not None:
        return _advance()
    return _finish_ok(value)


def resume(replies):
    """Continue a PENDING run with the host's replies."""
    if _state["task"] is None:
        exc = RuntimeError("cloche: resume without a pending run")
        return _exception_fields(exc)
    _callbacks.calls.deliver(replies)
    return _advance()


# Host control operations (cloche_control export): op code -> handler(data)
# returning the bytes for the record's first field (or None).
def _op_configure(data):
    _callbacks.configure(data.decode())


def _op_state_save(data):
    from . import state

    return state.save(skip_unpicklable=data == b"\x01")


def _op_state_load(data):
    from . import state

    return ",".join(state.load(data)).encode()


def _op_clear(data):
    from . import state

    state.clear()


def _op_paths(data):
    """Append package paths (one per line) to sys.path, once each."""
    for path in data.decode().splitlines():
        if path and path not in sys.path:
            sys.path.append(path)


def _op_trace(data):
    from . import tracing

    tracing.enable(data == b"\x01")


def _op_warm(data):
    """A pool readies an instance: the first-run work (adopting the instance,
    faulting in the pages a run touches) is done now; the run leaves no
    trace (run numbers restart, its source is forgotten). An instance that
    has run user code is left alone: restarting its run numbers would give
    its functions' tracebacks another run's source lines."""
    if _state["runs"]:
        return None
    # Runs shaped like typical ones: compile, a loop, a trailing value
    # (repr and JSON), a statement, so those pages are touched before the
    # user's run. A second and third run in a new instance still cost 2x
    # and 1.3x a steady one (measured), so the warm-up does three.
    for code in WARM_RUNS:
        result = run(code)
        if result[0] != STATUS_OK:
            raise RuntimeError("cloche: warm-up run failed")
        linecache.cache.pop(f"<cloche:{_state['runs']}>", None)
    for name in ("__cloche_warm", "__cloche_f"):
        _main.__dict__.pop(name, None)
    _state["runs"] = 0


WARM_RUNS = (
    "__cloche_warm = [str(i) for i in range(10)]\n"
    "{'n': len(__cloche_warm), 'last': __cloche_warm[-1]}",
    "__cloche_warm = 1 + 1\n__cloche_warm",
    "__cloche_warm += 1",
    "def __cloche_f(n):\n    return [i * n for i in range(n)]\n"
    "__cloche_warm = sum(__cloche_f(5))",
)


_OPS = {1: _op_configure, 2: _op_state_save, 3: _op_state_load,
        4: _op_clear, 5: _op_paths, 6: _op_trace, 7: _op_warm}


def control(op, data):
    """Run a host control operation; returns a finished/exception record."""
    handler = _OPS.get(op)
    try:
        if handler is None:
            raise ValueError(f"cloche: unknown control op {op}")
        out = handler(data)
    except BaseException as exc:
        return _exception_fields(exc)
    return (STATUS_OK, out, None, None, None, None)


# Modules agents use most, imported once at build time so every sandbox
# starts with them loaded (the image is shared copy-on-write).
PREIMPORT = (
    "abc argparse array ast asyncio base64 binascii bisect bz2 calendar cmath "
    "codecs collections collections.abc concurrent.futures "
    "concurrent.futures.thread contextlib copy csv dataclasses "
    "datetime decimal difflib enum fnmatch fractions functools gzip hashlib "
    "heapq hmac html html.parser io itertools json keyword linecache locale "
    "math numbers operator os pathlib pickle pprint queue random re secrets "
    "shlex statistics string struct sqlite3 tempfile textwrap time timeit "
    "threading traceback types typing unicodedata urllib.parse uuid warnings "
    "weakref zipfile zlib zoneinfo"
).split()


# Compiled-in packages of the data-stack guest (tools/guest.sh, the
# default; docs/data-stack.md), imported into the image when
# the guest has them, after the thread and network stand-ins are in place.
DATA_PREIMPORT = ("numpy", "pandas", "matplotlib", "matplotlib.pyplot",
                  "matplotlib.backends.backend_agg")


def _import_data_stack():
    import importlib
    import importlib.util

    for name in DATA_PREIMPORT:
        if importlib.util.find_spec(name.partition(".")[0]) is None:
            continue
        if name == "matplotlib":
            _import_matplotlib()
        else:
            importlib.import_module(name)


def _import_matplotlib():
    """Import matplotlib into the image so its font list is built once.

    Its import reads matplotlibrc and scans mpl-data's fonts (served by the
    host, docs/data-stack.md) into font_manager.fontManager, which lives in
    the image from then on; the fontlist JSON it also writes is not needed
    again. Its config and cache folder is /tmp/matplotlib, a path that is
    writable in every sandbox, so no home folder is needed. No figure is
    drawn here: a drawn font keeps a file open, and an image must not hold
    descriptors.
    """
    import importlib
    import os

    os.environ["MPLCONFIGDIR"] = "/tmp/matplotlib"
    try:
        importlib.import_module("matplotlib.font_manager")
    finally:
        del os.environ["MPLCONFIGDIR"]
    import matplotlib.font_manager as fm

    fm._get_font.cache_clear()


# Imported after the socket and ssl shims are in place, so that HTTPS
# support (which http.client decides at import time) is there.
NETWORK_IMPORTS = ("http.client", "urllib.request")


def _install_network():
    from . import netshim, netssl

    netshim.install()
    sys.modules["ssl"] = netssl
    import importlib

    for name in NETWORK_IMPORTS:
        importlib.import_module(name)


def _install_site_builtins():
    """exit, quit, help, copyright, credits and license, as site.py gives
    python3 (site itself is not run: it would look at the host's paths)."""
    import builtins
    import site
    import _sitebuiltins

    class Quitter(_sitebuiltins.Quitter):
        def __call__(self, code=None):
            raise SystemExit(code)  # stdin stays open for the next run

    builtins.exit = Quitter("exit", "Ctrl-D (i.e. EOF)")
    builtins.quit = Quitter("quit", "Ctrl-D (i.e. EOF)")
    site.setcopyright()
    site.sethelper()


def _install_threads():
    """Thread APIs over cothreads.py (see docs/threading.md)."""
    import queue

    from . import coexecutor

    coexecutor.install()
    # The C SimpleQueue would block the only real thread; the pure-Python
    # one waits through cothreads' locks.
    queue.SimpleQueue = queue._PySimpleQueue


def preinit():
    """Called once at build time, before the memory image is taken."""
    import importlib

    for name in PREIMPORT:
        importlib.import_module(name)
    _install_site_builtins()
    _figures.install()
    _install_threads()
    _loop.install()
    _install_network()
    _import_data_stack()
    # Warm the compiler and the code paths a run takes.
    run("__cloche_warm = [i * i for i in range(10)]\n__cloche_warm[-1]")
    run("async def __cloche_a():\n    return 1\nawait __cloche_a()")
    control(1, b"[]")
    for name in ("__cloche_warm", "__cloche_a"):
        _main.__dict__.pop(name, None)
    _state["runs"] = 0
    _state["seeded"] = False
    linecache.clearcache()
    # Everything alive now becomes part of the image; the C glue then makes
    # it immortal (guest/immortal.c). Collect first so no garbage does.
    import gc

    gc.collect()
