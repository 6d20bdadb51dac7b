"""Line tracing of user code, for the host (off unless the embedder asks).

Uses sys.monitoring (PEP 669): events fire only for code compiled from a
run (filename "<cloche:N>"); for any other code location the callback
returns DISABLE once and CPython stops reporting it, so stdlib code runs
at full speed. When tracing is off no tool is registered: zero cost.

Events are batched as text lines "K line run name" (K: L line, C call,
R return, E exception) and handed to the host through _cloche.trace.
"""

import sys

import _cloche

_TOOL = 4  # sys.monitoring tool id (0-5); 4 is free by convention
_BATCH = 256
_mon = sys.monitoring
_pending = []
_enabled = False


def _run_of(code):
    name = code.co_filename
    if not name.startswith("<cloche:"):
        return 0
    try:
        return int(name[8:-1])
    except ValueError:
        return 0


def _emit(kind, line, run, name):
    _pending.append(f"{kind} {line} {run} {name}")
    if len(_pending) >= _BATCH:
        flush()


def _on_line(code, line):
    run = _run_of(code)
    if not run:
        return _mon.DISABLE
    _emit("L", line, run, "")


def _on_start(code, offset):
    run = _run_of(code)
    if not run:
        return _mon.DISABLE
    _emit("C", code.co_firstlineno, run, code.co_name)


def _on_return(code, offset, retval):
    run = _run_of(code)
    if not run:
        return _mon.DISABLE
    _emit("R", code.co_firstlineno, run, code.co_name)


def _on_raise(code, offset, exc):
    run = _run_of(code)
    if run:
        line = next((ln for start, end, ln in code.co_lines()
                     if start <= offset < end and ln is not None), 0)
        _emit("E", line, run, type(exc).__name__)


def flush():
    if _pending:
        _cloche.trace("\n".join(_pending).encode("utf-8", "replace"))
        _pending.clear()


def enable(on):
    """Turn tracing on or off (idempotent)."""
    global _enabled
    if on == _enabled:
        return
    E = _mon.events
    if on:
        _mon.use_tool_id(_TOOL, "cloche-trace")
        for event, fn in ((E.LINE, _on_line), (E.PY_START, _on_start),
                          (E.PY_RETURN, _on_return), (E.RAISE, _on_raise)):
            _mon.register_callback(_TOOL, event, fn)
        _mon.set_events(_TOOL, E.LINE | E.PY_START | E.PY_RETURN | E.RAISE)
    else:
        flush()
        _mon.set_events(_TOOL, 0)
        _mon.free_tool_id(_TOOL)
    _enabled = on
