"""Looking at user objects without running user code.

Every read here goes through C-level dict lookups and C descriptors only: no ``__getattr__``,
no ``__getattribute__`` override, no property, no ``__class__`` override, no ``__repr__``
(reprs are made in :mod:`snarl.threaddump.reprs`, only when the caller asked for locals).
A lookup that would need any of those answers :data:`UNKNOWN` instead.

Types are never hashed nor compared with ``==`` (a metaclass may define ``__hash__`` and
``__eq__``): caches are keyed by ``id()`` and hold the type to check it with ``is``.

The one residual risk, documented: a dict lookup compares keys with ``__eq__`` when hashes
collide, so a ``str``-subclass key with a custom ``__eq__`` and a colliding hash, planted in
an instance or class namespace, could run code.
"""

from __future__ import annotations

import sys
import types
from typing import Any

from .bytecode import Expr

__all__ = [
    "UNKNOWN",
    "forget",
    "get_attr",
    "instance_dict",
    "mro",
    "resolve",
    "type_name",
]


class _Unknown:
    __slots__ = ()

    def __repr__(self) -> str:
        return "UNKNOWN"

    def __bool__(self) -> bool:
        return False


UNKNOWN: Any = _Unknown()
"""Returned where a value cannot be had without running user code."""

_dict_get = dict.get
_type_dict = type.__dict__["__dict__"].__get__  # the C getter: the type's own namespace
_type_mro = type.__dict__["__mro__"].__get__
_type_qualname = type.__dict__["__qualname__"].__get__
_type_module = type.__dict__["__module__"].__get__
_GetSet = types.GetSetDescriptorType
_Member = types.MemberDescriptorType
_object_getattribute = object.__dict__["__getattribute__"]
_module_getattribute = types.ModuleType.__dict__["__getattribute__"]
_type_getattribute = type.__dict__["__getattribute__"]


def mro(tp: type) -> tuple[type, ...]:
    """``tp.__mro__`` read from the C slot (a metaclass cannot intercept it)."""
    return _type_mro(tp)


def _locals_types() -> tuple[type, ...]:
    """dict, plus 3.13's FrameLocalsProxy: the mappings ``frame.f_locals`` gives."""
    return (dict, type(sys._getframe().f_locals))


_LOCALS_TYPES = frozenset(_locals_types())


def _is_data_descriptor(value: object) -> bool:
    for klass in _type_mro(type(value)):
        ns = _type_dict(klass)
        if "__set__" in ns or "__delete__" in ns:
            return True
    return False


def _class_lookup(tp: type, name: str) -> Any:
    """``name`` in the namespaces of ``tp``'s MRO, as the interpreter finds it, or UNKNOWN."""
    for klass in _type_mro(tp):
        ns = _type_dict(klass)
        if name in ns:
            return ns[name]
    return UNKNOWN


# Per (type, name) lookup plans, keyed by (id(type), name): a type is never hashed (its
# metaclass may define __hash__).  Each plan holds its type last, checked with `is`, so a
# reused id cannot pick up another type's plan.  Types can change, so the cache is emptied by
# forget(), which every snapshot calls first; within one snapshot the plans are reused.
_plans: dict[tuple[int, str], tuple[Any, ...]] = {}
_INSTANCE, _MODULE, _TYPE, _MEMBER, _REFUSE = range(5)


def forget() -> None:
    """Drop cached lookup plans (types may have changed since the last snapshot)."""
    _plans.clear()


def _dict_descr(tp: type) -> Any:
    """The C getter of instances' ``__dict__`` for ``tp``, or None if it is not the plain one."""
    key = (id(tp), "__dict__")
    plan = _plans.get(key)
    if plan is None or plan[-1] is not tp:
        descr = _class_lookup(tp, "__dict__")
        kind = type(descr)
        plan = _plans[key] = (descr if kind is _GetSet or kind is _Member else None, tp)
    return plan[0]


def instance_dict(obj: object) -> dict[str, Any] | None:
    """``obj.__dict__`` when it is the plain C slot, else None."""
    tp = type(obj)
    descr = _dict_descr(tp)
    if descr is None:
        return None
    try:
        d = descr.__get__(obj, tp)
    except Exception:
        return None
    return d if type(d) is dict else None


def _make_plan(tp: type, name: str) -> tuple[Any, ...]:
    getattribute = _class_lookup(tp, "__getattribute__")
    if getattribute is _module_getattribute:
        return (_MODULE,)
    if getattribute is _type_getattribute:
        return (_TYPE,)
    if getattribute is not _object_getattribute:
        return (_REFUSE,)
    cls_value = _class_lookup(tp, name)
    if cls_value is not UNKNOWN and _is_data_descriptor(cls_value):
        # A __slots__ member is a C read of the slot; any other data descriptor is user code.
        return (_MEMBER, cls_value) if type(cls_value) is _Member else (_REFUSE,)
    if cls_value is not UNKNOWN and _class_lookup(type(cls_value), "__get__") is not UNKNOWN:
        cls_value = UNKNOWN  # a method or other non-data descriptor: binding is not needed here
    return (_INSTANCE, _dict_descr(tp), cls_value)


def get_attr(obj: object, name: str) -> Any:
    """``obj.name`` read without running user code, or UNKNOWN.

    Supports plain instances (instance dict, ``__slots__`` members, plain class attributes),
    modules (module dict) and classes (their MRO namespaces).  Properties, other data
    descriptors, ``__getattr__`` fallbacks and custom ``__getattribute__`` give UNKNOWN.
    """
    tp = type(obj)
    key = (id(tp), name)
    plan = _plans.get(key)
    if plan is None or plan[-1] is not tp:
        plan = _plans[key] = (*_make_plan(tp, name), tp)
    mode = plan[0]
    if mode == _INSTANCE:
        descr = plan[1]
        if descr is not None:
            try:
                ns = descr.__get__(obj, tp)
            except Exception:
                ns = None
            if type(ns) is dict:
                value = _dict_get(ns, name, UNKNOWN)
                if value is not UNKNOWN:
                    return value
        return plan[2]
    if mode == _MODULE:
        ns = instance_dict(obj)
        return _dict_get(ns, name, UNKNOWN) if ns is not None else UNKNOWN
    if mode == _MEMBER:
        try:
            return plan[1].__get__(obj, tp)
        except AttributeError:
            return UNKNOWN
    if mode == _TYPE:
        meta = _class_lookup(tp, name)
        if meta is not UNKNOWN and _is_data_descriptor(meta):
            return UNKNOWN
        value = _class_lookup(obj, name)  # type: ignore[arg-type]
        if value is UNKNOWN or _class_lookup(type(value), "__get__") is not UNKNOWN:
            return UNKNOWN
        return value
    return UNKNOWN


def resolve(expr: Expr, f_locals: Any, f_globals: dict, f_builtins: dict) -> Any:
    """The current value of a reference expression in a frame, or UNKNOWN.

    ``f_locals`` is the frame's locals mapping (a dict, or 3.13's FrameLocalsProxy; None for a
    global-only lookup); class bodies whose namespace is some other mapping are not read.
    """
    value: Any = UNKNOWN
    if expr.scope != "global" and type(f_locals) in _LOCALS_TYPES:
        try:
            value = f_locals.get(expr.name, UNKNOWN)
        except Exception:
            value = UNKNOWN
    if value is UNKNOWN and expr.scope in ("global", "name"):
        value = _dict_get(f_globals, expr.name, UNKNOWN)
        if value is UNKNOWN and type(f_builtins) is dict:
            value = _dict_get(f_builtins, expr.name, UNKNOWN)
    for attr in expr.attrs:
        if value is UNKNOWN:
            break
        value = get_attr(value, attr)
    return value


def type_name(obj: object) -> str:
    """``module.QualName`` of ``type(obj)``, read from the type's C slots."""
    tp = type(obj)
    module = _type_module(tp)
    qualname = _type_qualname(tp)
    if type(module) is not str or module == "builtins":
        return str(qualname)
    return f"{module}.{qualname}"
