"""The Python half of the ``cloche`` command: ``cloche mcp`` and
``cloche run --mcp-server ...``.

The ``cloche`` program itself is the C CLI (cli/); it hands these two
commands to this module (installed as the ``cloche-python`` script, see
cli/pyexec.c and docs/mcp.md) because they need the MCP SDK, which is a
Python library. Flags keep the names and meanings of ``cloche run``'s.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import os
import sys
from collections.abc import Sequence
from typing import Any

EXIT_OK, EXIT_EXCEPTION, EXIT_USAGE, EXIT_LIMIT, EXIT_INTERNAL = 0, 1, 2, 3, 4


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # "cloche run: ..." and exit 2, like the C CLI
        self.exit(EXIT_USAGE, f"{self.prog}: {message}\n(see {self.prog} --help)\n")


def _common(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("limits (as in cloche run)")
    g.add_argument("--timeout", metavar="SECONDS", type=float,
                   help="wall-clock limit per run (default 30)")
    g.add_argument("--memory", metavar="SIZE", help="guest memory limit, e.g. 64M (default 256M)")
    g.add_argument("--fuel", metavar="N", type=int, help="instruction budget (fuel metering)")
    g.add_argument("--max-output", metavar="SIZE",
                   help="cap on stdout and on stderr each (default 1M)")
    g.add_argument("--max-images", metavar="SIZE",
                   help="cap on the bytes of a run's images (figures; default 8M)")
    g.add_argument("--vfs-quota", metavar="SIZE", help="bytes in /data and /tmp (64M)")
    g.add_argument("--fixed-clock", metavar="WHEN",
                   help="reproducible clock starting at WHEN (2000-01-01, ISO time or epoch seconds)")
    g = p.add_argument_group("doors into the sandbox (as in cloche run)")
    g.add_argument("--mount", metavar="HOST:GUEST[:ro|:rw]", action="append", default=[],
                   help="show a host folder or file at GUEST (read-only unless :rw)")
    g.add_argument("--package", metavar="PATH", action="append", default=[],
                   help="put a .whl, .zip or folder on sys.path")
    g.add_argument("--allow-net", metavar="HOST[:PORT]", action="append", default=[],
                   help="let the guest connect to HOST (patterns like *.example.com)")
    g.add_argument("--allow-private-net", action="store_true",
                   help="also allow loopback/private addresses")
    g.add_argument("--secret", metavar="NAME[=VALUE]@HOST[,HOST]", action="append", default=[],
                   help="a secret the guest uses but never sees (VALUE from the env var NAME if omitted)")
    g.add_argument("--net-ca", metavar="FILE", help="also trust this PEM CA for TLS")
    g.add_argument("--mcp-server", metavar='"[NAME=]CMD ARGS"', action="append", default=[],
                   help="start this MCP server on the host and expose its tools inside the "
                        "sandbox as NAME.tool(...) (a URL connects over HTTP); repeatable")


def _parse_mount(spec: str) -> Any:
    from ._options import Mount

    readonly, rest = True, spec
    if spec.endswith((":ro", ":rw")):
        readonly, rest = spec.endswith(":ro"), spec[:-3]
    host, sep, guest = rest.rpartition(":")
    if not sep or not host or not guest.startswith("/"):
        raise ValueError(f"bad --mount {spec} (want HOST:GUEST[:ro|:rw] with an absolute GUEST)")
    return Mount(host, guest, readonly)


def _parse_secret(spec: str) -> tuple[str, Any]:
    from ._options import Secret

    head, at, hosts = spec.rpartition("@")
    if not at or not head or not hosts:
        raise ValueError(f"bad --secret {spec} (want NAME[=VALUE]@HOST[,HOST])")
    name, eq, value = head.partition("=")
    if not eq:
        env = os.environ.get(name)
        if env is None:
            raise ValueError(f"bad --secret {spec}: the host has no environment variable {name}")
        value = env
    return name, Secret(value, [h for h in hosts.split(",") if h])


def _parse_instant(text: str) -> datetime.datetime | float:
    if text.replace(".", "", 1).isdigit():
        return float(text)
    when = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return when if when.tzinfo else when.replace(tzinfo=datetime.timezone.utc)


def sandbox_options(a: argparse.Namespace) -> dict[str, Any]:
    """Sandbox keyword options from the shared flags (ValueError if bad)."""
    from ._options import Network, parse_size

    opts: dict[str, Any] = {}
    if a.timeout is not None:
        if a.timeout <= 0:
            raise ValueError("bad --timeout (seconds > 0)")
        opts["timeout"] = a.timeout
    for flag, key in (("memory", "memory"), ("max_output", "max_output"),
                      ("vfs_quota", "disk_quota"), ("max_images", "max_images")):
        value = getattr(a, flag)
        if value is not None:
            parse_size(value, "--" + flag.replace("_", "-"))
            opts[key] = value
    if a.fuel is not None:
        if a.fuel <= 0:
            raise ValueError("bad --fuel (integer > 0)")
        opts["fuel"] = a.fuel
    if a.fixed_clock:
        try:
            opts["fixed_clock"] = _parse_instant(a.fixed_clock)
        except ValueError:
            raise ValueError(f"bad --fixed-clock (e.g. 2000-01-01): {a.fixed_clock}") from None
    if a.mount:
        opts["mounts"] = [_parse_mount(m) for m in a.mount]
    if a.package:
        opts["packages"] = list(a.package)
    if a.allow_net or a.secret or a.allow_private_net or a.net_ca:
        opts["network"] = Network(allow=list(a.allow_net), private=a.allow_private_net,
                                  secrets=dict(_parse_secret(s) for s in a.secret),
                                  ca_file=a.net_ca)
    return opts


# --- cloche mcp -------------------------------------------------------------------


def mcp_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="cloche mcp", description=(
        "A Model Context Protocol server that runs Python in cloche sandboxes: tools "
        "run_python, reset_session, list_sessions, upload_file, download_file. Speaks "
        "MCP on stdin/stdout unless --http is given."))
    p.add_argument("--http", metavar="[HOST:]PORT",
                   help="serve streamable HTTP at http://HOST:PORT/mcp instead of stdio "
                        "(HOST defaults to 127.0.0.1; port 0 picks one and prints it)")
    p.add_argument("--session-idle", metavar="SECONDS", type=float, default=600.0,
                   help="close a named session after this long unused (600)")
    p.add_argument("--max-sessions", metavar="N", type=int, default=16,
                   help="named sessions alive at once (16)")
    p.add_argument("--max-reply", metavar="CHARS", type=int, default=20_000,
                   help="characters of output returned per call; longer output keeps "
                        "its head and tail around a marker (20000)")
    _common(p)
    return p


def main_mcp(argv: Sequence[str]) -> int:
    a = mcp_parser().parse_args(argv)
    try:
        from .mcp_server import ServerConfig, parse_http, serve
    except ImportError as e:  # the mcp extra is missing
        return _missing(e)
    try:
        config = ServerConfig(sandbox=sandbox_options(a), session_idle=a.session_idle,
                              max_sessions=a.max_sessions, max_reply=a.max_reply,
                              mcp_servers=list(a.mcp_server))
        http = parse_http(a.http) if a.http is not None else None
        if a.max_sessions < 1 or a.max_reply < 200 or a.session_idle <= 0:
            raise ValueError("--max-sessions >= 1, --max-reply >= 200, --session-idle > 0")
    except ValueError as e:
        print(f"cloche mcp: {e}", file=sys.stderr)
        return EXIT_USAGE
    try:
        asyncio.run(serve(config, http))
    except KeyboardInterrupt:
        return EXIT_OK
    except Exception as e:
        print(f"cloche mcp: {type(e).__name__}: {e}", file=sys.stderr)
        return EXIT_INTERNAL
    return EXIT_OK


def _missing(e: ImportError) -> int:
    print(f"cloche: this command needs the MCP SDK ({e}); install it with "
          "pip install 'cloche[mcp]'", file=sys.stderr)
    return EXIT_INTERNAL


# --- cloche run --mcp-server ------------------------------------------------------


def run_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="cloche run", description=(
        "Run Python in a fresh sandbox whose code can call the tools of MCP servers "
        "(--mcp-server). Without --mcp-server, cloche run is the C command."))
    p.add_argument("-c", dest="code", metavar="CODE", help="run CODE instead of a file")
    p.add_argument("--json", action="store_true", help="print the result as one JSON object")
    p.add_argument("--stream", action="store_true", help="print output live")
    p.add_argument("--save-figures", metavar="DIR",
                   help="write the run's images as DIR/figure-1.png, figure-2.png, ...")
    p.add_argument("script", nargs="?", metavar="FILE | -")
    p.add_argument("args", nargs=argparse.REMAINDER, metavar="ARG")
    _common(p)
    return p


def main_run(argv: Sequence[str]) -> int:
    p = run_parser()
    a = p.parse_args(argv)
    if a.code is None and a.script is None:
        p.error("need FILE, -c CODE or -")
    if a.code is not None:
        code, name, args = a.code, "-c", ([a.script] if a.script else []) + a.args
    else:
        name, args = a.script, a.args
        try:
            code = sys.stdin.read() if a.script == "-" else open(a.script, encoding="utf-8").read()
        except OSError as e:
            print(f"cloche run: cannot read {a.script}: {e.strerror}", file=sys.stderr)
            return EXIT_USAGE
    try:
        opts = sandbox_options(a)
    except ValueError as e:
        print(f"cloche run: {e}", file=sys.stderr)
        return EXIT_USAGE
    opts["argv"] = [name, *args]
    if a.save_figures is not None and not _figures_dir_ready(a.save_figures):
        return EXIT_USAGE
    try:
        return asyncio.run(_run(code, opts, a))
    except ImportError as e:
        return _missing(e)


async def _run(code: str, opts: dict[str, Any], a: argparse.Namespace) -> int:
    from . import _errors
    from ._sandbox import Sandbox
    from .mcp_client import McpError, McpServers

    if a.stream:
        def live(chunk: Any) -> None:
            out = sys.stderr if chunk.stream == "stderr" else sys.stdout
            out.write(chunk.text)
            out.flush()
        opts["on_output"] = live
    servers = McpServers(a.mcp_server)
    try:
        await servers.astart()
    except McpError as e:
        print(f"cloche run: {e}", file=sys.stderr)
        return EXIT_USAGE
    try:
        try:
            sb = Sandbox(mcp_servers=servers, **opts)
        except _errors.Error as e:
            print(f"cloche run: {e}", file=sys.stderr)
            return EXIT_USAGE
        with sb:
            try:
                r = await sb.run(code)
            except (_errors.LimitExceeded, _errors.Cancelled, _errors.Crashed) as e:
                r = e.result
    finally:
        await asyncio.get_running_loop().run_in_executor(None, servers.close)
    code_ = _report(r, a.json, a.stream)
    if a.save_figures is not None:
        return code_ if _save_figures(r, a.save_figures) else EXIT_INTERNAL
    if r.images and not a.json:
        n = len(r.images)
        print(f"cloche: the run returned {n} image{'s' if n > 1 else ''} (keep them "
              "with --save-figures DIR or --json)", file=sys.stderr)
    return code_


def _figures_dir_ready(folder: str) -> bool:
    """--save-figures: DIR made before the run, as the C command does."""
    try:
        os.makedirs(folder, exist_ok=True)
        if not os.access(folder, os.W_OK | os.X_OK):
            raise PermissionError(13, "Permission denied")
    except OSError as e:
        print(f"cloche run: --save-figures {folder}: cannot write there: {e.strerror}",
              file=sys.stderr)
        return False
    return True


def _save_figures(r: Any, folder: str) -> bool:
    for n, image in enumerate(r.images, 1):
        path = os.path.join(folder, f"figure-{n}.png")
        try:
            image.save(path)
        except OSError as e:
            print(f"cloche run: cannot write {path}: {e.strerror}", file=sys.stderr)
            return False
        print(f"cloche: saved {path}", file=sys.stderr)
    return True


def _report(r: Any, as_json: bool, streamed: bool) -> int:
    if as_json:
        print(json.dumps(r.to_dict()))
    else:
        if not streamed:
            sys.stdout.write(r.stdout)
            sys.stdout.flush()
            sys.stderr.write(r.stderr)
        if r.exception is not None:
            sys.stderr.write(r.exception.traceback or
                             f"{r.exception.type}: {r.exception.message}\n")
        if r.outcome in ("limit", "crash"):
            what = "limit" if r.outcome == "limit" else "guest crashed"
            sys.stderr.write(f"cloche: {what}: {r.detail or ''}\n")
    if r.outcome == "ok":
        return EXIT_OK
    if r.outcome == "exception":
        if r.exception.type == "SystemExit":
            try:
                return int(r.exception.message) & 0xFF
            except ValueError:
                return EXIT_EXCEPTION
        return EXIT_EXCEPTION
    return EXIT_LIMIT if r.outcome == "limit" else EXIT_INTERNAL


def main(argv: Sequence[str] | None = None) -> int:
    """``cloche-python mcp ...`` / ``cloche-python run ...``."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] == "mcp":
        return main_mcp(args[1:])
    if args and args[0] == "run":
        return main_run(args[1:])
    print("usage: cloche-python (mcp | run) [options]  (the Python half of the cloche "
          "command: use `cloche mcp` / `cloche run --mcp-server ...`)", file=sys.stderr)
    return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
