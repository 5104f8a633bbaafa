"""Who holds a lock, read without running code: the interpreter's own records (a C lock's
state, an RLock's owner), snarl's locks' fields, and the holders of each kind of wait."""

from __future__ import annotations

from _thread import LockType
from _thread import RLock as _CRLock
from types import FrameType
from typing import Any

from .model import HeldLock, Holder, ObjectInfo, WaitInfo
from .safe import UNKNOWN, get_attr, type_name
from .threads import field
from .waittables import LOCK_KINDS

__all__ = ["holder_of", "holders", "lock_owner", "object_info", "underlying_lock"]

_lock_locked = LockType.locked
_rlock_repr = _CRLock.__repr__


def lock_owner(lock: Any, lock_types: Any) -> tuple[bool | None, int | None]:
    """(locked, owner ident) of a lock, read without running code; owner None if not recorded."""
    tp = type(lock)
    if tp is LockType:
        return bool(_lock_locked(lock)), None
    if tp is _CRLock:
        text = _rlock_repr(lock)
        if text.startswith("<unlocked"):
            return False, None
        owner = text.split(" owner=", 1)[1].split(" ", 1)[0] if " owner=" in text else ""
        return True, int(owner) if owner.isdigit() else None
    inner = get_attr(lock, "_inner")  # snarl's Lock and RLock: a C lock underneath
    if type(inner) is LockType:
        owner = get_attr(lock, "_owner")
        return bool(_lock_locked(inner)), owner if type(owner) is int else None
    if type(inner) is _CRLock:  # the interpreter keeps a snarl RLock's owner
        return lock_owner(inner, lock_types)
    if tp in lock_types:  # threading._PyRLock
        owner = get_attr(lock, "_owner")
        if owner is UNKNOWN:
            return None, None
        return owner is not None, owner if type(owner) is int else None
    return None, None


def underlying_lock(obj: Any, lock_types: Any) -> Any:
    if type(obj) in lock_types:
        return obj
    lock = get_attr(obj, "_lock")  # threading.Condition
    return lock if type(lock) in lock_types else UNKNOWN


def object_info(obj: Any, name: str | None, lock_types: Any) -> ObjectInfo:
    lock = underlying_lock(obj, lock_types)
    locked = lock_owner(lock, lock_types)[0] if lock is not UNKNOWN else None
    return ObjectInfo(type_name(obj), id(obj), name, locked)


def holder_of(wait: WaitInfo, ident: Any) -> Holder:
    return next(h for h in wait.holders if h.ident == ident)


def holders(
    r: Any,
    holds: dict[int, list[tuple[int, HeldLock]]],
    running_futures: dict[int, tuple[int, Any]],
    names: dict[int, str | None],
    frames: dict[int, FrameType],
    lock_types: Any,
) -> tuple[Holder, ...]:
    """The threads that must act for the wait ``r`` (a thread's reading) to end, as far as
    frames and the interpreter's records tell: a lock's holder, the joined thread, the pool
    thread running the awaited future's task."""
    obj = r.obj
    if obj is None:
        return ()
    if r.kind in LOCK_KINDS:
        found = [
            Holder(ident, names.get(ident), True, info.basis, info.filename, info.lineno)
            for ident, info in holds.get(id(obj), ())
        ]
        if not found:
            locked, owner = lock_owner(obj, lock_types)
            if locked and owner is not None:
                found.append(Holder(owner, names.get(owner), owner in frames, "rlock-owner"))
        return tuple(found)
    if r.kind == "thread-join":
        ident = field(obj, "_ident")
        if type(ident) is int:
            return (Holder(ident, field(obj, "_name"), ident in frames, "joined"),)
        return ()
    if r.kind == "future-result":
        running = running_futures.get(id(obj))
        if running is not None:
            return (Holder(running[0], names.get(running[0]), True, "running-task"),)
    return ()
