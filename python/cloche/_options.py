"""Option values: sizes, durations, mounts, network grants, engines."""

from __future__ import annotations

import datetime
import os
import re
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Union

from . import _native

Size = Union[int, str]
"""Bytes as an int, or a string with a unit: "64M", "1.5G", "512k", "2MiB"."""
Duration = Union[int, float, datetime.timedelta]
"""Seconds as a number, or a timedelta."""

_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}
_SIZE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?\s*$", re.IGNORECASE)


def parse_size(value: Size, what: str = "size") -> int:
    """Bytes from an int or a string such as "64M" (binary units: K=1024)."""
    if isinstance(value, bool):
        raise TypeError(f"{what}: expected bytes as int or str, not bool")
    if isinstance(value, int):
        if value < 0:
            raise ValueError(f"{what} must not be negative")
        return value
    if isinstance(value, str):
        m = _SIZE_RE.match(value)
        if not m:
            raise ValueError(f"{what}: cannot read {value!r} as a size (try '64M')")
        return int(float(m.group(1)) * _UNITS[m.group(2).lower()])
    raise TypeError(f"{what}: expected bytes as int or str, not {type(value).__name__}")


def parse_ms(value: Duration, what: str = "timeout") -> int:
    """Milliseconds (at least 1) from seconds or a timedelta."""
    if isinstance(value, datetime.timedelta):
        seconds = value.total_seconds()
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        seconds = float(value)
    else:
        raise TypeError(f"{what}: expected seconds or a timedelta")
    if seconds <= 0:
        raise ValueError(f"{what} must be positive")
    return max(1, round(seconds * 1000))


@dataclass(frozen=True)
class Mount:
    """A host folder or file shown to the guest at ``guest`` (absolute, not
    "/"). Read-only unless ``readonly=False``. The guest never reaches
    outside it: ``..``, absolute paths and links do not lead out."""

    host: str | os.PathLike[str]
    guest: str
    readonly: bool = True

    def _raw(self) -> tuple[str, str, bool]:
        return (os.fspath(self.host), self.guest, self.readonly)


MountSpec = Union[Mount, tuple[str, str], tuple[str, str, bool], str]
"""A Mount, (host, guest[, readonly]) or "host:guest[:rw]"."""


def to_mount(spec: MountSpec) -> Mount:
    if isinstance(spec, Mount):
        return spec
    if isinstance(spec, str):
        parts = spec.split(":")
        if len(parts) == 3 and parts[2] in ("rw", "ro"):
            return Mount(parts[0], parts[1], parts[2] == "ro")
        if len(parts) == 2:
            return Mount(parts[0], parts[1])
        raise ValueError(f"mount {spec!r}: expected 'HOST:GUEST' or 'HOST:GUEST:rw'")
    if isinstance(spec, tuple) and len(spec) in (2, 3):
        return Mount(*spec)
    raise TypeError(f"not a mount: {spec!r}")


def _rule(entry: str) -> tuple[str, int]:
    """"host", "host:port", "[v6]:port", "*.example.com:443" -> (host, port)."""
    if entry.startswith("["):
        host, _, rest = entry[1:].partition("]")
        return host, int(rest[1:]) if rest.startswith(":") else 0
    if entry.count(":") == 1:
        host, port = entry.split(":")
        return host, int(port)
    return entry, 0


@dataclass(frozen=True)
class Secret:
    """A secret the guest can use but never see: it finds a placeholder in
    ``os.environ[name]``; the host swaps in ``value`` only in (TLS) traffic
    to ``hosts`` and scrubs the value from everything coming back."""

    value: str
    hosts: Sequence[str]
    placeholder: str | None = None


@dataclass(frozen=True)
class Network:
    """Network access for a sandbox (off unless given).

    ``allow`` entries are "host", "host:port", "*.domain:port" or IP
    literals; ``private=True`` also allows loopback/private addresses;
    ``secrets`` maps an environment variable name to a :class:`Secret` (or
    to ``(value, hosts)``).

    >>> cloche.Network(allow=["api.github.com:443"],
    ...                secrets={"GH_TOKEN": cloche.Secret(tok, ["api.github.com"])})
    """

    allow: Sequence[str] = ()
    private: bool = False
    secrets: Mapping[str, Secret | tuple[str, Sequence[str]]] = field(default_factory=dict)
    max_connections: int = 0
    max_bytes_out: Size = 0
    max_bytes_in: Size = 0
    connect_timeout: Duration | None = None
    io_timeout: Duration | None = None
    ca_file: str | os.PathLike[str] | None = None
    secrets_allow_plaintext: bool = False

    def _raw(self) -> tuple[Any, ...]:
        secrets = []
        for name, s in self.secrets.items():
            if not isinstance(s, Secret):
                s = Secret(s[0], s[1])
            secrets.append((name, s.value, [_rule(h) for h in s.hosts], s.placeholder))
        return (
            [_rule(a) for a in self.allow],
            self.private,
            self.max_connections,
            parse_size(self.max_bytes_out, "max_bytes_out"),
            parse_size(self.max_bytes_in, "max_bytes_in"),
            parse_ms(self.connect_timeout, "connect_timeout") if self.connect_timeout else 0,
            parse_ms(self.io_timeout, "io_timeout") if self.io_timeout else 0,
            os.fspath(self.ca_file) if self.ca_file is not None else None,
            secrets,
            self.secrets_allow_plaintext,
        )


class Engine:
    """The compiled guest and its worker threads: one per process is
    enough, and cloche makes it for you. Create one yourself only to choose
    the compiled-code cache folder or to share a fuel-enabled engine.

    ``fuel=True`` compiles with fuel metering (needed for ``Sandbox(fuel=)``;
    a little slower). Compiled code is cached per user (``code_cache_dir``,
    else ``$CLOCHE_CODE_CACHE``, ``$XDG_CACHE_HOME/cloche/code`` or
    ``~/.cache/cloche/code``).
    """

    def __init__(self, *, fuel: bool = False,
                 code_cache_dir: str | os.PathLike[str] | None = None) -> None:
        self._native = _native.Engine(
            os.fspath(code_cache_dir) if code_cache_dir is not None else None, fuel)

    @property
    def fuel(self) -> bool:
        """Whether sandboxes of this engine may set a fuel limit."""
        return self._native.fuel


_default_engines: dict[bool, Engine] = {}
_engine_lock = threading.Lock()


def default_engine(fuel: bool) -> Engine:
    """The process-wide engine (one plain, one fuel-metered), made on first use."""
    engine = _default_engines.get(fuel)
    if engine is None:
        with _engine_lock:
            engine = _default_engines.get(fuel)
            if engine is None:
                engine = _default_engines[fuel] = Engine(fuel=fuel)
    return engine
