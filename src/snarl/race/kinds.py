"""What an object's accesses mean to the race detector, decided once per type.

:func:`type_info` classifies a type at its first check and caches the answer in :data:`TINFO`:
``(skip every access, names a Python-level descriptor computes, container kind 0/1, class data
attributes)``.  The checks in :mod:`.shadow` and :mod:`.hooks` read it on every access, so it
is a tuple read by index.  Also here: the container types and their methods (which read or
write a structure), and :func:`through_class`, which finds the class whose attribute a read
through an instance or a subclass really reads.
"""

from __future__ import annotations

import threading
from collections import deque
from types import GeneratorType
from typing import Any

__all__ = ["TINFO", "through_class", "type_info"]

IMMUTABLE = (tuple, str, bytes, int, float, complex, frozenset, bool, type(None), range)
CONTAINERS = (dict, list, bytearray, deque, set)
SAFE_KEYS = frozenset({str, int, bytes, float, bool, type(None)})
GENERATORS = frozenset({GeneratorType})

# container type -> {method: "r" | "w"}
_READS = ("copy", "count", "index", "get", "keys", "values", "items", "issubset", "issuperset")
_WRITES = (
    "append", "appendleft", "extend", "extendleft", "insert", "pop", "popleft", "popitem",
    "remove", "clear", "sort", "reverse", "rotate", "update", "setdefault", "add", "discard",
    "difference_update", "intersection_update", "symmetric_difference_update",
)  # fmt: skip
METHODS = {**dict.fromkeys(_READS, "r"), **dict.fromkeys(_WRITES, "w")}
TINFO: dict[type, Any] = {}  # type -> (skip_all, computed names, kind, class data owners)


def _classify(t: type) -> tuple[bool, frozenset[str], int, Any]:
    """(skip every access, names a Python-level descriptor computes, container kind 0/1,
    class data attributes: ``{name: the class defining it}``, :data:`BY_MRO` for a class
    object, None when there are none)."""
    if issubclass(t, threading.local) or issubclass(t, IMMUTABLE):
        return (True, frozenset(), 0, None)
    if issubclass(t, type):  # o is a class: o.name is the attribute of o or of a base
        return (False, frozenset(), 0, BY_MRO)
    computed = set()
    owners: dict[str, type] = {}
    custom = False
    for klass in t.__mro__:
        if klass.__module__ == "builtins":
            continue
        for name, value in vars(klass).items():
            vt = type(value)
            if issubclass(vt, property) or (hasattr(vt, "__get__") and vt.__module__ != "builtins"):
                computed.add(name)
            elif not hasattr(vt, "__get__") and not name.startswith("__"):
                owners.setdefault(name, klass)  # plain data: read through the instance
        custom = custom or "__getattribute__" in vars(klass)
    kind = 0
    for base in CONTAINERS:
        if issubclass(t, base) and all(
            getattr(t, m) is getattr(base, m)
            for m in ("__getitem__", "__setitem__", "__delitem__")
            if hasattr(base, m)
        ):
            kind = 1
    custom = custom or "__dict__" in computed
    return (
        custom,
        frozenset(computed),
        kind,
        {n: k for n, k in owners.items() if n not in computed} or None,
    )


BY_MRO: Any = object()  # _classify's marker: the object read is a class
_MRO = vars(type)["__mro__"]  # type's own getters: a metaclass cannot substitute its code
_CLASS_DICT = vars(type)["__dict__"]


def through_class(o: Any, name: str, owners: Any) -> Any:
    """The object whose attribute ``o.name`` reads, for a name some class defines as plain
    data: the class that defines it (a class attribute, one location however it is read:
    through the class, a subclass or an instance), unless ``o`` has its own."""
    if owners is BY_MRO:
        for klass in _MRO.__get__(o, type(o)):
            if name in _CLASS_DICT.__get__(klass, type(klass)):
                return klass
        return o
    try:
        own = object.__getattribute__(o, "__dict__")
    except AttributeError:  # __slots__: no instance dict
        own = ()
    return o if name in own else owners[name]


def type_info(o: Any) -> Any:
    t = type(o)
    info = TINFO.get(t)
    if info is None:
        try:
            info = _classify(t)
        except Exception:  # an odd class (a metaclass's own attributes): left unchecked
            info = (True, frozenset(), 0, None)
        TINFO[t] = info
    return info
