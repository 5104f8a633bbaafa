"""Lock release → acquire edges, and the locks each thread holds (for reports).

:class:`LockEdges` is the detector's :class:`~snarl.runtime.instruments.Instrument`: snarl's
Lock and RLock call it on every acquire and release while a detector runs.  The locks inside
queues, Events, Semaphores, Barriers and Futures give no edge by themselves (their meaning
does, see :mod:`.sources`).

Each lock gets one record at its first acquisition, kept by ``id()`` until the lock dies (a
weakref callback): ``[kind, name, holder, releaser, clock]``.  An acquire or release then
costs one dict read and a few list reads, which matters: a lock-heavy loop pays both on every
iteration, and a longer critical section makes threads collide on the lock more often.

* ``kind``: ``"internal"``, ``"future"`` or ``"user"`` (:func:`.sources.kind_of`);
* ``name``: what reports call a user lock;
* ``holder``: the thread holding it, as far as the hooks know.  An RLock tells its runtime of
  a release only after releasing (:mod:`snarl.sync.rlock`), so another thread may take it
  before the releaser's clock is published: the taker then joins the releaser's clock itself
  (a moment later than the release: never a false race);
* ``releaser``: the thread that released it last with the fast path (its clock, ``clock``,
  is exactly that thread's clock at the release; FastTrack's L := C_t);
* ``clock``: the lock's clock once a user lock was released (None before);
* ``pair``: the acquiring thread's held locks before and after its last acquisition, one
  tuple (assigned at once: threads share it), reused while a thread takes it holding the
  same locks as last time.
"""

from __future__ import annotations

import contextlib
import logging
import weakref
from typing import Any

from ..runtime.instruments import Instrument
from . import sources
from .clock import SHIFT, join_into

__all__ = ["LockEdges"]

_INTERNAL, _FUTURE, _USER = "internal", "future", "user"
_NO_PAIR = (None, None)


class LockEdges(Instrument):
    """The detector's lock hooks (see the module docstring); ``det`` is its Detector."""

    trusted = True  # its hooks catch their own errors

    def __init__(self, det: Any) -> None:
        self.det = det
        self.clocks = det.clocks
        self.local = det.clocks.local
        self.records: dict[int, list[Any]] = {}  # of primitives without a ``_race`` slot
        self.marked: weakref.WeakSet[Any] = weakref.WeakSet()  # locks with a ``_race`` record
        self._refs: dict[int, Any] = {}

    def _learn(self, prim: Any, frame: Any) -> list[Any]:
        kind = sources.kind_of(frame)
        name = self.det.lock_name(prim) if kind == _USER else ""
        rec = [kind, name, None, None, None, _NO_PAIR]
        try:  # snarl's Lock and RLock keep it in a slot: it goes with the lock
            prim._race = rec
            self.marked.add(prim)  # (unmarked at the end of the run)
            return rec
        except AttributeError:
            pass
        key = id(prim)
        records, refs = self.records, self._refs
        rec = records.get(key, rec)
        try:
            refs[key] = weakref.ref(prim, lambda _r: (records.pop(key, None), refs.pop(key)))
        except TypeError:  # not weakly referenceable: not remembered
            return rec
        return records.setdefault(key, rec)

    def _record(self, prim: Any, frame: Any) -> list[Any]:
        """The record of a primitive that keeps none in a slot (or has none yet)."""
        rec = self.records.get(id(prim))
        return rec if rec is not None else self._learn(prim, frame)

    def unmark(self) -> None:
        """Forget every record kept on a lock (the run ends: a later run starts afresh)."""
        for prim in list(self.marked):
            with contextlib.suppress(AttributeError):
                del prim._race
        self.marked.clear()

    def acquired(self, prim: Any, frame: Any) -> None:
        try:
            try:
                rec = prim._race
            except AttributeError:
                rec = self._record(prim, frame)
            kind = rec[0]
            if kind is _INTERNAL:
                return
            try:
                st = self.local.st
            except AttributeError:
                st = self.det.me()
            before = rec[2]
            rec[2] = st
            if kind is _FUTURE:
                if not sources.receives(frame):
                    return
                clock = self.clocks.sync.get(id(prim))
            else:
                clock = None if rec[3] is st else rec[4]  # its own last release: in its clock
                held = st.held
                pair = rec[5]  # (held before, held after) of its last acquisition: most
                if pair[0] is not held:  # often the same (nothing else held: ())
                    pair = rec[5] = (held, (*held, rec[1]))
                st.held = st.ctx = pair[1]
            if clock is not None:
                join_into(st.vc, clock)
            if before is not None and before is not st:
                join_into(st.vc, list(before.vc))
        except Exception:  # trusted (called without the observer's net): never raise
            _log_failure()

    def released(self, prim: Any) -> None:
        try:
            try:
                rec = prim._race
            except AttributeError:
                rec = self.records.get(id(prim))
                if rec is None:
                    return  # acquired before detection began
            kind = rec[0]
            if kind is _INTERNAL:
                return  # inside a compound primitive
            try:
                st = self.local.st
            except AttributeError:
                st = self.det.me()
            mine = rec[2] is st
            if kind is _FUTURE:  # set_result and a result() waiter both publish
                self.clocks.release(st, prim)
            elif mine:
                vc = st.vc
                clock = rec[4]
                if clock is None or rec[3] is not st:  # a first, or after another thread's
                    rec[4] = clock = [] if clock is None else clock
                    join_into(clock, vc)  # the lock's clock covers every earlier release
                else:
                    rec[4] = vc[:]  # FastTrack's L := C_t (the last releaser's L <= C_t)
                rec[3] = st
                tid = st.tid
                vc[tid] += 1  # st.tick(), inlined
                st.epoch = (vc[tid] << SHIFT) | tid
            else:  # released by a thread that did not take it: a hand-over
                rec[3] = None
                clock = rec[4]
                if clock is None:
                    rec[4] = clock = []
                join_into(clock, st.vc)
                st.tick()
            if rec[2] is st:
                # Only once the clock is published: a taker that finds no holder (the RLock
                # told of its release late, another thread already in: free-threaded builds)
                # must find the clock.  A taker that came in meanwhile stays the holder.
                rec[2] = None
            if kind is _FUTURE:
                return
            held = st.held
            pair = rec[5]
            if held is pair[1]:
                st.held = st.ctx = pair[0]
                return
            name = rec[1]
            if held and held[-1] == name:
                st.held = st.ctx = held[:-1]
                return
            for i in range(len(held) - 1, -1, -1):
                if held[i] == name:
                    st.held = st.ctx = held[:i] + held[i + 1 :]
                    break
        except Exception:
            _log_failure()


_failures = [0]


def _log_failure() -> None:
    """Log a hook's failure with its traceback, the first few times only: a hook runs on
    every acquire, and a failure that repeats must not flood the program's log."""
    _failures[0] += 1
    n = _failures[0]
    if n <= 3:
        more = " (later failures are counted, not logged)" if n == 3 else ""
        logging.getLogger("snarl.race").exception("snarl race: a lock hook failed" + more)
