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
import os
import platform
import sys
import time
from _thread import get_ident
from dataclasses import replace
from types import FrameType
from typing import Any

from .. import frames as _frames
from ..analysis.waitgraph import WaitGraph
from .bytecode import unknown_note
from .model import (
    Deadlock,
    DeadlockStep,
    FrameInfo,
    HeldLock,
    ObjectInfo,
    Snapshot,
    ThreadInfo,
    WaitInfo,
)
from .owners import holder_of, holders, lock_owner, object_info, underlying_lock
from .pools import future_state, read_pools
from .raw import is_snarl_service, raw_threads
from .reprs import Reprs
from .safe import UNKNOWN, forget, get_attr, instance_dict
from .stacks import Statics, steady_walks, walk
from .threads import Identity, field
from .tracked import Tracked, empty_state, is_tracked, observer, tracked_state
from .waits import LOCK_KINDS, Reading, read_frames, tables

__all__ = ["snapshot"]


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
    identity = Identity()
    statics = Statics(reprs is not None, tb, reprs)
    threads: list[_Thread] = []
    names: dict[int, str | None] = {}
    hidden: dict[int, bool] = {}
    # Main thread first, then threads in the order threading registered them (start order).
    order = {ident: i for i, ident in enumerate(identity.active)}
    main_ident = field(identity.main, "_ident") if identity.main is not None else None
    idents = sorted(frames, key=lambda i: (i != main_ident, order.get(i, len(order)), i))
    # Walk every stack first (again for a thread that moved meanwhile: no torn stack), then
    # read snarl's records at once: other threads may run whenever the interpreter switches,
    # so the two views are taken as close together as can be.
    walks = {ident: walk(frames[ident], hidden) for ident in idents}
    frames = steady_walks(walks, hidden, current)
    state = tracked_state()
    tracked = Tracked(state, names, frames) if state is not None else None
    for ident, (stack, key, _top, _lasti) in walks.items():
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
    holds, held_by_thread, tracked = _held_locks(threads, tracked, names, frames, lock_types)
    pools = read_pools(tb, {th.ident: th.stack for th in threads})
    graph: WaitGraph[WaitInfo] = WaitGraph()
    infos: list[ThreadInfo] = []
    dummy_cls = identity.dummy_cls
    objects: dict[tuple[int, str | None], ObjectInfo] = {}
    futures: dict[int, Any] = {}  # ident -> the future it waits for
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
            and is_tracked(r.obj)
        ):
            # snarl records every wait on its locks before it blocks: a thread on the call with
            # no record is not waiting (about to enter, or inside recording an acquisition).
            r.kind = r.obj = r.name = r.call = None
            r.state = "running"
        found = None
        if r.kind is not None:
            found = tracked.holders(r) if tracked is not None else None
            if found is None:
                found = holders(r, holds, pools.running, names, frames, lock_types)
            if r.kind == "rlock" and any(h.ident == th.ident for h in found):
                # No thread waits for an RLock it owns: it has just got it, and not yet noted
                # so (the interpreter's RLock knows its owner before snarl's record is gone).
                r.kind = r.obj = r.name = r.call = None
                r.state = "running"
        if r.kind is not None:
            assert found is not None
            line = th.frames[min(r.wait_index, len(th.frames) - 1)]
            obj_info = r.tracked_object
            if r.obj is not None:
                key = (id(r.obj), r.name)
                obj_info = objects.get(key)
                if obj_info is None:
                    obj_info = object_info(r.obj, r.name, lock_types)
                    if tracked is not None:
                        obj_info = tracked.refine(obj_info)
                    objects[key] = obj_info
            wait = WaitInfo(
                r.kind,  # type: ignore[arg-type]
                obj_info,
                r.call,
                line.filename,
                line.lineno,
                line.function,
                line.source,
                found,
                since,
            )
            _kind_facts(wait, r.obj, pools)
            if wait.kind == "future-result" and r.obj is not None:
                futures[th.ident] = r.obj
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
                r.state,  # type: ignore[arg-type]
                wait,
                th.frames,
                tuple(held_by_thread.get(th.ident, ())),
                r.in_call,
            )
        )
    stalled = pools.stalled(futures)
    states = {t.ident: t.state for t in infos}
    for t in infos:
        wait = t.wait
        if wait is None:
            continue
        if t.ident in stalled:  # a pool that can never progress: its workers wait in a ring
            wait.holders = stalled[t.ident]
        if wait.holders:
            wait.holders = tuple(
                replace(h, name=names.get(h.ident, h.name) if h.name is None else h.name,
                        state=states.get(h.ident, "unknown") if h.alive else "gone")
                for h in wait.holders
            )  # fmt: skip
            for h in wait.holders[:1] if t.ident in stalled else wait.holders:
                if h.alive:
                    graph.add(t.ident, h.ident, wait)
    deadlocks = tuple(
        Deadlock(tuple(DeadlockStep(w, names.get(w), wait, holder_of(wait, h)) for w, h, wait in c))
        for c in graph.cycles()
    )
    return Snapshot(
        **_process(started, taken_at),
        tracked=tracked is not None,
        threads=tuple(infos),
        deadlocks=deadlocks,
        notes=tuple(n for n in (unknown_note(),) if n is not None),
        deadlocks_checked=True,
    )


def _kind_facts(wait: WaitInfo, obj: Any, pools: Any) -> None:
    """The facts a wait of some kinds has: a ``Queue.join``'s unfinished tasks, a future's
    state and pool."""
    if obj is None:
        return
    if wait.kind == "queue-join":
        count = get_attr(obj, "unfinished_tasks")
        wait.unfinished = count if type(count) is int else None
    elif wait.kind == "future-result":
        wait.future_state = future_state(obj)
        pool = pools.pool_of(obj)
        wait.pool = pool.name if pool is not None else None


def _held_locks(
    threads: list[_Thread],
    tracked: Tracked | None,
    names: dict[int, str | None],
    frames: dict[int, FrameType],
    lock_types: Any,
) -> tuple[dict[int, list[tuple[int, HeldLock]]], dict[int, list[HeldLock]], Tracked | None]:
    """Who holds what: tracked owners (certain), then with-blocks checked against the lock's
    own state, and RLock owners.  Returns (lock id -> claims, thread -> held, tracked)."""
    holds: dict[int, list[tuple[int, HeldLock]]] = {}
    held_by_thread: dict[int, list[HeldLock]] = {}
    for th in threads:
        r = th.reading
        if tracked is not None and r.kind in LOCK_KINDS and r.obj is not None and r.name:
            # how the waiting code names a tracked lock names it for its holder too
            tracked.lock_names.setdefault(id(r.obj), r.name)
        for held in r.held:
            lock = underlying_lock(held.obj, lock_types)
            if lock is UNKNOWN:
                continue
            released = r.released
            if released is not None and lock is underlying_lock(released, lock_types):
                continue  # inside `with cond:` but waiting in cond.wait(): the lock is let go
            locked, owner = lock_owner(lock, lock_types)
            if not locked or (owner is not None and owner != th.ident):
                continue  # the inference is contradicted: released by hand inside the block
            frame = th.stack[held.frame_index]
            if id(lock) not in (tracked.locks if tracked is not None else ()) and is_tracked(
                lock
            ):  # a snarl lock held by `with`: the observer keeps no record, the lock does
                if tracked is None:
                    tracked = Tracked(empty_state(), names, frames)
                tracked.locks[id(lock)] = observer().lock_facts(lock)
            if tracked is not None and id(lock) in tracked.locks:
                # A tracked lock's owner is recorded; a `with` gives the line it was taken at,
                # and the name its code gives it.
                tracked.sites.setdefault(id(lock), (frame.f_code.co_filename, held.lineno))
                if held.obj is not lock:  # `with cond:` holds the Condition's own lock
                    tracked.labels.setdefault(
                        id(lock), object_info(held.obj, held.name, lock_types)
                    )
                elif held.name:
                    tracked.lock_names.setdefault(id(lock), held.name)
                continue
            basis = "rlock-owner" if owner is not None else "with-block"
            info = HeldLock(
                object_info(held.obj, held.name, lock_types),
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
    return holds, held_by_thread, tracked


def _in_snarl(top: FrameType, hidden: dict[int, bool]) -> bool:
    """Whether a thread's innermost frame is snarl's: only then is its recorded wait current."""
    return bool(hidden.get(id(top.f_code)))
