"""Portable state snapshots: the session's user globals, pickled.

Functions and classes defined in the session (module `__main__`) cannot be
pickled by reference, since a restoring sandbox has no such module source;
they are pickled by value instead: code objects via marshal (so a snapshot
restores only on the same Python minor version), closures, defaults and
class bodies as pickled state. Modules are pickled as the name to import.
Everything else uses pickle's own rules.

Unpickling runs inside the sandbox, so a hostile snapshot can do no more
than hostile code could.
"""

import importlib
import marshal
import pickle
import sys
import types

FORMAT = 1
_main = sys.modules["__main__"]


class UnpicklableGlobals(pickle.PicklingError):
    """Some globals cannot be pickled; `.names` lists them."""

    def __init__(self, names):
        super().__init__("cannot pickle globals: " + ", ".join(names))
        self.names = names


def _user_names(namespace):
    return [n for n in namespace
            if not (n.startswith("__") and n.endswith("__"))]


# --- functions by value ----------------------------------------------------

def _function_skeleton(code_bytes, name, ncells):
    closure = tuple(types.CellType() for _ in range(ncells)) or None
    return types.FunctionType(marshal.loads(code_bytes), _main.__dict__,
                              name, None, closure)


def _function_setstate(fn, state):
    fn.__defaults__ = state["defaults"]
    fn.__kwdefaults__ = state["kwdefaults"]
    fn.__qualname__ = state["qualname"]
    fn.__doc__ = state["doc"]
    fn.__annotations__ = state["annotations"]
    fn.__dict__.update(state["dict"])
    for cell, value in zip(fn.__closure__ or (), state["cells"]):
        if value is not _EMPTY_MARK:
            cell.cell_contents = value
    return fn


class _EmptyMark:
    def __reduce__(self):
        return (_empty_mark, ())


def _empty_mark():
    return _EMPTY_MARK


_EMPTY_MARK = _EmptyMark()


def _cell_value(cell):
    try:
        return cell.cell_contents
    except ValueError:
        return _EMPTY_MARK


def _reduce_function(fn):
    state = {
        "defaults": fn.__defaults__, "kwdefaults": fn.__kwdefaults__,
        "qualname": fn.__qualname__, "doc": fn.__doc__,
        "annotations": fn.__annotations__, "dict": dict(fn.__dict__),
        "cells": [_cell_value(c) for c in fn.__closure__ or ()],
    }
    args = (marshal.dumps(fn.__code__), fn.__name__,
            len(fn.__closure__ or ()))
    return (_function_skeleton, args, state, None, None, _function_setstate)


# --- classes by value ------------------------------------------------------

_SKIP_IN_BODY = ("__dict__", "__weakref__")


def _class_skeleton(metaclass, name, bases, namespace):
    return metaclass(name, bases, namespace)


def _class_setstate(cls, body):
    for key, value in body.items():
        setattr(cls, key, value)
    return cls


def _reduce_class(cls):
    namespace = {"__module__": "__main__", "__qualname__": cls.__qualname__}
    slots = cls.__dict__.get("__slots__")
    if slots is not None:
        namespace["__slots__"] = slots
    body = {}
    for key, value in cls.__dict__.items():
        if key in _SKIP_IN_BODY or key in namespace:
            continue
        if slots is not None and isinstance(value, types.MemberDescriptorType):
            continue  # recreated from __slots__
        body[key] = value
    args = (type(cls), cls.__name__, cls.__bases__, namespace)
    return (_class_skeleton, args, body, None, None, _class_setstate)


class _SessionPickler(pickle.Pickler):
    def reducer_override(self, obj):
        if isinstance(obj, types.ModuleType):
            return (importlib.import_module, (obj.__name__,))
        if getattr(obj, "__module__", None) != "__main__":
            return NotImplemented
        if isinstance(obj, types.FunctionType):
            return _reduce_function(obj)
        if isinstance(obj, type) and type(obj) is type:
            return _reduce_class(obj)
        return NotImplemented


def _dumps(values):
    import io

    buf = io.BytesIO()
    _SessionPickler(buf, protocol=pickle.HIGHEST_PROTOCOL).dump(values)
    return buf.getvalue()


def save(skip_unpicklable=False):
    """Pickle the user globals; raise UnpicklableGlobals, or skip them."""
    namespace = _main.__dict__
    values = {name: namespace[name] for name in _user_names(namespace)}
    try:
        if not skip_unpicklable:
            return _dumps({"format": FORMAT, "globals": values})
    except Exception:
        pass
    bad = []
    for name, value in values.items():
        try:
            _dumps(value)
        except Exception:
            bad.append(name)
    if bad and not skip_unpicklable:
        raise UnpicklableGlobals(bad)
    kept = {n: v for n, v in values.items() if n not in bad}
    return _dumps({"format": FORMAT, "globals": kept, "skipped": bad})


def load(blob):
    """Restore globals saved by save(); existing names are replaced."""
    data = pickle.loads(blob)
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ValueError("not a cloche state snapshot (unknown format)")
    _main.__dict__.update(data["globals"])
    return sorted(data["globals"])


def clear():
    """Drop user globals (imports included); keep the interpreter."""
    namespace = _main.__dict__
    for name in _user_names(namespace):
        del namespace[name]
