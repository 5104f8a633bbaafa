"""What snarl's instrumented primitives recorded (owners, waits, how long), merged into a
snapshot: read from the observer's tables without taking any lock."""

from __future__ import annotations

import sys
import time
from typing import Any

from .model import HeldLock, Holder, ObjectInfo
from .waits import Reading
from .waittables import LOCK_KINDS

__all__ = ["Tracked", "empty_state", "is_tracked", "observer", "tracked_state"]


def observer() -> Any:
    return sys.modules["snarl.runtime.observer"].OBSERVER


def empty_state() -> dict[str, Any]:
    return {"now": time.monotonic(), "locks": {}, "waits": {}, "exited": {}}


def is_tracked(lock: Any) -> bool:
    """Whether ``lock`` is one of snarl's Lock/RLock classes (checked on its type alone)."""
    module = sys.modules.get("snarl.sync.lock")
    return module is not None and issubclass(type(lock), module._Base)


def tracked_state() -> dict[str, Any] | None:
    """The observer's records, when snarl's tracked primitives are in use (else None)."""
    observer = sys.modules.get("snarl.runtime.observer")
    if observer is None:
        return None
    try:
        state = observer.tracked_state()
    except Exception:  # a dump reports what it can; the records are a bonus
        return None
    patch = sys.modules.get("snarl.sync.patch")
    if state["locks"] or state["waits"] or (patch is not None and patch.installed()):
        return state
    return None


_TRACKED_KINDS = {"join": "thread-join"}


def tracked_type(name: str) -> str:
    """The records' class name (``"Lock"``) spelled as frames spell it: snarl.sync.lock.Lock."""
    cls = getattr(sys.modules.get("snarl.sync"), name, None)
    if isinstance(cls, type):
        return f"{cls.__module__}.{cls.__qualname__}"
    return f"snarl.sync.{name}"


class Tracked:
    """What snarl's instrumented primitives recorded, merged into a snapshot.

    Owners recorded by the primitives are certain (basis ``tracked``), and cover locks taken
    with a bare ``acquire()`` and owners that have exited; waits get how long they have lasted.
    """

    def __init__(
        self, state: dict[str, Any], names: dict[int, str | None], frames: dict[int, Any]
    ) -> None:
        self.now: float = state["now"]
        self.locks: dict[int, dict[str, Any]] = state["locks"]
        self.waits: dict[int, dict[str, Any]] = state["waits"]
        self.names = names
        self.alive = frames
        # Where owners took locks, read from their with-blocks (an uncontended `with` does not
        # record it): lock id -> (filename, line).
        self.sites: dict[int, tuple[str, int | None]] = {}
        # A Condition's internal lock is shown as the Condition its owner's `with` names.
        self.labels: dict[int, ObjectInfo] = {}
        # How frames name a lock that has no name of its own (`with self.left:`): lock id ->
        # name.  A tracked dump never knows less than an untracked one.
        self.lock_names: dict[int, str] = {}

    def _object(self, lock: dict[str, Any]) -> ObjectInfo:
        label = self.labels.get(lock["id"])
        if label is not None:
            return label
        name = lock["name"] if lock["part_of"] is None else None
        name = name or self.lock_names.get(lock["id"])
        return ObjectInfo(tracked_type(lock["type"]), lock["id"], name, lock["locked"])

    def _holder(self, lock: dict[str, Any]) -> Holder | None:
        site = lock["acquired"] or self.sites.get(lock["id"]) or (None, None)
        exited = lock["owner_exited"]
        if exited is not None:
            return Holder(exited["ident"], exited["name"], False, "tracked", site[0], site[1])
        owner = lock["owner"]
        if owner is None or not lock["locked"]:
            return None
        name = lock["owner_name"] or self.names.get(owner)
        return Holder(owner, name, owner in self.alive, "tracked", site[0], site[1])

    def add_holds(
        self, holds: dict[int, list[tuple[int, HeldLock]]], by_thread: dict[int, list[HeldLock]]
    ) -> None:
        for lock_id, lock in self.locks.items():
            holder = self._holder(lock)
            if holder is None or not holder.alive:
                continue
            info = HeldLock(self._object(lock), "tracked", holder.filename, holder.lineno)
            by_thread.setdefault(holder.ident, []).append(info)
            holds[lock_id] = [(holder.ident, info)]

    def overlay(self, ident: int, r: Reading) -> float | None:
        """Fill a reading from the thread's recorded wait; returns seconds waited, or None."""
        wait = self.waits.get(ident)
        if wait is None:
            return None
        if (
            r.kind in LOCK_KINDS
            and r.obj is not None
            and id(r.obj) != wait["object"]
            and is_tracked(r.obj)
        ):
            # The frames show a call on one of snarl's locks, the record a wait on another
            # object (a lock snarl takes while recording that acquisition): the record is right.
            r.kind = r.obj = r.name = r.call = None
        if r.kind is None or r.kind == "unknown":
            r.kind = _TRACKED_KINDS.get(wait["kind"], wait["kind"])
            r.state = "waiting"
            r.in_call = None
            lock = self.locks.get(wait["object"])
            r.tracked_object = (
                self._object(lock)
                if lock is not None
                else ObjectInfo(tracked_type(wait["type"]), wait["object"], wait["name"])
            )
            r.tracked_wait = wait
        return max(0.0, self.now - wait["since"])

    def holders(self, r: Reading) -> tuple[Holder, ...] | None:
        """The recorded holder of what a thread waits for; None if nothing is recorded."""
        wait = r.tracked_wait
        if r.kind == "thread-join" and wait is not None and wait["target"] is not None:
            target = wait["target"]
            return (Holder(target, self.names.get(target), target in self.alive, "joined"),)
        key = id(r.obj) if r.obj is not None else wait["object"] if wait is not None else None
        lock = self.locks.get(key)  # type: ignore[arg-type]
        if r.kind not in LOCK_KINDS or lock is None:
            return None
        holder = self._holder(lock)
        return (holder,) if holder is not None else ()

    def refine(self, info: ObjectInfo) -> ObjectInfo:
        """A lock's own name (``name=``, or its creating line) beats a frame's local alias."""
        lock = self.locks.get(info.id)
        if lock is None:
            return info
        name = lock["name"] if lock["part_of"] is None and lock["name"] else info.name
        return ObjectInfo(info.type, info.id, name, lock["locked"])
