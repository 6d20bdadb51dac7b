"""The exception tree. ``cloche.Error`` is the root of everything cloche raises.

Two families:

* what the *sandboxed code* did: :class:`PythonError` (only with
  ``check=True``), the limits (:class:`LimitExceeded` and its subclasses),
  :class:`Cancelled` and :class:`Crashed`. Each carries the
  :class:`~cloche.Result` of the run (output captured so far included).
* what the *host API* refused: :class:`SandboxError` and its subclasses, one
  per libcloche status code (``.code``, ``.status``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import _native

if TYPE_CHECKING:
    from ._result import Result

__all__ = [
    "Error",
    "PythonError",
    "LimitExceeded",
    "Timeout",
    "MemoryLimit",
    "FuelExhausted",
    "OutputLimit",
    "CallbackLimit",
    "Cancelled",
    "Crashed",
    "SandboxError",
    "InvalidArgument",
    "Busy",
    "InvalidState",
    "NotFound",
    "TooBig",
    "SnapshotError",
    "Unpicklable",
    "SecretInSnapshot",
    "EngineError",
]


class Error(Exception):
    """Root of every exception cloche raises."""


# --- what the sandboxed code did ---------------------------------------------


class RunError(Error):
    """A run ended badly; ``result`` holds what it produced until then."""

    def __init__(self, message: str, result: Result) -> None:
        super().__init__(message)
        self.result = result


class PythonError(RunError):
    """The sandboxed code raised (only raised with ``run(..., check=True)``).

    ``type``, ``message`` and ``traceback`` are the guest exception's, as
    text: no host object crosses the boundary.
    """

    def __init__(self, result: Result) -> None:
        exc = result.exception
        assert exc is not None
        super().__init__(f"{exc.type}: {exc.message}", result)
        self.type = exc.type
        self.message = exc.message
        self.traceback = exc.traceback


class LimitExceeded(RunError):
    """A limit stopped the run. ``limit`` names it ("timeout", "memory",
    "fuel", "stdout", "stderr", "callbacks"); ``value`` is the limit that was
    in force (milliseconds, bytes, fuel units or calls); ``detail`` is
    libcloche's description."""

    def __init__(self, result: Result, value: int | None = None) -> None:
        self.limit: str = result.limit or "unknown"
        self.value = value
        self.detail = result.detail or self.limit
        super().__init__(f"{self.limit} limit exceeded: {self.detail}", result)


class Timeout(LimitExceeded):
    """The run took longer than ``timeout`` (wall clock, tool waits included)."""


class MemoryLimit(LimitExceeded):
    """The guest's linear memory would have grown past ``memory``."""


class FuelExhausted(LimitExceeded):
    """The run used all of its ``fuel``."""


class OutputLimit(LimitExceeded):
    """stdout or stderr went past ``max_output`` (``limit`` says which)."""


class CallbackLimit(LimitExceeded):
    """The run made more tool calls than ``max_callbacks`` allows."""


class Cancelled(RunError):
    """The run was stopped by :meth:`Sandbox.cancel` (from any thread).

    Cancelling the *asyncio task* that awaits a run raises
    :class:`asyncio.CancelledError` instead, as asyncio requires; the guest
    is stopped the same way.
    """


class Crashed(RunError):
    """The guest trapped (for example its native stack ran out); the sandbox
    has been reset to a fresh interpreter."""


# --- what the host API refused -------------------------------------------------


class SandboxError(Error):
    """libcloche refused an operation. ``code`` is the negative status code,
    ``status`` its name ("CLOCHE_EBUSY")."""

    def __init__(self, message: str, code: int = 0) -> None:
        super().__init__(message)
        self.code = code
        self.status = _native.status_name(code) if code else ""


class InvalidArgument(SandboxError, ValueError):
    """A bad argument or option (CLOCHE_EINVAL)."""


class Busy(SandboxError):
    """Another thread is using the sandbox (CLOCHE_EBUSY)."""


class InvalidState(SandboxError):
    """Not possible in the sandbox's current state, e.g. a run is pending
    (CLOCHE_ESTATE)."""


class NotFound(SandboxError, FileNotFoundError):
    """A file or path does not exist (CLOCHE_ENOTFOUND)."""


class TooBig(SandboxError):
    """Input over a cap: quota, memory limit, size limit (CLOCHE_ETOOBIG)."""


class SnapshotError(SandboxError):
    """A snapshot cannot be used: not one, truncated, corrupted, from
    another guest build, or failing authentication."""


class Unpicklable(SandboxError):
    """save_state: some globals cannot be pickled (names in the message)."""


class SecretInSnapshot(SnapshotError):
    """The snapshot would contain a secret's value (CLOCHE_ESECRET)."""


class EngineError(SandboxError):
    """The engine, the host or the guest protocol failed (CLOCHE_EENGINE,
    CLOCHE_EGUEST, CLOCHE_EIO, CLOCHE_ENOMEM)."""


_BY_STATUS: dict[int, type[SandboxError]] = {
    -1: InvalidArgument,
    -2: EngineError,
    -3: EngineError,
    -4: EngineError,
    -5: EngineError,
    -6: Busy,
    -7: InvalidState,
    -8: NotFound,
    -9: TooBig,
    -10: SnapshotError,
    -11: SnapshotError,
    -12: SnapshotError,
    -13: SnapshotError,
    -14: SnapshotError,
    -15: Unpicklable,
    -16: SecretInSnapshot,
}

_native.set_errors(dict(_BY_STATUS))
