"""cloche: run untrusted Python (3.13, in a WebAssembly sandbox) from Python.

>>> import cloche
>>> with cloche.Sandbox(timeout=5) as sb:
...     sb.run_sync("x = 6 * 7").ok
...     sb.run_sync("x").value
True
42

Everything is asyncio-native (``await sb.run(code)``) with blocking twins
(``sb.run_sync(code)``). See docs/python.md for the guide.
"""

from __future__ import annotations

from . import _native
from ._errors import (
    Busy,
    CallbackLimit,
    Cancelled,
    Crashed,
    EngineError,
    Error,
    FuelExhausted,
    InvalidArgument,
    InvalidState,
    LimitExceeded,
    MemoryLimit,
    NotFound,
    OutputLimit,
    PythonError,
    SandboxError,
    SecretInSnapshot,
    SnapshotError,
    Timeout,
    TooBig,
    Unpicklable,
)
from ._options import Engine, Mount, Network, Secret, parse_size
from ._pool import Pool
from ._result import ExceptionInfo, Image, Output, Result, TraceEvent
from ._sandbox import Pending, Sandbox, ToolCall
from ._tools import Tool, tool
from .mcp_client import McpError, McpServer, McpServers, McpToolError

__version__ = _native.version()
"""libcloche's version (the package's too)."""

__all__ = [
    "Sandbox", "Pool", "Pending", "ToolCall", "Result", "ExceptionInfo", "Image",
    "Output", "TraceEvent", "Tool", "tool", "Network", "Secret", "Mount",
    "Engine", "parse_size",
    "Error", "PythonError", "LimitExceeded", "Timeout", "MemoryLimit",
    "FuelExhausted", "OutputLimit", "CallbackLimit", "Cancelled", "Crashed",
    "SandboxError", "InvalidArgument", "Busy", "InvalidState", "NotFound",
    "TooBig", "SnapshotError", "Unpicklable", "SecretInSnapshot", "EngineError",
    "McpServers", "McpServer", "McpError", "McpToolError",
    "__version__",
]

for _name in __all__:
    _obj = globals()[_name]
    if isinstance(_obj, type):
        _obj.__module__ = "cloche"  # public names read as cloche.X
del _name, _obj
