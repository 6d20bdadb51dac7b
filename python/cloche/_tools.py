"""Tools: host functions the sandboxed code can call (``@cloche.tool``).

The JSON schema comes from pydantic (a model built from the signature, so
type hints, ``Annotated[..., Field(...)]`` and pydantic models all work);
arguments are validated by the same model before the function runs, and
results are turned into JSON by pydantic too (models, dataclasses, dates).
"""

from __future__ import annotations

import inspect
import json
import sys
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Generic, TypeVar, Union, get_type_hints, overload

import pydantic
import pydantic_core

__all__ = ["Tool", "tool", "ToolSpec"]

R = TypeVar("R")
ToolFn = Callable[..., Union[R, Awaitable[R]]]


class Tool(Generic[R]):
    """A host function exposed to sandboxed code under ``name``.

    Usually made with :func:`tool`. Calling the Tool object calls the
    function itself (handy in tests). ``fn=None`` makes a tool with no host
    implementation: its calls are answered by you through
    :meth:`Sandbox.start` / :class:`Pending` (durable runs).
    """

    name: str
    description: str
    schema: dict[str, Any]
    timeout: float | None
    fn: Callable[..., Any] | None
    is_async: bool

    @overload
    def __init__(self: Tool[Any], fn: None, *, name: str,
                 description: str | None = None, timeout: float | None = None,
                 schema: dict[str, Any] | None = None,
                 localns: Mapping[str, Any] | None = None) -> None: ...

    @overload
    def __init__(self, fn: Callable[..., R] | Callable[..., Awaitable[R]], *,
                 name: str | None = None, description: str | None = None,
                 timeout: float | None = None, schema: dict[str, Any] | None = None,
                 localns: Mapping[str, Any] | None = None) -> None: ...

    def __init__(self, fn: Callable[..., Any] | None, *, name: str | None = None,
                 description: str | None = None, timeout: float | None = None,
                 schema: dict[str, Any] | None = None,
                 localns: Mapping[str, Any] | None = None) -> None:
        if fn is None and name is None:
            raise TypeError("a tool without a function needs a name")
        self.fn = fn
        self.name = name or str(getattr(fn, "__name__", "tool"))
        doc = inspect.getdoc(fn) if fn is not None else None
        self.description = description if description is not None else (doc or "")
        self.timeout = timeout
        self.is_async = fn is not None and inspect.iscoroutinefunction(fn)
        self._model: type[pydantic.BaseModel] | None = None
        self._var_kw = False
        self._params: list[str] = []
        if fn is not None:
            self._model, self._var_kw, self._params = _signature_model(
                fn, self.name, localns)
        if schema is not None:
            self.schema = schema
        elif self._model is not None:
            self.schema = self._model.model_json_schema()
            self.schema.pop("title", None)
            if self._var_kw:
                self.schema["additionalProperties"] = True
        else:
            self.schema = {"type": "object"}
        self._schema_json = json.dumps(self.schema)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self.fn is None:
            raise TypeError(f"tool {self.name!r} has no host implementation")
        return self.fn(*args, **kwargs)

    def __repr__(self) -> str:
        return f"<cloche.Tool {self.name!r}>"

    def bind(self, args_json: str) -> dict[str, Any]:
        """Validate a call's JSON arguments; the keyword arguments for fn.
        Raises pydantic.ValidationError."""
        if self._model is None:
            loaded = json.loads(args_json)
            return dict(loaded) if isinstance(loaded, dict) else {}
        model = self._model.model_validate_json(args_json)
        kwargs = {p: getattr(model, p) for p in self._params}
        if self._var_kw and model.model_extra:
            kwargs.update(model.model_extra)
        return kwargs


def _signature_model(fn: Callable[..., Any], name: str,
                     localns: Mapping[str, Any] | None
                     ) -> tuple[type[pydantic.BaseModel], bool, list[str]]:
    sig = inspect.signature(fn)
    try:
        hints = get_type_hints(fn, localns=dict(localns or {}), include_extras=True)
    except Exception as exc:
        raise TypeError(f"tool {name!r}: cannot resolve its type hints ({exc}); "
                        "define the types it uses at module level") from exc
    fields: dict[str, Any] = {}
    var_kw = False
    for p in sig.parameters.values():
        if p.kind is p.VAR_POSITIONAL:
            raise TypeError(f"tool {name!r}: *{p.name} is not supported "
                            "(the guest passes arguments by name)")
        if p.kind is p.VAR_KEYWORD:
            var_kw = True
            continue
        if p.kind is p.POSITIONAL_ONLY:
            raise TypeError(f"tool {name!r}: positional-only parameter {p.name}")
        ann = hints.get(p.name, Any)
        default = ... if p.default is p.empty else p.default
        fields[p.name] = (ann, default)
    config = pydantic.ConfigDict(extra="allow" if var_kw else "forbid",
                                 arbitrary_types_allowed=True)
    model = pydantic.create_model(
        f"{name.replace('.', '_')}_args", __config__=config, **fields)
    return model, var_kw, list(fields)


def result_json(value: Any) -> bytes:
    """A tool's return value as JSON (pydantic's serializer: models,
    dataclasses, datetimes and the like work; NaN/inf are refused)."""
    return pydantic_core.to_json(value)


def error_message(exc: BaseException) -> str:
    """The text the guest's CallbackError gets: type and message, no host
    traceback."""
    if isinstance(exc, pydantic.ValidationError):
        parts = []
        for err in exc.errors(include_url=False, include_input=False):
            loc = ".".join(str(x) for x in err["loc"]) or "arguments"
            parts.append(f"{loc}: {err['msg']}")
        return "invalid arguments: " + "; ".join(parts)
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


ToolSpec = Union[Tool[Any], Callable[..., Any]]
"""A :class:`Tool`, or a plain function (made into one with defaults)."""


def to_tool(spec: ToolSpec) -> Tool[Any]:
    return spec if isinstance(spec, Tool) else Tool(spec)


@overload
def tool(fn: Callable[..., R], /) -> Tool[R]: ...


@overload
def tool(*, name: str | None = None, description: str | None = None,
         timeout: float | None = None) -> Callable[[Callable[..., R]], Tool[R]]: ...


def tool(fn: Callable[..., R] | None = None, /, *, name: str | None = None,
         description: str | None = None, timeout: float | None = None
         ) -> Tool[R] | Callable[[Callable[..., R]], Tool[R]]:
    """Make a function a tool the sandboxed code can call.

    The name is the function's (or ``name=``, dotted names such as
    "db.query" make ``db.query(...)`` in the guest); the description is the
    docstring; the JSON schema is derived by pydantic from the type hints.
    ``async def`` tools run on the caller's event loop, plain ones on a
    thread pool. A tool that raises makes ``CallbackError`` in the guest
    with the exception's type and message (never the host traceback).

    >>> @cloche.tool
    ... async def get_weather(city: str, unit: Literal["C", "F"] = "C") -> dict:
    ...     "Current weather for a city."
    ...     return {"city": city, "temp": 7}
    """
    # Types defined in the enclosing function (string annotations under
    # `from __future__ import annotations`) resolve against its locals.
    localns = sys._getframe(1).f_locals

    def wrap(f: Callable[..., R]) -> Tool[R]:
        return Tool(f, name=name, description=description, timeout=timeout,
                    localns=localns)

    return wrap(fn) if fn is not None else wrap
