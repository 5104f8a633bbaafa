"""Vector clocks, epochs and thread states: the happens-before half of the race detector.

Every thread the detector meets gets a small integer ``tid`` and a :class:`ThreadState` whose
``vc`` is its vector clock, a list indexed by tid (a missing entry is 0).  A thread's *epoch*
is its own component packed with its tid into one int, ``clock << SHIFT | tid``, so that the
common check "was the last write ordered before me?" is two shifts, a mask and one list read
(FastTrack, Flanagan & Freund, PLDI 2009).  Clocks start at 1, so epoch 0 means "nobody".

Synchronisation moves clocks along the happens-before edges (Lamport 1978; Mattern 1989):

* :meth:`Clocks.release` (a lock released, an item put, a result set) joins the thread's clock
  into the sync object's clock and ticks the thread's own component;
* :meth:`Clocks.acquire` (a lock taken, an item got, a result read) joins the object's clock
  into the thread's;
* :meth:`Clocks.fork` gives a child thread a copy of its parent's clock (the parent ticks), and
  :meth:`Clocks.join` joins a finished thread's final clock into the joiner's.

Sync objects' clocks are kept in a dict keyed by ``id()`` and dropped by a weakref callback
when the object dies (snarl's primitives are weak-referenceable); an object that is not keeps
its clock in ``__dict__`` (the detector's own ``SimpleQueue``).

While only one thread that the detector knows of is running and every other one has been
joined (``solo``), every access is ordered before anything another thread will later do (any
later thread is started from this one), so the access checks skip their work entirely.
"""

from __future__ import annotations

import threading
import weakref
from _thread import allocate_lock
from typing import Any

__all__ = ["MASK", "SHIFT", "Clocks", "History", "HistoryState", "ThreadState"]

SHIFT = 16
MASK = (1 << SHIFT) - 1
_MAX_TIDS = MASK  # tid MASK+1 would not fit an epoch's low bits


class ThreadState:
    """One thread's clock and what a report says about it."""

    __slots__ = (
        "checked",
        "ctx",
        "epoch",
        "held",
        "ident",
        "name",
        "origin",
        "started_at",
        "tid",
        "vc",
    )

    def __init__(self, tid: int, vc: list[int], name: str, started_at: Any, ident: int) -> None:
        self.tid = tid
        while len(vc) <= tid:
            vc.append(0)
        vc[tid] += 1
        self.vc = vc
        self.epoch = (vc[tid] << SHIFT) | tid
        self.name = name
        self.started_at = started_at  # tuple of (file, line, function) or None (unknown)
        self.ident = ident
        self.held: tuple[str, ...] = ()  # descriptions of the locks held, innermost last
        self.ctx: Any = ()  # what an access records: held (plus a stack in history mode)
        self.checked = 0  # accesses checked (not counting those made while solo)
        self.origin: str | None = None  # the test that started it (pytest --snarl-races)

    def tick(self) -> None:
        """Advance this thread's own component (after a release)."""
        vc = self.vc
        vc[self.tid] += 1
        self.epoch = (vc[self.tid] << SHIFT) | self.tid


class History:
    """What an access records in history mode: the locks held and the user-code stack."""

    __slots__ = ("held", "stack")

    def __init__(self, held: tuple[str, ...], stack: tuple[Any, ...]) -> None:
        self.held = held
        self.stack = stack


class HistoryState(ThreadState):
    """A thread state whose ``ctx`` (read at every recorded access) is a :class:`History`
    with the current user-code stack: both accesses of a race then have their stacks.
    ``user_stack()`` (set by the detector) reads it; costly, so only on request."""

    __slots__ = ()
    user_stack: Any = staticmethod(lambda: ())

    @property  # type: ignore[override]
    def ctx(self) -> History:
        return History(self.held, type(self).user_stack())

    @ctx.setter
    def ctx(self, value: Any) -> None:
        pass  # the held locks are read from ``held`` when the stack is taken


def join_into(target: list[int], source: list[int]) -> None:
    """``target := target ⊔ source`` (component-wise max), in place."""
    n = len(source)
    if len(target) < n:
        target.extend([0] * (n - len(target)))
    if len(target) == n:
        target[:] = map(max, target, source)  # in C: no Python loop per thread
    else:
        target[:n] = map(max, target[:n], source)


class Clocks:
    """The thread registry and sync-object clocks of one detector."""

    def __init__(self) -> None:
        self.lock = allocate_lock()  # native: the registry must not report to snarl
        self.threads: list[ThreadState] = []
        self.local = threading.local()
        self.sync: dict[int, list[int]] = {}
        self._refs: dict[int, Any] = {}
        self.unjoined = 1  # threads whose accesses may still be unordered (see solo)
        self.state_class: type[ThreadState] = ThreadState  # HistoryState keeps stacks
        self.solo = True

    # -- threads ------------------------------------------------------------------------
    def register(
        self, vc: list[int] | None, name: str, started_at: Any, ident: int, *, forked: bool
    ) -> ThreadState:
        """A new :class:`ThreadState` for the calling thread, made current for it.

        ``vc`` is the clock inherited at start (None: a thread the detector did not see start,
        unordered with everything).  ``forked`` says :meth:`fork` already counted it.
        """
        with self.lock:
            tid = len(self.threads)
            if tid >= _MAX_TIDS:
                raise OverflowError("the race detector supports 65535 threads per run")
            st = self.state_class(tid, list(vc or ()), name, started_at, ident)
            self.threads.append(st)
            if not forked:
                self.unjoined += 0 if tid == 0 else 1
                self.solo = self.unjoined <= 1
        self.local.st = st
        return st

    def fork(self, parent: ThreadState) -> list[int]:
        """The clock a child thread starts with; the parent's clock ticks."""
        child = list(parent.vc)
        parent.tick()
        with self.lock:
            self.unjoined += 1
            self.solo = False
        return child

    def finish(self, st: ThreadState) -> list[int]:
        """The final clock of a thread that ends (what :meth:`join` hands on)."""
        final = list(st.vc)
        st.tick()
        return final

    def join(self, joiner: ThreadState, final: list[int], first: bool) -> None:
        """``joiner`` waited for a thread that ended with clock ``final``."""
        join_into(joiner.vc, final)
        if first:
            with self.lock:
                self.unjoined -= 1
                self.solo = self.unjoined <= 1

    # -- sync objects -------------------------------------------------------------------
    def release(self, st: ThreadState, obj: Any) -> None:
        """``st``'s thread publishes through ``obj`` (unlock, put, set, notify, submit)."""
        key = id(obj)
        clock = self.sync.get(key)
        if clock is None:
            clock = self._track(obj, key)
        join_into(clock, st.vc)
        st.tick()

    def acquire(self, st: ThreadState, obj: Any) -> None:
        """``st``'s thread receives what was published through ``obj``."""
        clock = self.sync.get(id(obj))
        if clock is not None:
            join_into(st.vc, clock)

    def _track(self, obj: Any, key: int) -> list[int]:
        clock: list[int] = []
        sync = self.sync
        try:
            ref = weakref.ref(obj, lambda _r, key=key: (sync.pop(key, None), self._refs.pop(key)))
        except TypeError:  # not weak-referenceable: keep the object (and its id) alive
            ref = obj
        self._refs[key] = ref
        sync[key] = clock
        return clock
