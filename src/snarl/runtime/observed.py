"""The observer's records read as plain data: owners, waiters, exits (for dumps and the watchdog).

:func:`state_of` and :func:`lock_facts_of` read an :class:`~snarl.runtime.observer.
ObserverRuntime`'s records without taking any lock (a watchdog calls them while every other
thread may be stuck); :func:`wait_edges` turns the result into wait-for edges.  The shape of
the data is documented in :mod:`snarl.runtime.observer`.
"""

from __future__ import annotations

import gc
import sys
import threading
import time
from typing import Any

from ..frames import current_frames
from ..identity import Site, infer_name

__all__ = ["lock_facts_of", "state_of", "still_held_from_exit", "wait_edges"]


def state_of(rt: Any, all_locks: bool = False) -> dict[str, Any]:
    """``rt``'s records as plain data (the shape :func:`snarl.runtime.observer.tracked_state`
    documents)."""
    running = set(current_frames())
    active = dict(threading._active)  # type: ignore[attr-defined]
    waits_out: dict[int, dict[str, Any]] = {}
    waiters: dict[int, list[list[float]]] = {}
    waited: dict[int, Any] = {}
    for ident, w in list(rt.waits.items()):
        obj = w.obj
        entry: dict[str, Any] = {
            "object": id(obj),
            "type": _type_name(obj),
            "name": _name_of(obj),
            "kind": w.kind or getattr(obj, "_snarl_kind", "unknown"),
            "since": w.since,
            "created": _site_pair(getattr(obj, "_site_created", None)),
            "target": getattr(obj, "ident", None) if w.kind == "join" else None,
            "lock": None,
        }
        under = getattr(obj, "_snarl_lock", None) or getattr(obj, "_lock", None)
        if under is not None:
            entry["lock"] = id(under)
        if hasattr(obj, "_inner"):
            waiters.setdefault(id(obj), []).append([ident, w.since])
            waited[id(obj)] = obj
        waits_out[ident] = entry
    # Read after the waits: a wait recorded while they were read (free-threaded builds run
    # the waiter meanwhile) began before ``now``, never after it.
    now = time.monotonic()
    locks: dict[int, dict[str, Any]] = {}
    for prim in _all_locks() if all_locks else list(rt.bare or ()):
        key = id(prim)
        if all_locks or key in waited or _locked(prim):
            locks[key] = _lock_facts(rt, prim, now, running, active, waiters.get(key, []))
    for key, prim in waited.items():
        if key not in locks:
            locks[key] = _lock_facts(rt, prim, now, running, active, waiters[key])
    exited = {}
    for ident, rec in list(rt.exited.items()):
        still = [k for k in rec["held"] if still_held_from_exit(rt, k)]
        if still:
            exited[ident] = {"name": rec["name"], "at": rec["at"], "held": still}
        else:  # every lock it left has been released since: forget the thread
            rt.exited.pop(ident, None)
            for k in rec["held"]:
                rt.exit_records.pop(k, None)
    return {"now": now, "locks": locks, "waits": waits_out, "exited": exited}


def lock_facts_of(rt: Any, prim: Any) -> dict[str, Any]:
    """One lock's entry of :func:`state_of` (for a lock found some other way: a dump finds
    locks held by ``with`` on the owner's stack)."""
    return _lock_facts(
        rt,
        prim,
        time.monotonic(),
        set(current_frames()),
        dict(threading._active),  # type: ignore[attr-defined]
        [],
    )


def still_held_from_exit(rt: Any, key: int) -> bool:
    """Whether the lock whose exit record is ``key`` is still held as its exited owner left
    it."""
    rec = rt.exit_records.get(key)
    prim = rec[4]() if rec is not None else None
    return (
        rec is not None
        and prim is not None
        and _locked(prim)
        and prim._owner == rec[0]
        and prim._site == rec[3]
    )


def _lock_facts(
    rt: Any,
    prim: Any,
    now: float,
    running: set[int],
    active: dict[int, Any],
    waiting: list[list[float]],
) -> dict[str, Any]:
    owner = prim._owner
    locked = _locked(prim)
    if not locked:
        owner = None
    exited = None
    rec = rt.exit_records.get(id(prim))
    if rec is not None and still_held_from_exit(rt, id(prim)):
        exited = {"ident": rec[0], "name": rec[1], "at": rec[2]}
    owner_thread = active.get(owner) if owner is not None else None
    stack = getattr(prim, "_stack", None)
    part_of = getattr(prim, "_part_of", None)
    return {
        "id": id(prim),
        "type": _type_name(prim),
        "name": _name_of(prim),
        "created": _site_pair(prim._site_created),
        "part_of": part_of,
        "locked": locked,
        "owner": owner,
        "owner_name": exited["name"]
        if exited
        else (owner_thread.name if owner_thread is not None else None),
        "owner_alive": None if owner is None else (owner in running and exited is None),
        "owner_exited": exited,
        "count": getattr(prim, "_count", 1 if locked else 0) if locked else 0,
        "acquired": _site_pair(prim._site) if owner is not None else None,
        "since": getattr(prim, "_since", None) if stack and owner is not None else None,
        "stack": [[f.filename, f.lineno, f.name] for f in stack] if stack else None,
        "waiters": sorted(waiting, key=lambda w: w[1]),
    }


def _type_name(obj: Any) -> str:
    """The public class name: a hooked variant reports as the class it stands for."""
    cls = type(obj)
    return getattr(cls, "_snarl_type", None) or cls.__name__


def _all_locks() -> list[Any]:
    """Every snarl Lock and RLock alive (a scan of the garbage collector's objects: slow, for
    ``tracked_state(all_locks=True)`` only)."""
    lock_module = sys.modules.get("snarl.sync.lock")
    if lock_module is None:
        return []
    base = lock_module._Base
    return [o for o in gc.get_objects() if issubclass(type(o), base)]


def _locked(prim: Any) -> bool:
    try:
        return bool(prim.locked())  # the primitive's own answer (an RLock asks its C lock)
    except Exception:
        return False


def _name_of(obj: Any) -> str | None:
    name = getattr(obj, "_name", None)
    if isinstance(name, str):
        return name
    site = getattr(obj, "_site_created", None)
    if site is not None:
        return infer_name(site)
    if isinstance(getattr(obj, "name", None), str):  # a Thread
        return obj.name
    return None


def _site_pair(site: Site | None) -> list[Any] | None:
    if site is None:
        return None
    return [site.filename, site.lineno]


def wait_edges(state: dict[str, Any]) -> list[tuple[int, int, dict[str, Any]]]:
    """The wait-for edges a :func:`tracked_state` result proves (see the module docstring)."""
    edges: list[tuple[int, int, dict[str, Any]]] = []
    locks = state["locks"]
    for ident, wait in state["waits"].items():
        if wait["kind"] in ("lock", "rlock"):
            lock = locks.get(wait["object"])
            if lock is None or lock["owner"] is None or lock["owner_exited"] is not None:
                continue
            payload = dict(wait, holder_basis="tracked", acquired=lock["acquired"])
            edges.append((ident, lock["owner"], payload))
        elif wait["kind"] == "join" and wait["target"] is not None:
            edges.append((ident, wait["target"], dict(wait, holder_basis="joined")))
    return edges
