"""Taking a snapshot: every thread's frames, read once, turned into the plain model.

Rules this module keeps, because a dump must never harm the program it inspects:

* No interpreter hazard is risked: stacks come from :func:`snarl.frames.read_frames` (raw
  frames, see :mod:`snarl.threaddump.raw`, while subinterpreters run on 3.12-3.13).
* No lock of the ``threading`` module is taken: the thread table is copied with
  ``dict.copy()`` (atomic in C) instead of ``threading.enumerate()``, and no ``Thread`` method
  is called (``is_alive()`` may take ``_shutdown_locks_lock`` on 3.10 to 3.12).
* No user code runs: objects are read through :mod:`snarl.threaddump.safe`; locals are rendered only
  on request (``locals=True``), with bounded, exception-proof reprs.
* Threads may start and finish meanwhile: each is read from the one
  :func:`snarl.frames.read_frames` taken at the start, and a thread missing from the table is
  still listed, unnamed.
* No frame is kept: the snapshot holds names and ids only.
"""

from __future__ import annotations

import gc
import linecache
import os
import platform
import sys
import time
from _thread import LockType, get_ident
from _thread import RLock as _CRLock
from types import FrameType
from typing import Any, NamedTuple

from .. import frames as _frames
from ..analysis.waitgraph import WaitGraph
from .bytecode import Call, WithBlock, call_at, line_at, unknown_note, with_blocks_at
from .model import (
    Deadlock,
    DeadlockStep,
    FrameInfo,
    HeldLock,
    Holder,
    ObjectInfo,
    Snapshot,
    ThreadInfo,
    WaitInfo,
)
from .raw import is_snarl_service, raw_threads
from .reprs import Reprs
from .safe import UNKNOWN, forget, get_attr, instance_dict, type_name
from .waits import LOCK_KINDS, Reading, idle_range, read_frames, tables, work_item_future

__all__ = ["snapshot"]

_lock_locked = LockType.locked
_rlock_repr = _CRLock.__repr__


def _is_snarl_frame(frame: FrameType) -> bool:
    """A frame of snarl's own modules (not of a script snarl runs, such as a bundled example)."""
    name = frame.f_globals.get("__name__")
    return type(name) is str and (name == "snarl" or name.startswith("snarl."))


def _build() -> str:
    flags = getattr(sys, "abiflags", "")
    parts = ["free-threading" if "t" in flags else "default"]
    if hasattr(sys, "gettotalrefcount"):
        parts.append("debug")
    return "+".join(parts)


_BUILD = _build()


def _gil_enabled() -> bool:
    probe = getattr(sys, "_is_gil_enabled", None)
    return bool(probe()) if probe is not None else True


# ---- frames -----------------------------------------------------------------------------------


def _walk(top: FrameType, hidden: dict[int, bool]) -> tuple[list[FrameType], list[int]]:
    """The frames from ``top`` outward, and the stack's signature: (code id, offset) per frame.

    snarl's own frames are left out (``hidden`` caches that per code): a thread waiting in a
    tracked Lock shows the line of user code that waits, as it would without snarl.
    """
    stack: list[FrameType] = []
    key: list[int] = []
    push, sign, is_hidden = stack.append, key.append, hidden.get  # the dump's hottest loop
    frame: FrameType | None = top
    while frame is not None:
        cid = id(frame.f_code)
        skip = is_hidden(cid)
        if skip is None:
            skip = hidden[cid] = _is_snarl_frame(frame)
        if not skip:
            push(frame)
            sign(cid)
            sign(frame.f_lasti)
        frame = frame.f_back
    return stack, key


_qualname_attr = "co_qualname" if sys.version_info >= (3, 11) else "co_name"


class _Statics:
    """Per-snapshot caches of what the bytecode says, so identical stacks cost one lookup.

    A stack's signature is the (code id, instruction) of each frame; threads parked at the same
    place (a pool) share one tuple of FrameInfo and one list of calls and with-blocks.  Ids are
    stable here because every frame stays alive until the snapshot is done.
    """

    __slots__ = ("frames", "reprs", "stacks", "tables", "with_locals")

    def __init__(self, with_locals: bool, tables: Any, reprs: Reprs | None = None) -> None:
        self.reprs = reprs
        self.tables = tables
        self.frames: dict[tuple[int, int], tuple[FrameInfo, Call | None, tuple[WithBlock, ...]]]
        self.frames = {}
        self.stacks: dict[tuple[int, ...], _Static] = {}
        self.with_locals = with_locals

    def read(self, stack: list[FrameType], key: tuple[int, ...]) -> _Static:
        static = self.stacks.get(key)
        if static is None:
            static = self.stacks[key] = self._build(stack)
        if self.with_locals:
            infos = tuple(
                info._replace(locals=_locals_of(frame, self.reprs))
                for info, frame in zip(static.infos, stack, strict=True)
            )
            static = static._replace(infos=infos)
        return static

    def _build(self, stack: list[FrameType]) -> _Static:
        infos, calls, withs = [], [], []
        for frame in stack:
            code = frame.f_code
            key = (id(code), frame.f_lasti)
            found = self.frames.get(key)
            if found is None:
                lineno = line_at(code, frame.f_lasti)
                if lineno is None:
                    lineno = frame.f_lineno
                found = self.frames[key] = (
                    _frame_info(code, lineno),
                    call_at(code, frame.f_lasti),
                    with_blocks_at(code, frame.f_lasti),
                )
            infos.append(found[0])
            calls.append(found[1])
            withs.append(found[2])
        with_at = tuple(i for i, blocks in enumerate(withs) if blocks)
        return _Static(tuple(infos), calls, withs, idle_range(stack, self.tables), with_at)


class _Static(NamedTuple):
    infos: tuple[FrameInfo, ...]
    calls: list[Call | None]
    withs: list[tuple[WithBlock, ...]]
    idle: tuple[int, int]
    with_at: tuple[int, ...]


def _frame_info(code: Any, lineno: int | None) -> FrameInfo:
    filename = code.co_filename
    source = linecache.getline(filename, lineno).strip() if lineno else ""
    return FrameInfo(filename, lineno, getattr(code, _qualname_attr), source)


def _locals_of(frame: FrameType, reprs: Any) -> tuple[tuple[str, str], ...]:
    try:
        items = list(frame.f_locals.items())
    except Exception:
        return ()
    # Names are the code's own (str); values are shown by the bounded, abandonable reprs.
    return tuple((name if type(name) is str else "?", reprs(value)) for name, value in items)


# ---- thread identity --------------------------------------------------------------------------


class _Identity:
    """Maps an ident and its stack to the Thread object that really owns it."""

    def __init__(self) -> None:
        threading = sys.modules.get("threading")
        self.threading = threading
        self.active: dict[int, Any] = threading._active.copy() if threading else {}
        self.main = getattr(threading, "_main_thread", None)
        thread_cls = getattr(threading, "Thread", None)
        bootstrap = getattr(thread_cls, "_bootstrap", None)
        self.bootstrap_code = getattr(bootstrap, "__code__", None)
        self.dummy_cls = getattr(threading, "_DummyThread", None)
        self._live_tids: set[int] | None = None

    def thread_of(self, ident: int, stack: list[FrameType]) -> Any:
        bottom = stack[-1] if stack else None
        if bottom is not None and bottom.f_code is self.bootstrap_code:
            try:
                owner = bottom.f_locals.get("self")
            except Exception:
                owner = None
            if owner is not None:
                return owner
        candidate = self.active.get(ident)
        if candidate is None or candidate is self.main:
            return candidate
        if self.dummy_cls is not None and type(candidate) is self.dummy_cls:
            return candidate if self._dummy_alive(candidate) else None
        # A registered Thread always runs under Thread._bootstrap: without it, the ident was
        # reused by a thread threading knows nothing of.
        return None

    def _dummy_alive(self, dummy: Any) -> bool:
        handle = _field(dummy, "_handle")
        is_done = getattr(type(handle), "is_done", None) if handle is not None else None
        if is_done is not None:
            try:
                if is_done(handle):
                    return False
            except Exception:
                pass
        # (3.13's handle of a dummy is never marked done, and the dummy leaves threading's
        # table only when its thread state is freed, later on a free-threaded build: by then
        # the ident may be another thread's.  Native ids are not reused at once.)
        native = _field(dummy, "_native_id")
        if native is None:
            return True
        if self._live_tids is None:
            try:
                self._live_tids = {int(t) for t in os.listdir("/proc/self/task")}
            except OSError:
                self._live_tids = set()
        return not self._live_tids or native in self._live_tids


def _field(obj: Any, name: str) -> Any:
    ns = instance_dict(obj)
    return ns.get(name) if ns is not None else None


# ---- ownership --------------------------------------------------------------------------------


def _lock_owner(lock: Any, lock_types: Any) -> tuple[bool | None, int | None]:
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
        return _lock_owner(inner, lock_types)
    if tp in lock_types:  # threading._PyRLock
        owner = get_attr(lock, "_owner")
        if owner is UNKNOWN:
            return None, None
        return owner is not None, owner if type(owner) is int else None
    return None, None


def _underlying_lock(obj: Any, lock_types: Any) -> Any:
    if type(obj) in lock_types:
        return obj
    lock = get_attr(obj, "_lock")  # threading.Condition
    return lock if type(lock) in lock_types else UNKNOWN


def _object_info(obj: Any, name: str | None, lock_types: Any) -> ObjectInfo:
    lock = _underlying_lock(obj, lock_types)
    locked = _lock_owner(lock, lock_types)[0] if lock is not UNKNOWN else None
    return ObjectInfo(type_name(obj), id(obj), name, locked)


# ---- snapshot ---------------------------------------------------------------------------------


def snapshot(*, locals: bool = False) -> Snapshot:
    """Take a :class:`Snapshot` of every live thread of this process.

    ``locals=True`` adds each frame's local variables as bounded reprs; that is the only case
    in which user code (``__repr__``) runs.
    """
    started = time.perf_counter()
    taken_at = time.time()
    current = get_ident()
    # A snapshot allocates many small objects; a collection triggered meanwhile would walk
    # every frame of every thread.  Collections wait until it is done (and none are lost).
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        # (on a free-threaded build the other threads are parked until the block ends)
        with _frames.held_frames() as reading:
            if reading.stacks is not None:  # no frame objects to be had safely: raw frames
                return _raw_snapshot(reading, current, started, taken_at)
            frames = reading.frames
            del reading
            reprs = Reprs() if locals else None
            try:
                return _snapshot(frames, current, reprs, started, taken_at)
            finally:
                del frames
                if reprs is not None:
                    reprs.close()
    finally:
        if gc_was_enabled:
            gc.enable()


def _process(started: float, taken_at: float) -> dict[str, Any]:
    """The fields every snapshot has of the process itself, and how long the snapshot took."""
    return {
        "pid": os.getpid(),
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "build": _BUILD,
        "gil_enabled": _gil_enabled(),
        "switch_interval": sys.getswitchinterval(),
        "taken_at": taken_at,
        "duration": time.perf_counter() - started,
    }


def _raw_snapshot(reading: Any, current: int, started: float, taken_at: float) -> Snapshot:
    return Snapshot(
        **_process(started, taken_at),
        tracked=False,
        threads=tuple(raw_threads(reading.stacks, current)),
        notes=(reading.note,),
    )


class _Thread:
    __slots__ = ("fields", "frames", "ident", "obj", "reading", "stack")

    def __init__(
        self,
        ident: int,
        obj: Any,
        stack: list[FrameType],
        reading: Reading,
        frames: tuple[FrameInfo, ...],
        fields: dict[str, Any],
    ) -> None:
        self.ident, self.obj, self.stack, self.reading = ident, obj, stack, reading
        self.frames, self.fields = frames, fields


def _snapshot(
    frames: dict[int, FrameType], current: int, reprs: Any, started: float, taken_at: float
) -> Snapshot:
    forget()
    tb = tables()
    lock_types = tb.lock_types
    identity = _Identity()
    statics = _Statics(reprs is not None, tb, reprs)
    threads: list[_Thread] = []
    names: dict[int, str | None] = {}
    hidden: dict[int, bool] = {}
    # Main thread first, then threads in the order threading registered them (start order).
    order = {ident: i for i, ident in enumerate(identity.active)}
    main_ident = _field(identity.main, "_ident") if identity.main is not None else None
    idents = sorted(frames, key=lambda i: (i != main_ident, order.get(i, len(order)), i))
    # Walk every stack first, then read snarl's records at once: other threads may run
    # whenever the interpreter switches, so the two views are taken as close together as can be.
    walks = [(ident, *_walk(frames[ident], hidden)) for ident in idents]
    state = _tracked_state()
    tracked = _Tracked(state, names, frames) if state is not None else None
    for ident, stack, key in walks:
        obj = identity.thread_of(ident, stack)
        fields = instance_dict(obj) if obj is not None else None
        if fields and is_snarl_service(fields.get("_target")):
            continue  # snarl's own watchdog, agent: not the program's threads
        static = statics.read(stack, tuple(key))
        reading = read_frames(
            stack,
            static.calls,
            static.withs,
            tb,
            waits=ident != current,
            idle=static.idle,
            with_at=static.with_at,
        )
        threads.append(_Thread(ident, obj, stack, reading, static.infos, fields or {}))
        names[ident] = fields.get("_name") if fields is not None else None

    # Who holds what: tracked owners (certain), then with-blocks checked against the lock's own
    # state, and RLock owners.
    holds: dict[int, list[tuple[int, HeldLock]]] = {}
    held_by_thread: dict[int, list[HeldLock]] = {}
    for th in threads:
        for held in th.reading.held:
            lock = _underlying_lock(held.obj, lock_types)
            if lock is UNKNOWN:
                continue
            released = th.reading.released
            if released is not None and lock is _underlying_lock(released, lock_types):
                continue  # inside `with cond:` but waiting in cond.wait(): the lock is let go
            locked, owner = _lock_owner(lock, lock_types)
            if not locked or (owner is not None and owner != th.ident):
                continue  # the inference is contradicted: released by hand inside the block
            frame = th.stack[held.frame_index]
            if id(lock) not in (tracked.locks if tracked is not None else ()) and _is_tracked(
                lock
            ):  # a snarl lock held by `with`: the observer keeps no record, the lock does
                if tracked is None:
                    tracked = _Tracked(_empty_state(), names, frames)
                tracked.locks[id(lock)] = _observer().lock_facts(lock)
            if tracked is not None and id(lock) in tracked.locks:
                # A tracked lock's owner is recorded; a `with` gives the line it was taken at.
                tracked.sites.setdefault(id(lock), (frame.f_code.co_filename, held.lineno))
                if held.obj is not lock:  # `with cond:` holds the Condition's own lock
                    tracked.labels.setdefault(
                        id(lock), _object_info(held.obj, held.name, lock_types)
                    )
                continue
            basis = "rlock-owner" if owner is not None else "with-block"
            info = HeldLock(
                _object_info(held.obj, held.name, lock_types),
                basis,
                frame.f_code.co_filename,
                held.lineno,
            )
            held_by_thread.setdefault(th.ident, []).append(info)
            holds.setdefault(id(lock), []).append((th.ident, info))

    # A Lock has one holder: two with-block claims contradict each other (a lock released by
    # hand inside one block and taken in another), so neither is believed.
    for key, claims in list(holds.items()):
        if len(claims) > 1 and all(info.basis == "with-block" for _, info in claims):
            del holds[key]
            for ident, info in claims:
                held_by_thread[ident].remove(info)
    if tracked is not None:
        tracked.add_holds(holds, held_by_thread)

    running_futures: dict[int, int] = {}
    if tb.work_item_run is not None:
        for th in threads:
            fut = work_item_future(tb, th.stack)
            if fut is not UNKNOWN and fut is not None:
                running_futures[id(fut)] = th.ident

    graph: WaitGraph[WaitInfo] = WaitGraph()
    infos: list[ThreadInfo] = []
    dummy_cls = identity.dummy_cls
    objects: dict[tuple[int, str | None], ObjectInfo] = {}
    for th in threads:
        r = th.reading
        wait = None
        since = None
        if tracked is not None and th.ident != current and _in_snarl(frames[th.ident], hidden):
            since = tracked.overlay(th.ident, r)
        if (
            r.kind in LOCK_KINDS
            and (tracked is None or th.ident not in tracked.waits)
            and r.obj is not None
            and _is_tracked(r.obj)
        ):
            # snarl records every wait on its locks before it blocks: a thread on the call with
            # no record is not waiting (about to enter, or inside recording an acquisition).
            r.kind = r.obj = r.name = r.call = None
            r.state = "running"
        holders = None
        if r.kind is not None:
            holders = tracked.holders(r) if tracked is not None else None
            if holders is None:
                holders = _holders(th, r, holds, running_futures, names, frames, lock_types)
            if r.kind == "rlock" and any(h.ident == th.ident for h in holders):
                # No thread waits for an RLock it owns: it has just got it, and not yet noted
                # so (the interpreter's RLock knows its owner before snarl's record is gone).
                r.kind = r.obj = r.name = r.call = None
                r.state = "running"
        if r.kind is not None:
            assert holders is not None
            line = th.frames[min(r.wait_index, len(th.frames) - 1)]
            obj_info = r.tracked_object
            if r.obj is not None:
                key = (id(r.obj), r.name)
                obj_info = objects.get(key)
                if obj_info is None:
                    obj_info = _object_info(r.obj, r.name, lock_types)
                    if tracked is not None:
                        obj_info = tracked.refine(obj_info)
                    objects[key] = obj_info
            wait = WaitInfo(
                r.kind,
                obj_info,
                r.call,
                line.filename,
                line.lineno,
                line.function,
                line.source,
                holders,
                since,
            )
            for holder in holders:
                if holder.alive:
                    graph.add(th.ident, holder.ident, wait)
        obj = th.obj
        fields = th.fields
        infos.append(
            ThreadInfo(
                names[th.ident],
                th.ident,
                fields.get("_native_id"),
                fields.get("_daemonic"),
                obj is not None and obj is identity.main,
                th.ident == current,
                "_thread" if obj is None else "dummy" if type(obj) is dummy_cls else "threading",
                r.state,
                wait,
                th.frames,
                tuple(held_by_thread.get(th.ident, ())),
                r.in_call,
            )
        )
    deadlocks = tuple(
        Deadlock(
            tuple(DeadlockStep(w, names.get(w), wait, _holder_of(wait, h)) for w, h, wait in c)
        )
        for c in graph.cycles()
    )
    return Snapshot(
        **_process(started, taken_at),
        tracked=tracked is not None,
        threads=tuple(infos),
        deadlocks=deadlocks,
        notes=tuple(n for n in (unknown_note(),) if n is not None),
    )


def _in_snarl(top: FrameType, hidden: dict[int, bool]) -> bool:
    """Whether a thread's innermost frame is snarl's: only then is its recorded wait current."""
    return bool(hidden.get(id(top.f_code)))


def _observer() -> Any:
    return sys.modules["snarl.runtime.observer"].OBSERVER


def _empty_state() -> dict[str, Any]:
    return {"now": time.monotonic(), "locks": {}, "waits": {}, "exited": {}}


def _is_tracked(lock: Any) -> bool:
    """Whether ``lock`` is one of snarl's Lock/RLock classes (checked on its type alone)."""
    module = sys.modules.get("snarl.sync.lock")
    return module is not None and issubclass(type(lock), module._Base)


def _tracked_state() -> dict[str, Any] | None:
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


def _tracked_type(name: str) -> str:
    """The records' class name (``"Lock"``) spelled as frames spell it: snarl.sync.lock.Lock."""
    cls = getattr(sys.modules.get("snarl.sync"), name, None)
    if isinstance(cls, type):
        return f"{cls.__module__}.{cls.__qualname__}"
    return f"snarl.sync.{name}"


class _Tracked:
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

    def _object(self, lock: dict[str, Any]) -> ObjectInfo:
        label = self.labels.get(lock["id"])
        if label is not None:
            return label
        name = lock["name"] if lock["part_of"] is None else None
        return ObjectInfo(_tracked_type(lock["type"]), lock["id"], name, lock["locked"])

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
            and _is_tracked(r.obj)
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
                else ObjectInfo(_tracked_type(wait["type"]), wait["object"], wait["name"])
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


def _holder_of(wait: WaitInfo, ident: Any) -> Holder:
    return next(h for h in wait.holders if h.ident == ident)


def _holders(
    th: _Thread,
    r: Reading,
    holds: dict[int, list[tuple[int, HeldLock]]],
    running_futures: dict[int, int],
    names: dict[int, str | None],
    frames: dict[int, FrameType],
    lock_types: Any,
) -> tuple[Holder, ...]:
    obj = r.obj
    if obj is None:
        return ()
    if r.kind in LOCK_KINDS:
        found = [
            Holder(ident, names.get(ident), True, info.basis, info.filename, info.lineno)
            for ident, info in holds.get(id(obj), ())
        ]
        if not found:
            locked, owner = _lock_owner(obj, lock_types)
            if locked and owner is not None:
                found.append(Holder(owner, names.get(owner), owner in frames, "rlock-owner"))
        return tuple(found)
    if r.kind == "thread-join":
        ident = _field(obj, "_ident")
        if type(ident) is int:
            return (Holder(ident, _field(obj, "_name"), ident in frames, "joined"),)
        return ()
    if r.kind == "future-result":
        ident = running_futures.get(id(obj))
        if ident is not None:
            return (Holder(ident, names.get(ident), True, "running-task"),)
    return ()
