"""Results of runs, output chunks and trace events: plain immutable values."""

from __future__ import annotations

import base64
import json
import os
from dataclasses import dataclass
from typing import Any, Literal

Outcome = Literal["ok", "exception", "limit", "crash", "cancelled"]

_OUTCOMES: tuple[Outcome, ...] = ("ok", "exception", "limit", "crash", "cancelled")
LIMIT_NAMES: tuple[str, ...] = (
    "none",
    "timeout",
    "fuel",
    "memory",
    "stdout",
    "stderr",
    "callbacks",
    "callback_timeout",
    "callback_payload",
    "trace",
    "images",
)
_MISSING: Any = object()


@dataclass(frozen=True)
class ExceptionInfo:
    """An exception raised by the sandboxed code, as text."""

    type: str
    message: str
    traceback: str


@dataclass(frozen=True)
class Image:
    """An image a run returned: an open matplotlib figure at its end, a
    trailing Figure, or what the code passed to ``cloche.show_image``.
    ``data`` passed libcloche's PNG checks but comes from the sandbox:
    decode it with a maintained image library.

    >>> r = cloche.Sandbox().run_sync(code_that_plots)
    >>> r.images[0].save("figure-1.png")
    """

    mime: str
    """"image/png"."""
    data: bytes

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the image's bytes to ``path``."""
        with open(path, "wb") as f:
            f.write(self.data)

    def to_base64(self) -> str:
        """The bytes as base64 text (RFC 4648), as in ``--json``."""
        return base64.b64encode(self.data).decode("ascii")

    def _repr_png_(self) -> bytes:  # notebooks display it
        return self.data

    def __repr__(self) -> str:
        return f"Image({self.mime!r}, {len(self.data)} bytes)"


class Result:
    """What one run produced. Immutable; safe to share between threads.

    >>> r = cloche.Sandbox().run_sync("print('hi'); 6 * 7")
    >>> r.stdout, r.value, r.ok
    ('hi\\n', 42, True)
    """

    __slots__ = (
        "outcome",
        "limit",
        "stdout",
        "stderr",
        "value_repr",
        "value_json",
        "exception",
        "detail",
        "duration",
        "fuel",
        "memory",
        "bytes_cut",
        "images",
        "images_dropped",
        "_value",
    )

    outcome: Outcome
    """"ok", "exception", "limit", "crash" or "cancelled"."""
    limit: str | None
    """Which limit stopped the run (outcome "limit"), else None."""
    stdout: str
    stderr: str
    value_repr: str | None
    """repr() of the trailing expression; None without one (or for None)."""
    value_json: str | None
    """The same value as JSON text, when it is JSON-representable."""
    exception: ExceptionInfo | None
    detail: str | None
    """libcloche's detail for limit and crash outcomes."""
    duration: float
    """Wall-clock seconds the run took (tool waits included)."""
    fuel: int
    """Fuel consumed (0 unless the sandbox has a fuel limit)."""
    memory: int
    """Guest linear memory at the end of the run, in bytes (also the peak)."""
    bytes_cut: int
    """Bytes of value/exception text (and of dropped images) that the caps
    left out."""
    images: list[Image]
    """The run's images, in order: those shown while it ran
    (``cloche.show_image``, ``plt.show()``), then the matplotlib figures
    still open at its end, by number (docs/figures.md). At most 64 and the
    sandbox's ``images`` limit in bytes (8 MiB by default)."""
    images_dropped: int
    """Images left out: over a cap, not a well-formed PNG, or holding a
    secret's value (stderr says which)."""
    _value: Any

    def __init__(self, raw: tuple[Any, ...]) -> None:
        (outcome, limit, stdout, stderr, vrepr, vjson, etype, emsg, tb, detail,
         dur_ns, fuel, memory, cut, images, dropped) = raw
        s = object.__setattr__
        s(self, "outcome", _OUTCOMES[outcome] if 0 <= outcome < 5 else "crash")
        s(self, "limit", LIMIT_NAMES[limit] if 0 < limit < len(LIMIT_NAMES) else None)
        s(self, "stdout", stdout)
        s(self, "stderr", stderr)
        s(self, "value_repr", vrepr)
        s(self, "value_json", vjson)
        s(self, "exception",
          ExceptionInfo(etype, emsg or "", tb or "") if etype is not None else None)
        s(self, "detail", detail)
        s(self, "duration", dur_ns / 1e9)
        s(self, "fuel", fuel)
        s(self, "memory", memory)
        s(self, "bytes_cut", cut)
        s(self, "images", [Image(mime, data) for mime, data in images])
        s(self, "images_dropped", dropped)
        s(self, "_value", _MISSING)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("Result is immutable")

    @property
    def ok(self) -> bool:
        """True when the code ran to the end without an exception."""
        return self.outcome == "ok"

    @property
    def value(self) -> Any:
        """The trailing expression's value: the Python object when it is
        JSON-representable (dict, list, str, int, float, bool), else its
        repr() as a string; None when the code did not end in an expression
        (or it was None)."""
        v = self._value
        if v is _MISSING:
            if self.value_json is not None:
                v = json.loads(self.value_json)
            else:
                v = self.value_repr
            object.__setattr__(self, "_value", v)
        return v

    def to_dict(self) -> dict[str, Any]:
        """The result as a JSON-ready dict (the shape of ``cloche run --json``)."""
        exc = self.exception
        return {
            "outcome": self.outcome,
            "stdout": self.stdout,
            "stderr": self.stderr,
            "value": self.value if self.value_json is not None else None,
            "value_repr": self.value_repr,
            "exception": None if exc is None else {
                "type": exc.type, "message": exc.message, "traceback": exc.traceback},
            "limit": self.limit,
            "detail": self.detail,
            "duration_ms": self.duration * 1000.0,
            "memory": self.memory,
            "fuel": self.fuel,
            "cut": self.bytes_cut,
            "images": [{"mime": i.mime, "base64": i.to_base64()}
                       for i in self.images],
            "images_dropped": self.images_dropped,
        }

    def __repr__(self) -> str:
        parts = [f"outcome={self.outcome!r}"]
        if self.value_repr is not None:
            parts.append(f"value={self.value_repr}")
        if self.exception is not None:
            parts.append(f"exception={self.exception.type}")
        if self.limit:
            parts.append(f"limit={self.limit!r}")
        if self.images:
            parts.append(f"images={len(self.images)}")
        parts.append(f"duration={self.duration * 1000:.2f}ms")
        return f"Result({', '.join(parts)})"


@dataclass(frozen=True)
class Output:
    """A piece of live output: ``stream`` is "stdout" or "stderr"."""

    stream: Literal["stdout", "stderr"]
    text: str


TraceKind = Literal["line", "call", "return", "exception", "cut"]
_TRACE_KINDS: tuple[TraceKind, ...] = ("line", "call", "return", "exception", "cut")


@dataclass(frozen=True)
class TraceEvent:
    """One trace event of user code. ``run`` is the run (1, 2, ...) of the
    sandbox that defined the code; ``name`` is the function (call/return),
    the exception type (exception) or "" (line)."""

    kind: TraceKind
    line: int
    run: int
    name: str

    @classmethod
    def _from_raw(cls, raw: tuple[int, int, int, str]) -> TraceEvent:
        kind, line, run, name = raw
        return cls(_TRACE_KINDS[kind] if 0 <= kind < 5 else "line", line, run, name)
