"""Shadow memory and the access checks: the hot path of the race detector.

Rewritten user code (:mod:`snarl.race.rewrite`) calls the functions here at every shared access;
each returns its object so the access itself runs natively right after the check:

=======================  ===================================================================
``ra(o, name, site)``    read of attribute ``o.name`` (also a module global, a class attribute,
                         a closure cell: ``o`` is then the module, the class, the cell's token)
``wa(o, name, site)``    write (assign, augmented assign, delete) of the same
``ri(o, key, site)``     read of item ``o[key]`` (dict value, list/bytearray/deque element)
``wi(o, key, site)``     write of the same (a dict insert also writes the structure)
``rs(o, site)``          read of ``o``'s structure (``len``, ``in``, iteration, ``keys()``...)
``ws(o, site)``          write of ``o``'s structure (``append``, ``pop``, ``clear``, ``sort``...)
``rm(o, name, site)``    ``o.name(...)`` is about to be called: a structure read or write when
                         ``o`` is a built-in container and ``name`` one of its methods
``rx(o, site)``          ``next(o)``/iteration: a generator's execution is written
=======================  ===================================================================

A location's shadow is a list ``[W, R, wsite, wctx, rsite, rctx]``: the last write's epoch
(0: none), the last read's epoch or, once reads are shared by unordered threads, a dict
``tid -> (clock, site, ctx)`` (FastTrack's read vector clock); ``site`` indexes
:data:`snarl.race.sites.SITES`, ``ctx`` is what the thread held then.  A structure's shadow is
``[Wmap, R, ...]``: one operation on a built-in container is atomic, so writes of a structure
(two appends) never race with each other, only with its reads.

Shadows are kept per object, in dicts keyed by ``id()``, and freed when the object dies: by a
weakref callback, or, for objects that cannot be weakly referenced (``list``, ``dict``,
``bytearray``), by a sweep that drops those only the detector still holds (amortised: it runs
when their number doubles), so memory stays proportional to the live objects.

Accesses are never reported against: immutable objects (tuples, strings, numbers, frozensets),
``threading.local`` objects, attributes that a property or other Python-level descriptor
computes (its code runs, and is instrumented, instead), and containers whose item methods a
subclass overrides (a thread-safe container guards itself).
"""

from __future__ import annotations

import sys
import threading
import weakref
from collections import deque
from typing import Any

from .clock import MASK, SHIFT, Clocks, ThreadState
from .kinds import (
    BY_MRO,
    GENERATORS,
    METHODS,
    SAFE_KEYS,
    TINFO,
    through_class,
    type_info,
)

__all__ = ["Shadow", "ra", "ri", "rm", "rs", "rx", "wa", "wi", "ws"]

_STRUCT = object()  # the structure's key among an object's items
_EXEC = object()  # a generator's execution
_IDKEY = object()  # (_IDKEY, id(key)): an item key the detector must not hash


class _Off:
    """Stands for "no detector": every check returns at once."""

    solo = True


_C: Any = _Off()  # the active Clocks (solo True while no detector runs)
_S: Any = None  # the active Shadow
_local: Any = threading.local()


class Shadow:
    """The shadow memory of one detector run."""

    def __init__(self, clocks: Clocks, report: Any) -> None:
        self.clocks = clocks
        self.report = report  # called as report(v_prev..., see _race)
        self.attrs: dict[int, dict[Any, list[Any]]] = {}
        self.items: dict[int, dict[Any, list[Any]]] = {}
        self.refs: dict[int, Any] = {}
        self.pinned: dict[int, Any] = {}
        self.sweep_at = 10_000
        self.adopt: Any = None  # registers a thread the detector did not see start
        self.freed = 0

    def table(self, o: Any, which: dict[int, dict[Any, list[Any]]]) -> dict[Any, list[Any]]:
        """The shadow dict of ``o`` in ``which`` (attrs or items), made on first use."""
        key = id(o)
        m = which.get(key)
        if m is not None:
            return m
        # setdefault: two threads making the first shadow of one object at once (free-threaded
        # builds) must share it, or one's history of the object would be lost.
        m = which.setdefault(key, {})
        if key in self.refs or key in self.pinned:
            return m
        try:
            self.refs[key] = weakref.KeyedRef(o, self._freed_ref, key)
        except TypeError:  # list, dict, bytearray...: held, and swept once unreferenced
            self.pinned[key] = o
            if len(self.pinned) >= self.sweep_at:
                self.sweep()
        return m

    def _freed_ref(self, ref: Any) -> None:
        self._free(ref.key)

    def _free(self, key: int) -> None:
        self.attrs.pop(key, None)
        self.items.pop(key, None)
        self.refs.pop(key, None)
        self.freed += 1  # (a statistic: two threads' frees at once may count as one, 3.13t)

    def sweep(self) -> None:
        """Drop the shadows of pinned objects that nothing but the detector holds."""
        getrefcount = sys.getrefcount
        for key, o in list(self.pinned.items()):
            # the dict's reference, the loop variable, getrefcount's argument (+ list())
            if getrefcount(o) <= 4:
                del self.pinned[key]
                self.attrs.pop(key, None)
                self.items.pop(key, None)
                self.freed += 1
        self.sweep_at = max(10_000, 2 * len(self.pinned))

    def live(self) -> int:
        """How many objects have shadow state now."""
        return len(self.refs) + len(self.pinned)


def activate(clocks: Clocks | None, shadow: Shadow | None) -> None:
    """Make ``clocks``/``shadow`` the ones the slow checks use (None, None: no detector)."""
    global _C, _S
    _S = shadow
    _C = clocks if clocks is not None else _Off()


def _me() -> ThreadState:
    try:
        return _local.st  # type: ignore[no-any-return]
    except AttributeError:
        return _S.adopt()  # type: ignore[no-any-return]


def _ordered(e: int, vc: list[int]) -> bool:
    t = e & MASK
    return t < len(vc) and (e >> SHIFT) <= vc[t]


# -- the generic checks ---------------------------------------------------------------------
def _read(v: list[Any], st: ThreadState, site: int, o: Any, key: Any) -> None:
    e = st.epoch
    r = v[1]
    if r == e:
        return
    vc = st.vc
    w = v[0]
    tid = st.tid
    if w:  # (_ordered() inlined here and below: this runs after every release)
        t = w & MASK
        if t != tid and (t >= len(vc) or (w >> SHIFT) > vc[t]):
            _S.report(o, key, t, v[2], v[3], True, st, site, False)
    if type(r) is int:
        t = r & MASK
        if r == 0 or t == tid or (t < len(vc) and (r >> SHIFT) <= vc[t]):
            v[1] = e
            v[4] = site
            v[5] = st.ctx
        else:
            v[1] = {r & MASK: (r >> SHIFT, v[4], v[5]), tid: (vc[tid], site, st.ctx)}
    else:
        mine = r.get(tid)
        if mine is None or mine[0] != vc[tid]:
            r[tid] = (vc[tid], site, st.ctx)


def _write(v: list[Any], st: ThreadState, site: int, o: Any, key: Any) -> None:
    e = st.epoch
    w = v[0]
    if w == e:
        return
    r = v[1]
    if r == e:
        # This thread's read of this epoch is the last access (``x += 1``): that read found
        # the write before it ordered, and kept the reads before it only if they were ordered
        # too (unordered ones make the read-shared dict): nothing left to check.
        v[0] = e
        v[1] = 0
        v[2] = site
        v[3] = st.ctx
        return
    vc = st.vc
    tid = st.tid
    if w:
        t = w & MASK
        if t != tid and (t >= len(vc) or (w >> SHIFT) > vc[t]):
            _S.report(o, key, t, v[2], v[3], True, st, site, True)
    if type(r) is int:
        t = r & MASK
        if r and t != tid and (t >= len(vc) or (r >> SHIFT) > vc[t]):
            _S.report(o, key, t, v[4], v[5], False, st, site, True)
    else:
        for t, (c, s, x) in list(r.items()):
            if t != tid and (t >= len(vc) or c > vc[t]):
                _S.report(o, key, t, s, x, False, st, site, True)
    v[0] = e
    v[1] = 0
    v[2] = site
    v[3] = st.ctx


def _struct_read(v: list[Any], st: ThreadState, site: int, o: Any) -> None:
    vc = st.vc
    tid = st.tid
    for t, (c, s, x) in list(v[0].items()):
        if t != tid and (t >= len(vc) or c > vc[t]):
            _S.report(o, _STRUCT, t, s, x, True, st, site, False)
    _read_mark(v, st, site)


def _read_mark(v: list[Any], st: ThreadState, site: int) -> None:
    r = v[1]
    vc = st.vc
    tid = st.tid
    if type(r) is int:
        if r == 0 or (r & MASK) == tid or _ordered(r, vc):
            v[1] = st.epoch
            v[4] = site
            v[5] = st.ctx
        else:
            v[1] = {r & MASK: (r >> SHIFT, v[4], v[5]), tid: (vc[tid], site, st.ctx)}
    else:
        r[tid] = (vc[tid], site, st.ctx)


def _struct_write(v: list[Any], st: ThreadState, site: int, o: Any) -> None:
    vc = st.vc
    tid = st.tid
    r = v[1]
    if type(r) is int:
        if r and (r & MASK) != tid and not _ordered(r, vc):
            _S.report(o, _STRUCT, r & MASK, v[4], v[5], False, st, site, True)
    else:
        for t, (c, s, x) in list(r.items()):
            if t != tid and (t >= len(vc) or c > vc[t]):
                _S.report(o, _STRUCT, t, s, x, False, st, site, True)
    # reads are kept: writes of a structure do not conflict with each other, so a later
    # write by another thread must still meet the reads this one was ordered after
    v[0][tid] = (vc[tid], site, st.ctx)


# -- the entry points rewritten code calls --------------------------------------------------
def ra(o: Any, name: str, site: int) -> Any:
    """Check a read of ``o.name``; return ``o``."""
    if _C.solo:
        return o
    info = TINFO.get(type(o)) or type_info(o)
    if info[0] or name in info[1]:
        return o
    obj = o
    owners = info[3]
    if owners is not None and (owners is BY_MRO or name in owners):
        obj = through_class(o, name, owners)
    try:
        st = _local.st
    except AttributeError:
        st = _S.adopt()
    st.checked += 1
    m = _S.attrs.get(id(obj))
    if m is None:
        m = _S.table(obj, _S.attrs)
    v = m.get(name)
    if v is None:  # setdefault: another thread's first access may be in
        v = m.setdefault(name, [0, st.epoch, 0, (), site, st.ctx])
    if v[1] != st.epoch:
        _read(v, st, site, obj, name)
    return o


def wa(o: Any, name: str, site: int) -> Any:
    """Check a write (or delete) of ``o.name``; return ``o``."""
    if _C.solo:
        return o
    info = TINFO.get(type(o)) or type_info(o)
    if info[0] or name in info[1]:
        return o
    try:
        st = _local.st
    except AttributeError:
        st = _S.adopt()
    st.checked += 1
    m = _S.attrs.get(id(o))
    if m is None:
        m = _S.table(o, _S.attrs)
    v = m.get(name)
    if v is None:  # setdefault: another thread's first access may be in
        v = m.setdefault(name, [st.epoch, 0, site, st.ctx, 0, ()])
    if v[0] != st.epoch:
        _write(v, st, site, o, name)
    return o


def _item_key(o: Any, key: Any) -> Any:
    t = type(key)
    if t is int:
        if key < 0 and not issubclass(type(o), dict):
            key += len(o)  # list, bytearray, deque: len() runs no user code
        return key
    if t in SAFE_KEYS:
        return key
    if t is tuple and all(type(k) in SAFE_KEYS for k in key):
        return key
    if t is slice:
        return _STRUCT
    return (_IDKEY, id(key))  # an object key: its own __hash__/__eq__ is never called here


def ri(o: Any, key: Any, site: int) -> Any:
    """Check a read of ``o[key]`` (built-in containers only); return ``o``."""
    if _C.solo:
        return o
    info = TINFO.get(type(o)) or type_info(o)
    if not info[2]:
        return o
    st = _me()
    st.checked += 1
    k = _item_key(o, key)
    m = _S.items.get(id(o))
    if m is None:
        m = _S.table(o, _S.items)
    if k is _STRUCT:
        _struct(m, st, site, o, False)
        return o
    v = m.get(k)
    if v is None:  # setdefault: another thread's first access may be in
        v = m.setdefault(k, [0, st.epoch, 0, (), site, st.ctx])
    if v[1] != st.epoch:
        _read(v, st, site, o, key)
    return o


def wi(o: Any, key: Any, site: int) -> Any:
    """Check a write (or delete) of ``o[key]``; a dict's new key also writes its structure."""
    if _C.solo:
        return o
    info = TINFO.get(type(o)) or type_info(o)
    if not info[2]:
        return o
    st = _me()
    st.checked += 1
    k = _item_key(o, key)
    m = _S.items.get(id(o))
    if m is None:
        m = _S.table(o, _S.items)
    if k is _STRUCT or not issubclass(type(o), dict | bytearray | list | deque):
        _struct(m, st, site, o, True)
        return o
    if issubclass(type(o), dict) and (
        (type(k) is tuple and len(k) == 2 and k[0] is _IDKEY) or k not in o
    ):
        _struct(m, st, site, o, True)
    v = m.get(k)
    if v is None:  # setdefault: another thread's first access may be in
        v = m.setdefault(k, [st.epoch, 0, site, st.ctx, 0, ()])
    if v[0] != st.epoch:
        _write(v, st, site, o, key)
    return o


def _struct(m: dict[Any, list[Any]], st: ThreadState, site: int, o: Any, write: bool) -> None:
    v = m.get(_STRUCT)
    if v is None:
        v = m.setdefault(_STRUCT, [{}, 0, 0, (), 0, ()])
    if write:
        mine = v[0].get(st.tid)
        if mine is None or mine[0] != st.vc[st.tid]:
            _struct_write(v, st, site, o)
    elif v[1] != st.epoch:
        _struct_read(v, st, site, o)


def rs(o: Any, site: int) -> Any:
    """Check a read of ``o``'s structure (size, membership, iteration); return ``o``."""
    if _C.solo:
        return o
    info = TINFO.get(type(o)) or type_info(o)
    if info[2]:
        st = _me()
        st.checked += 1
        m = _S.items.get(id(o))
        if m is None:
            m = _S.table(o, _S.items)
        _struct(m, st, site, o, False)
    elif type(o) in GENERATORS:
        _exec(o, site)
    return o


def ws(o: Any, site: int) -> Any:
    """Check a write of ``o``'s structure; return ``o``."""
    if _C.solo:
        return o
    info = TINFO.get(type(o)) or type_info(o)
    if info[2]:
        st = _me()
        st.checked += 1
        m = _S.items.get(id(o))
        if m is None:
            m = _S.table(o, _S.items)
        _struct(m, st, site, o, True)
    return o


def rm(o: Any, name: str, site: int) -> Any:
    """``o.name(...)`` is about to run: check it as a structure read or write; return ``o``."""
    if _C.solo:
        return o
    op = METHODS.get(name)
    if op is None:
        return o
    info = TINFO.get(type(o)) or type_info(o)
    if not info[2]:
        return o
    st = _me()
    st.checked += 1
    m = _S.items.get(id(o))
    if m is None:
        m = _S.table(o, _S.items)
    _struct(m, st, site, o, op == "w")
    return o


def rx(o: Any, site: int) -> Any:
    """``next(o)``: a generator's execution is written (two threads running one race)."""
    if _C.solo:
        return o
    if type(o) in GENERATORS:
        _exec(o, site)
    return o


def _exec(o: Any, site: int) -> None:
    st = _me()
    st.checked += 1
    m = _S.attrs.get(id(o))
    if m is None:
        m = _S.table(o, _S.attrs)
    v = m.get(_EXEC)
    if v is None:  # setdefault: another thread's first access may be in
        v = m.setdefault(_EXEC, [st.epoch, 0, site, st.ctx, 0, ()])
    if v[0] != st.epoch:
        _write(v, st, site, o, _EXEC)


STRUCT = _STRUCT
EXEC = _EXEC


def gi(o: Any, key: Any, site: int) -> Any:
    """``o[key]`` after checking the read (for keys that cannot be evaluated twice)."""
    return ri(o, key, site)[key]
