"""Results of runs as text for a model: output cut to a budget with a
marker saying what was left out, limits explained, and a description of
the sandbox for tool descriptions. Shared by ``cloche mcp`` and the agent
framework integrations; no dependency beyond the package."""

from __future__ import annotations

import posixpath
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from . import _errors
from ._result import Result

if TYPE_CHECKING:
    from ._sandbox import Sandbox
    from .mcp_client import McpServers

__all__ = ["cut_text", "render", "describe_sandbox", "run_for_model", "run_for_model_sync"]



def cut_text(text: str, limit: int, what: str = "output") -> str:
    """``text`` if it fits in ``limit`` characters, else its head and tail
    around a marker saying how many characters were cut."""
    if len(text) <= limit:
        return text
    marker = (f"\n[cloche: {len(text) - limit:,} characters of {what} cut here; "
              f"it had {len(text):,}. Print less, or write it to a file in /data "
              "and read the part you need]\n")
    keep = max(limit - len(marker), 0)
    head = keep * 2 // 3
    tail = keep - head
    return text[:head] + marker + (text[len(text) - tail:] if tail else "")


def _share(lengths: list[int], budget: int) -> list[int]:
    """Split a budget fairly: sections shorter than an equal share keep
    their length, the rest split what remains."""
    caps = [0] * len(lengths)
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    left, n = budget, len(lengths)
    for k, i in enumerate(order):
        share = left // (n - k)
        caps[i] = min(lengths[i], share)
        left -= caps[i]
    return caps


def _limit_note(r: Result, value: int | None) -> str:
    limit = r.limit or "a"
    if limit == "timeout" and value:
        shown = f"the time limit ({value / 1000:g} s)"
    elif limit == "memory" and value:
        shown = f"the memory limit ({value // (1 << 20)} MiB)"
    elif limit in ("stdout", "stderr") and value:
        shown = f"the {limit} limit ({value:,} bytes)"
    else:
        shown = f"the {limit} limit"
    note = f"the run was stopped: it went past {shown}"
    if limit not in ("stdout", "stderr"):
        note += "; the interpreter was reset, so the session's variables are gone"
    return note


def render(r: Result, limit_value: int | None, max_reply: int) -> tuple[str, dict[str, Any]]:
    """A run's result as text for the model and as structured content."""
    error = None
    if r.exception is not None:
        error = r.exception.traceback or f"{r.exception.type}: {r.exception.message}"
    elif r.outcome == "limit":
        error = _limit_note(r, limit_value)
    elif r.outcome in ("crash", "cancelled"):
        error = f"the run {'crashed' if r.outcome == 'crash' else 'was cancelled'}: {r.detail or ''}"
        if r.outcome == "crash":
            error += "; the interpreter was reset, so the session's variables are gone"
    sections = [("stdout", r.stdout), ("stderr", r.stderr),
                ("value", r.value_repr or ""), ("error", error or "")]
    sections = [(k, v) for k, v in sections if v]
    headers = sum(len(k) + 4 for k, _ in sections)  # "[key]\n" and the line break
    caps = _share([len(v) for _, v in sections], max(max_reply - headers, 0))
    parts: list[str] = []
    data: dict[str, Any] = {}
    for (key, text), cap in zip(sections, caps):
        text = cut_text(text, cap, key)
        data[key] = text
        parts.append(f"[{key}]\n{text.rstrip(chr(10))}")
    if r.images:  # the images themselves travel beside the text (MCP)
        n = len(r.images)
        parts.append(f"[images]\n{n} image{'s' if n > 1 else ''} (PNG) returned")
        data["images"] = n
    data["outcome"] = r.outcome
    if r.limit:
        data["limit"] = r.limit
    data["duration_ms"] = round(r.duration * 1000, 2)
    return ("\n".join(parts) if parts else "[no output]"), data


def describe_sandbox(opts: Mapping[str, Any], version: str, mcp: McpServers | None) -> str:
    """What a model should know about the sandbox it is given (Python
    version, what is there and what is not, limits, doors, tools)."""
    lines = [
        f"The sandbox is CPython {version} (WebAssembly, WASI) with the full standard "
        "library (json, re, math, statistics, datetime, zoneinfo, csv, sqlite3, zlib, "
        "decimal, fractions, itertools, asyncio...). No pip; third-party packages only "
        "if listed here. No subprocesses, no signals; threads run cooperatively.",
        "Top-level `await` works. The value of the last expression is returned, "
        "like in a notebook.",
        "/data and /tmp are writable (in memory, per session); nothing of the host is "
        "visible unless listed here.",
    ]
    limits = []
    if opts.get("timeout"):
        limits.append(f"{opts['timeout']:g} s per call")
    else:
        limits.append("30 s per call")
    limits.append(f"memory {opts.get('memory') or '256M'}")
    limits.append(f"output {opts.get('max_output') or '1M'} per stream")
    lines.append("Limits: " + ", ".join(limits) + ".")
    mounts = opts.get("mounts") or []
    if mounts:
        from ._options import to_mount

        shown = [f"{m.guest} ({'read-only' if m.readonly else 'writable'})"
                 for m in map(to_mount, mounts)]
        lines.append("Host folders: " + ", ".join(shown) + ".")
    packages = opts.get("packages") or []
    if packages:
        names = [posixpath.basename(str(p).rstrip("/")).split("-")[0] for p in packages]
        lines.append("Extra packages importable: " + ", ".join(names) + ".")
    net = opts.get("network")
    if net is not None and net.allow:
        lines.append("Network: only " + ", ".join(net.allow) + " (urllib.request, "
                     "http.client, socket, ssl).")
        if net.secrets:
            lines.append("Secrets (placeholders in os.environ, usable only toward their "
                         "hosts): " + ", ".join(net.secrets) + ".")
    else:
        lines.append("No network access.")
    if mcp is not None:
        spaces = mcp.namespaces()
        listed = "; ".join(f"{ns}.{{{', '.join(names)}}}" for ns, names in spaces.items())
        lines.append(
            "Tools callable as Python functions inside the sandbox (keyword arguments; "
            "`await` them and use asyncio.gather to run several at once, or call them "
            "plainly from sync code): " + listed + ". `list_callbacks()` gives each "
            "one's description and JSON schema; a failing tool raises CallbackError. "
            "Prefer one script that calls several tools and prints only what you need.")
    return "\n".join(lines)


async def run_for_model(sb: Sandbox, code: str, max_reply: int) -> tuple[str, dict[str, Any], Result]:
    """Run code and render the outcome for a model: a tripped limit, a
    cancel or a crash is part of the text, not an exception."""
    try:
        r, value = await sb.run(code), None
    except _errors.LimitExceeded as e:
        r, value = e.result, e.value
    except (_errors.Cancelled, _errors.Crashed) as e:
        r, value = e.result, None
    text, data = render(r, value, max_reply)
    return text, data, r


def run_for_model_sync(sb: Sandbox, code: str, max_reply: int) -> tuple[str, dict[str, Any], Result]:
    """Blocking twin of :func:`run_for_model`."""
    try:
        r, value = sb.run_sync(code), None
    except _errors.LimitExceeded as e:
        r, value = e.result, e.value
    except (_errors.Cancelled, _errors.Crashed) as e:
        r, value = e.result, None
    text, data = render(r, value, max_reply)
    return text, data, r
