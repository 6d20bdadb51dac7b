"""Host callbacks ("tools") as Python functions inside the sandbox.

The host registers callbacks with a name, a description and a JSON schema
of their parameters. Each becomes a function in builtins (dotted names such
as `db.query` become attributes of a namespace object `db`), plus
`list_callbacks()`, `invoke(name, **kwargs)` and `CallbackError`.

Two calling styles, chosen by where the call is made:
- from async code (an `async def`, or top-level code that uses `await`) a
  call returns an awaitable; the event loop batches every call made before
  it runs out of ready work and returns them to the host in one PENDING
  step, so `asyncio.gather` over callbacks overlaps on the host;
- from sync code (a plain `def`, or top-level code without `await`) it
  blocks in a host import while the host runs the call and returns the
  value.
A generator expression or lambda takes the style of the frame consuming
it, so `asyncio.gather(*(tool(x) for x in xs))` in async code gathers.

Arguments are checked against the schema and encoded to JSON here, so a
bad call raises TypeError before anything reaches the host.
"""

import asyncio
import builtins
import inspect
import json
import keyword
import struct
import sys

import _cloche

from . import jsontext

# Reply kinds, shared with the host (src/callbacks.h).
OK, FAILED, TIMED_OUT, NOT_FOUND, TOO_LARGE = range(5)

_JSON_TYPES = {
    "string": (str,), "integer": (int,), "number": (int, float),
    "boolean": (bool,), "array": (list, tuple), "object": (dict,),
    "null": (type(None),),
}


class CallbackError(Exception):
    """A host callback failed; the message is the host's."""


class CallbackNotFoundError(CallbackError, NameError):
    """No host callback has that name."""


class _Spec:
    __slots__ = ("name", "description", "schema", "params", "required",
                 "extra_ok", "types")

    def __init__(self, name, description, schema):
        self.name = name
        self.description = description
        self.schema = schema if isinstance(schema, dict) else {}
        props = self.schema.get("properties")
        props = props if isinstance(props, dict) else {}
        self.params = list(props)
        self.required = [r for r in self.schema.get("required", ())
                         if isinstance(r, str)]
        self.extra_ok = self.schema.get("additionalProperties", not props)
        self.types = {k: v.get("type") for k, v in props.items()
                      if isinstance(v, dict)}


def _type_ok(value, wanted):
    names = wanted if isinstance(wanted, list) else [wanted]
    for name in names:
        types = _JSON_TYPES.get(name)
        if types is None:
            return True  # a type we do not check
        if isinstance(value, bool) and name in ("integer", "number"):
            continue
        if isinstance(value, types):
            return True
    return False


def _bind(spec, args, kwargs):
    """Map positional args by schema order, check names and types."""
    name = spec.name
    if len(args) > len(spec.params):
        raise TypeError(f"{name}() takes {len(spec.params)} positional "
                        f"argument(s) but {len(args)} were given")
    bound = dict(zip(spec.params, args))
    for key, value in kwargs.items():
        if key in bound:
            raise TypeError(f"{name}() got multiple values for argument "
                            f"'{key}'")
        if key not in spec.types and key not in spec.params and \
                spec.extra_ok is False:
            raise TypeError(f"{name}() got an unexpected keyword argument "
                            f"'{key}'")
        bound[key] = value
    missing = [r for r in spec.required if r not in bound]
    if missing:
        raise TypeError(f"{name}() missing required argument(s): "
                        + ", ".join(repr(m) for m in missing))
    for key, value in bound.items():
        wanted = spec.types.get(key)
        if wanted is not None and not _type_ok(value, wanted):
            raise TypeError(f"{name}() argument '{key}' must be {wanted}, "
                            f"not {type(value).__name__}")
    return bound


# The C scanner behind json.loads, called without json.loads' layers.
_SCAN_JSON = json.JSONDecoder().scan_once


def _encode(spec, args, kwargs):
    bound = _bind(spec, args, kwargs)
    try:
        return jsontext.dumps(bound).encode()
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{spec.name}() arguments are not JSON-serializable:"
                        f" {exc}") from None


def _json_value(data):
    """json.loads(data) for a reply. A reply is one JSON value in UTF-8
    (the host checked it), usually without surrounding whitespace; that case
    skips json.loads' encoding detection and whitespace regexes, a
    noticeable part of a round trip. Anything else takes json.loads."""
    try:
        text = data.decode()
        value, end = _SCAN_JSON(text, 0)
        if end == len(text):
            return value
    except (StopIteration, ValueError):
        pass
    return json.loads(data)


def _reply_value(name, kind, data):
    """Turn a host reply into a value, or raise what the caller should see."""
    if kind == OK:
        return _json_value(data) if data else None
    message = data.decode("utf-8", "replace")
    if kind == TIMED_OUT:
        raise TimeoutError(f"callback {name}() timed out: {message}")
    if kind == NOT_FOUND:
        raise CallbackNotFoundError(f"no host callback named {name!r}")
    if kind == TOO_LARGE:
        raise ValueError(f"callback {name}(): {message}")
    raise CallbackError(message)


class _Calls:
    """Calls made from async code, waiting for the host."""

    def __init__(self):
        self.next_id = 1
        self.outbox = []    # (id, name, payload) not yet given to the host
        self.waiting = {}   # id -> (name, future)

    def start(self, name, payload):
        future = asyncio.get_running_loop().create_future()
        call_id = self.next_id
        self.next_id = (self.next_id + 1) & 0xFFFFFFFF or 1
        self.outbox.append((call_id, name, payload))
        self.waiting[call_id] = (name, future)
        return future

    def outstanding(self):
        return bool(self.waiting)

    def take_batch(self):
        """Encode the calls not yet sent: per call u32 id, name, args."""
        parts = []
        for call_id, name, payload in self.outbox:
            raw = name.encode()
            parts.append(struct.pack("<II", call_id, len(raw)) + raw +
                         struct.pack("<I", len(payload)) + payload)
        self.outbox.clear()
        return struct.pack("<I", len(parts)) + b"".join(parts)

    def deliver(self, blob):
        """Resolve futures from a reply batch: per reply u32 id, kind, data."""
        (count,), at = struct.unpack_from("<I", blob), 4
        for _ in range(count):
            call_id, kind, size = struct.unpack_from("<III", blob, at)
            at += 12
            data = blob[at:at + size]
            at += size
            entry = self.waiting.pop(call_id, None)
            if entry is None or entry[1].done():
                continue  # cancelled in Python meanwhile
            name, future = entry
            try:
                future.set_result(_reply_value(name, kind, data))
            except BaseException as exc:
                future.set_exception(exc)

    def abandon(self):
        """A new instance or a reset run: nothing is waiting any more."""
        self.outbox.clear()
        self.waiting.clear()


calls = _Calls()


_INHERITING = ("<genexpr>", "<lambda>")


def _in_async_code(frame):
    while frame is not None and frame.f_code.co_name in _INHERITING:
        frame = frame.f_back
    return frame is not None and bool(frame.f_code.co_flags &
                                      inspect.CO_COROUTINE)


async def _await_reply(future):
    return await future


def _call(spec, args, kwargs, frame):
    payload = _encode(spec, args, kwargs)
    if _in_async_code(frame):
        # The call is made now (so calls gather into one batch); the
        # coroutine only waits for the reply, and works with create_task.
        return _await_reply(calls.start(spec.name, payload))
    kind, data = _cloche.call(spec.name, payload)
    return _reply_value(spec.name, kind, data)


def _make_proxy(spec):
    def proxy(*args, **kwargs):
        return _call(spec, args, kwargs, sys._getframe(1))

    proxy.__name__ = spec.name.rpartition(".")[2]
    proxy.__qualname__ = spec.name
    proxy.__doc__ = spec.description
    return proxy


class CallbackNamespace:
    """Holds the callbacks whose names share a dotted prefix."""

    def __init__(self, prefix):
        self._prefix = prefix

    def __repr__(self):
        return f"<callbacks {self._prefix}.*>"


_specs = {}
_installed = []  # builtins names we set, removed on reconfigure


def list_callbacks():
    """Names, descriptions and parameter schemas of the host callbacks."""
    return [{"name": s.name, "description": s.description,
             "schema": s.schema} for s in _specs.values()]


def invoke(name, /, *args, **kwargs):
    """Call a host callback by name."""
    spec = _specs.get(name)
    if spec is None:
        raise CallbackNotFoundError(f"no host callback named {name!r}")
    return _call(spec, args, kwargs, sys._getframe(1))


def _install_name(spec):
    parts = spec.name.split(".")
    if not all(p.isidentifier() and not keyword.iskeyword(p) for p in parts):
        return
    target = builtins
    for i, part in enumerate(parts[:-1]):
        ns = getattr(target, part, None)
        if not isinstance(ns, CallbackNamespace):
            ns = CallbackNamespace(".".join(parts[:i + 1]))
            setattr(target, part, ns)
        target = ns
    setattr(target, parts[-1], _make_proxy(spec))
    if target is builtins or len(parts) > 1:
        _installed.append(parts[0])


def configure(table_json):
    """Install the host's callback table (a JSON list), replacing the last."""
    for name in _installed:
        builtins.__dict__.pop(name, None)
    _installed.clear()
    _specs.clear()
    for item in json.loads(table_json):
        spec = _Spec(item["name"], item.get("description", ""),
                     item.get("schema", {}))
        _specs[spec.name] = spec
        _install_name(spec)


builtins.list_callbacks = list_callbacks
builtins.invoke = invoke
builtins.CallbackError = CallbackError
