"""The hooks rewritten modules call, bound into their globals (:func:`bind`).

While no detector runs, a rewritten module holds the plain checks of :mod:`.shadow`, which
return at once.  :func:`activate` gives every rewritten module the hooks of the run starting:
the hottest (attribute, item and container-method checks) as closures over that run's state,
whose free variables are read faster than module globals; the others stay the plain ones.
"""

from __future__ import annotations

from typing import Any

from . import shadow
from .clock import Clocks
from .kinds import BY_MRO, METHODS, TINFO, through_class, type_info
from .shadow import (
    _STRUCT,
    Shadow,
    _item_key,
    _read,
    _struct,
    _write,
    gi,
    ra,
    ri,
    rm,
    rs,
    rx,
    wa,
    wi,
    ws,
)

__all__ = ["activate", "bind"]

_SLOW = {f"_snarl_{f.__name__}": f for f in (ra, wa, ri, wi, rs, ws, rm, rx, gi)}
_HOOKS: dict[str, Any] = dict(_SLOW)
_BOUND: dict[int, dict[str, Any]] = {}  # the globals of rewritten modules, by id


def activate(clocks: Clocks | None, state: Shadow | None, local: Any = None) -> None:
    """Make ``clocks``/``state`` the run the checks serve (None, None: no detector), and give
    every rewritten module the matching hooks."""
    shadow.activate(clocks, state)
    hooks = dict(_SLOW)
    if clocks is not None and state is not None:
        hooks.update(_fast(clocks, state, local))
    _HOOKS.clear()
    _HOOKS.update(hooks)
    for g in list(_BOUND.values()):
        g.update(_HOOKS)


def bind(module_globals: dict[str, Any]) -> None:
    """Give ``module_globals`` (a rewritten module's) the current hooks, now and later."""
    _BOUND[id(module_globals)] = module_globals
    module_globals.update(_HOOKS)


def _fast(C: Clocks, S: Shadow, local: Any) -> dict[str, Any]:
    """The hottest hooks as closures over one run's state (free variables are read faster
    than module globals, and nothing is looked up twice)."""
    attrs = S.attrs
    table = S.table
    tinfo = TINFO
    adopt = S.adopt
    by_mro = BY_MRO

    def ra(o: Any, name: str, site: int) -> Any:
        if C.solo:
            return o
        info = tinfo.get(type(o))
        if info is None:
            info = type_info(o)
        if info[0] or name in info[1]:
            return o
        obj = o
        owners = info[3]
        if owners is not None and (owners is by_mro or name in owners):
            obj = through_class(o, name, owners)
        try:
            st = local.st
        except AttributeError:
            st = adopt()
        st.checked += 1
        m = attrs.get(id(obj))
        if m is None:
            m = table(obj, attrs)
        v = m.get(name)
        if v is None:  # setdefault: another thread's first access may be in
            v = m.setdefault(name, [0, st.epoch, 0, (), site, st.ctx])
        r = v[1]
        if r == st.epoch:
            return o
        if type(r) is dict:  # read-shared: this thread read it this epoch?
            mine = r.get(st.tid)
            if mine is not None and mine[0] == st.vc[st.tid]:
                return o
        _read(v, st, site, obj, name)
        return o

    def wa(o: Any, name: str, site: int) -> Any:
        if C.solo:
            return o
        info = tinfo.get(type(o))
        if info is None:
            info = type_info(o)
        if info[0] or name in info[1]:
            return o
        try:
            st = local.st
        except AttributeError:
            st = adopt()
        st.checked += 1
        m = attrs.get(id(o))
        if m is None:
            m = table(o, attrs)
        v = m.get(name)
        if v is None:  # setdefault: another thread's first access may be in
            v = m.setdefault(name, [st.epoch, 0, site, st.ctx, 0, ()])
        if v[0] != st.epoch:
            _write(v, st, site, o, name)
        return o

    items = S.items

    def ri(o: Any, key: Any, site: int) -> Any:
        if C.solo:
            return o
        info = tinfo.get(type(o))
        if info is None:
            info = type_info(o)
        if not info[2]:
            return o
        try:
            st = local.st
        except AttributeError:
            st = adopt()
        st.checked += 1
        t = type(key)
        k = key if t is str or (t is int and key >= 0) else _item_key(o, key)
        m = items.get(id(o))
        if m is None:
            m = table(o, items)
        if k is _STRUCT:
            _struct(m, st, site, o, False)
            return o
        v = m.get(k)
        if v is None:  # setdefault: another thread's first access may be in
            v = m.setdefault(k, [0, st.epoch, 0, (), site, st.ctx])
        r = v[1]
        if r == st.epoch:
            return o
        if type(r) is dict:  # read-shared (a lookup table): this thread read it this epoch?
            mine = r.get(st.tid)
            if mine is not None and mine[0] == st.vc[st.tid]:
                return o
        _read(v, st, site, o, key)
        return o

    def gi(o: Any, key: Any, site: int) -> Any:
        return ri(o, key, site)[key]

    def rm(o: Any, name: str, site: int) -> Any:
        if C.solo:
            return o
        op = METHODS.get(name)
        if op is None:
            return o
        info = tinfo.get(type(o))
        if info is None:
            info = type_info(o)
        if not info[2]:
            return o
        try:
            st = local.st
        except AttributeError:
            st = adopt()
        st.checked += 1
        m = items.get(id(o))
        if m is None:
            m = table(o, items)
        v = m.get(_STRUCT)
        if v is not None:
            if op == "r":
                if v[1] == st.epoch:
                    return o
            else:
                mine = v[0].get(st.tid)
                if mine is not None and mine[0] == st.vc[st.tid]:
                    return o
        _struct(m, st, site, o, op == "w")
        return o

    return {"_snarl_ra": ra, "_snarl_wa": wa, "_snarl_ri": ri, "_snarl_gi": gi, "_snarl_rm": rm}
