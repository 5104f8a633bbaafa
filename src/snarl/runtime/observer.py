"""The observer runtime: free-running real threads, with owners, waiters and exits recorded.

Primitives record their own owner and acquisition site in their own slots.  The observer keeps
no registry of them (a weak reference per lock made a ``concurrent.futures`` pool measurably
slower, mostly in garbage collection); it records only waits (one per thread: a thread waits
on one thing at a time), the locks held through a bare ``acquire()`` (:meth:`hold_bare`: a
lock held by ``with`` is on its owner's stack, where a dump finds it), and the locks each
exiting thread still held.  Reading all this back takes **no lock**: only dict, set and
attribute reads, so a dump works even when every thread is stuck.

Query API (for dumps, watchdogs and tests)
------------------------------------------
``tracked_state(all_locks=False) -> dict`` returns plain data: dicts (keyed by int ids and
idents; ``json`` turns those keys into strings), lists, ints, floats, strings and None.  It
holds no reference to any primitive or thread, so it can be kept, compared and serialised::

    {
      "now": float,                  # time.monotonic() when read; all "since"/"at" use it
      "locks": {                     # id(lock) -> facts: locks held by a bare acquire() or
        int: {                       # waited on (all_locks=True: every snarl lock alive,
                                     # found by a scan of gc.get_objects(): slow)
          "id": int,
          "type": "Lock" | "RLock",
          "name": str | None,        # name= or inferred from the creating line
          "created": [str, int|None] | None,   # creation site: filename, line (lockdep class)
          "part_of": int | None,     # id of the Condition, Semaphore, Event or Barrier
                                     # that made it as its internal lock
          "locked": bool,
          "owner": int | None,       # owner thread ident (None: unlocked, or not yet recorded)
          "owner_name": str | None,  # threading name of the owner, if known
          "owner_alive": bool | None,  # owner still running (None: no owner)
          "owner_exited": {"ident": int, "name": str, "at": float} | None,
                                     # owner finished while holding it (threading threads)
          "count": int,              # RLock recursion count (Lock: 1 when locked, else 0)
          "acquired": [str, int|None] | None,  # where the current owner took it
          "since": float | None,     # when it took it: only with install(stacks=True), which
                                     # times each acquisition (a clock read is too dear else)
          "stack": [[str, int, str], ...] | None,  # (file, line, function), outermost first;
                                     # the full acquiring stack, only with install(stacks=True)
          "waiters": [[int, float], ...],       # (ident, since), earliest first
        }
      },
      "waits": {                     # ident -> what that thread is blocked on right now
        int: {
          "object": int,             # id() of the Lock, RLock, Condition, ..., or Thread
          "type": str,               # its class name: "Lock", "Condition", "Thread", ...
          "name": str | None,
          "kind": "lock" | "rlock" | "condition" | "semaphore" | "event" | "barrier" | "join",
          "since": float,            # monotonic time the wait began
          "created": [str, int|None] | None,
          "target": int | None,      # for "join": the joined thread's ident
          "lock": int | None,        # Condition/Event/Semaphore/Barrier waits: id() of the
                                     # lock underneath (its entry in "locks" if held)
        }
      },
      "exited": {                    # ident -> a threading thread that ended holding locks
        int: {"name": str, "at": float, "held": [int, ...]}   # ids of locks still held
      },
    }

``wait_edges(state)`` turns that into the edges of the wait-for graph
(:class:`snarl.analysis.waitgraph.WaitGraph`), as ``(waiter ident, holder ident, payload)``:

* a wait of kind ``lock``/``rlock`` → the lock's owner (payload: the ``waits`` entry plus
  ``"holder_basis": "tracked"`` and the owner's ``"acquired"`` site);
* a ``join`` → the joined thread (payload ``"holder_basis": "joined"``).

Waits on a Condition, Event, Semaphore or Barrier make no edge: any thread might notify,
set or release them, so who will is not knowable from state (a thread that waits to
*reacquire* a Condition's lock after being notified is a ``lock`` wait and does make one).
A lock whose owner exited has no edge either, since no thread can act; it is the
``owner_exited`` fact of the lock ("no one can wake this").

What stays unknown: a lock taken by a thread between its inner acquire and the owner store
shows ``locked: True, owner: None`` for that instant; owners of native locks (created before
``install()``, or by ``_thread.allocate_lock`` directly) are not tracked at all.  Exit records
exist for threads run by ``threading.Thread`` while installed, not for ``_thread`` threads
(their owners show ``owner_alive: False`` instead) until a thread reuses the ident: a
``threading`` thread records them as it starts, and a ``_thread.start_new_thread`` caller
(hooked with ``threading.Thread``, see :mod:`snarl.sync.thread`) as it starts one, so the new
thread is never named the owner of a lock an ended thread left held.
"""

from __future__ import annotations

import os
import time
import weakref
from _thread import RLock as _CRLock
from _thread import allocate_lock, get_ident
from types import FrameType
from typing import Any

from ..frames import current_frames
from ..identity import Site
from . import observed
from .base import InnerLock, Runtime
from .instruments import Instrument, Instruments, StackRecorder, WaitRecorder
from .observed import _locked, wait_edges

__all__ = ["OBSERVER", "ObserverRuntime", "Wait", "tracked_state", "wait_edges"]


class Wait:
    """One thread's current wait: on ``obj`` since ``since`` (monotonic seconds)."""

    __slots__ = ("kind", "obj", "since")

    def __init__(self, obj: Any, kind: str, since: float) -> None:
        self.obj = obj
        self.kind = kind
        self.since = since


_FIRST_HOLD = allocate_lock()  # see ObserverRuntime.hold_bare()
_yield = time.sleep  # sleep(0): let another thread run (ObserverRuntime.block's turns)


class ObserverRuntime(Runtime):
    """Real threads, real blocking; owners and waits recorded for :func:`tracked_state`."""

    def __init__(self) -> None:
        self.bare: set[Any] | None = None  # see hold_bare()
        self.turns = 0  # turns a lock waiter gives the holder before it sleeps (see block())
        self.waits: dict[int, Wait] = {}
        self.exited: dict[int, dict[str, Any]] = {}
        self.exit_records: dict[int, tuple[int, str, float, Any, weakref.ref[Any]]] = {}
        self.instruments = Instruments()
        self.hooked = False
        self._stacks: StackRecorder | None = None
        # Every attribute the hot paths read is set here, once, and later only reassigned:
        # deleting a key from an instance dict makes every attribute read on it slower.
        self.held: dict[int, list[Any]] | None = None
        self.acquired = _ignore  # type: ignore[method-assign]
        self.released = _ignore  # type: ignore[method-assign]
        self.acquiring = _ignore  # type: ignore[method-assign]
        self.new_stack = _ignore  # type: ignore[method-assign]
        # C functions bound directly: no wrapper call on paths Semaphore and Condition use.
        self.allocate_lock = allocate_lock  # type: ignore[method-assign]
        self.allocate_rlock = _CRLock  # type: ignore[method-assign]
        self.monotonic = time.monotonic  # type: ignore[method-assign]
        self.sleep = time.sleep  # type: ignore[method-assign]
        # A timeline recording (snarl.timeline): read only on the slow paths below (a wait
        # that blocks, a join, a thread's start and exit), never by an uncontended acquire.
        self.recorder: WaitRecorder | None = None

    # -- configuration ------------------------------------------------------------------
    def add_instrument(self, inst: Instrument) -> None:
        """Dispatch acquire/release events to ``inst``; primitives created from now on report."""
        self.instruments.add(inst)
        self._rebind()

    def remove_instrument(self, inst: Instrument) -> None:
        """Stop dispatching to ``inst``."""
        self.instruments.remove(inst)
        self._rebind()

    def _rebind(self) -> None:
        # One trusted instrument (snarl's own, e.g. the lock-order validator): primitives call
        # its hooks directly, saving a dispatch call per acquire and release.
        self.hooked = bool(self.instruments.all)
        for hook, dispatch in (("acquired", self._acquired), ("released", self._released)):
            fns = getattr(self.instruments, hook)
            if len(fns) == 1 and getattr(fns[0].__self__, "trusted", False):
                setattr(self, hook, fns[0])
            elif not fns:
                setattr(self, hook, _ignore)
            else:
                setattr(self, hook, dispatch)
        alone = self.instruments.all
        trusted = alone[0] if len(alone) == 1 and getattr(alone[0], "trusted", False) else None
        # Held stacks, and the hooks that come with them: a thread's first stack is made by
        # the instrument (it drops it when the thread ends), and a wait that must block while
        # locks are held is announced before it begins.
        self.held = None if trusted is None else trusted.held
        self.new_stack = getattr(trusted, "new_stack", _ignore)
        self.acquiring = getattr(trusted, "acquiring", _ignore)

    def record_stacks(self, on: bool) -> None:
        """Keep the full acquiring stack of locks created from now on (costly; off by default)."""
        if on and self._stacks is None:
            self._stacks = StackRecorder()
            self.add_instrument(self._stacks)
        elif not on and self._stacks is not None:
            self.remove_instrument(self._stacks)
            self._stacks = None

    # -- the base lock ------------------------------------------------------------------
    def allocate_lock(self) -> InnerLock:
        """A ``_thread`` lock."""
        return allocate_lock()

    def allocate_rlock(self) -> Any:
        """A ``_thread.RLock``."""
        return _CRLock()

    # Set by snarl.sync.thread: hooks Thread start/exit (idempotent; the hooks then stay).
    ensure_thread_hooks: Any = None

    def hold_bare(self) -> set[Any]:
        """The set primitives add themselves to while held through a bare ``acquire()``.

        A ``with`` needs no record: the owner's frames show the block, and a dump reads it
        there.  A bare acquire may be released in another function, or never, so those
        primitives are kept here (strongly: a held lock is worth keeping alive) until a bare
        ``release()``.  The first bare hold hooks thread exits: a lock must hear its owner
        exit, or a later thread reusing the ident would look like the owner.
        """
        bare = self.bare
        if bare is None:
            # Two threads' first bare holds may come at once (free-threaded builds run them
            # in parallel): the set is made once, under a mutex, or one hold would be lost.
            with _FIRST_HOLD:
                bare = self.bare
                if bare is None:
                    if self.ensure_thread_hooks is not None:
                        self.ensure_thread_hooks()
                    bare = self.bare = set()
        return bare

    def block(self, prim: Any, inner: InnerLock, blocking: Any, timeout: Any) -> bool:
        """Wait for ``inner`` with the caller's arguments; record the wait while it lasts."""
        if not blocking:
            return inner.acquire(blocking, timeout)  # checks arguments; never waits
        me = get_ident()
        waits = self.waits
        outer = waits.get(me)
        waits[me] = Wait(prim, "", time.monotonic())
        recorder = self.recorder
        token = None if recorder is None else recorder.wait_begin(prim, inner)
        got = False
        try:
            if self.turns and getattr(prim, "_inner", None) is inner and timeout == -1:
                # A Lock or RLock waited for without a timeout, while turns are on (snarl race
                # turns them on): give the holder a few turns before sleeping.  It was most
                # likely preempted inside a short critical section and needs only the GIL to
                # leave it.  A waiter that goes straight to sleep makes every later release
                # wake it, and the threads then hand the lock over through the OS on every
                # acquire (a lock convoy: 4 threads on one lock under snarl race ran 35-47x
                # slower than native, 9-16x with three turns).  Off by default: a turn may
                # cost the waiter a whole switch interval (5 ms) when other threads are busy
                # (a thread pool under the lock-order validator ran 11x slower with turns).
                for _ in range(self.turns):
                    _yield(0)
                    got = inner.acquire(False)
                    if got:
                        return got
            got = inner.acquire(blocking, timeout)
            return got
        finally:
            if outer is None:
                waits.pop(me, None)
            else:  # a wait inside a wait (a Condition reacquiring its lock): restore the outer
                waits[me] = outer
            if recorder is not None:
                recorder.wait_end(token, got)

    def acquired(self, prim: Any, frame: FrameType) -> None:
        """Dispatch to instruments (hooked primitives only)."""
        self._acquired(prim, frame)

    def released(self, prim: Any) -> None:
        """Dispatch to instruments (hooked primitives only)."""
        self._released(prim)

    def _acquired(self, prim: Any, frame: FrameType) -> None:
        for fn in self.instruments.acquired:
            try:
                fn(prim, frame)
            except BaseException as exc:
                self.instruments.failed(fn, "acquired", exc)

    def _released(self, prim: Any) -> None:
        for fn in self.instruments.released:
            try:
                fn(prim)
            except BaseException as exc:
                self.instruments.failed(fn, "released", exc)

    # -- threads ------------------------------------------------------------------------
    def thread_started(self, thread: Any) -> None:
        """Tell a recorder, and record as ended the owner of any lock held under this
        thread's ident: a thread that was not seen ending (a ``_thread`` thread) left it, and
        the ident now belongs to this one, which must not look like its owner."""
        recorder = self.recorder
        if recorder is not None:
            recorder.thread_started(thread)
        me = get_ident()
        left = [p for p in list(self.bare or ()) if p._mine() and not self._left_recorded(p)]
        if left:
            self._record_ended(me, [(p, p._site) for p in left])

    def raw_thread_starting(self) -> list[tuple[Any, Site | None]] | None:
        """Before a ``_thread`` thread starts: the locks held (bare) by threads that no longer
        run, with their sites, or None.  A ``_thread`` thread is not seen starting, so its
        starter checks them with :meth:`raw_thread_started` once the new ident is known."""
        held = [p for p in list(self.bare or ()) if p._owner is not None and _locked(p)]
        if not held:
            return None
        running = set(current_frames())
        return [
            (p, p._site) for p in held if p._owner not in running and not self._left_recorded(p)
        ] or None

    def raw_thread_started(self, ident: int, orphans: list[tuple[Any, Site | None]]) -> None:
        """A ``_thread`` thread started as ``ident``: locks an ended thread left held under
        that ident (``orphans``, read before the start) are recorded as left by an ended
        thread, so the new thread is not named their owner (it cannot have taken them: they
        were held before it existed, and still are, with the same site)."""
        left = [
            (p, site) for p, site in orphans if p._owner == ident and p._site == site and _locked(p)
        ]
        if left:
            self._record_ended(ident, left)

    def _left_recorded(self, prim: Any) -> bool:
        """Whether ``prim`` is recorded as left held by an ended thread (an entry under its
        id may be a collected lock's: ids are reused)."""
        rec = self.exit_records.get(id(prim))
        return rec is not None and rec[4]() is prim and self._still_held_from_exit(id(prim))

    def _record_ended(self, ident: int, left: list[tuple[Any, Site | None]]) -> None:
        """Record the locks ``left`` as held by the ended thread that had ``ident``."""
        now = time.monotonic()
        name = f"<ended _thread thread {ident:#x}>"
        record = self.exited.get(ident)
        ids = [id(p) for p, _ in left]
        if record is not None:
            ids = list(dict.fromkeys([*record["held"], *ids]))
        self.exited[ident] = {"name": name, "at": now, "held": ids}
        for p, site in left:
            self.exit_records[id(p)] = (ident, name, now, site, weakref.ref(p))

    def thread_exited(self, thread: Any) -> None:
        """Record the locks this thread still holds as it ends."""
        me = get_ident()
        self.waits.pop(me, None)
        recorder = self.recorder
        if recorder is not None:
            recorder.thread_exited(thread)
        # Locks still held at exit were taken by a bare acquire (a `with` has ended by now):
        # one pass over those held that way, by any thread.
        held = [p for p in list(self.bare or ()) if p._mine()]
        if not held:
            return
        now = time.monotonic()
        name = str(getattr(thread, "name", "?"))
        record = self.exited.get(me)
        ids = [id(p) for p in held]
        if record is not None:  # the ident was reused and this thread also left locks held
            ids = list(dict.fromkeys([*record["held"], *ids]))
        self.exited[me] = {"name": name, "at": now, "held": ids}
        for p in held:
            self.exit_records[id(p)] = (me, name, now, p._site, weakref.ref(p))

    def join(self, thread: Any, timeout: float | None, native_join: Any) -> None:
        """Record a join wait while ``native_join`` waits."""
        me = get_ident()
        self.waits[me] = Wait(thread, "join", time.monotonic())
        recorder = self.recorder
        token = None if recorder is None else recorder.join_begin(thread)
        try:
            native_join(thread, timeout)
        finally:
            self.waits.pop(me, None)
            if recorder is not None:
                recorder.join_end(token, thread)

    # -- time ---------------------------------------------------------------------------
    def monotonic(self) -> float:
        """``time.monotonic()``."""
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        """``time.sleep()``."""
        time.sleep(seconds)

    # -- fork ---------------------------------------------------------------------------
    def after_fork_in_child(self) -> None:
        """Only the forking thread survives a fork: drop every other thread's wait."""
        me = get_ident()
        for ident in list(self.waits):
            if ident != me:
                self.waits.pop(ident, None)

    # -- reading ------------------------------------------------------------------------
    def state(self, all_locks: bool = False) -> dict[str, Any]:
        """See the module docstring: :func:`tracked_state`."""
        return observed.state_of(self, all_locks)

    def lock_facts(self, prim: Any) -> dict[str, Any]:
        """One lock's entry of :func:`tracked_state` (for a lock found some other way: a dump
        finds locks held by ``with`` on the owner's stack)."""
        return observed.lock_facts_of(self, prim)

    def _still_held_from_exit(self, key: int) -> bool:
        return observed.still_held_from_exit(self, key)


def _ignore(*_: Any) -> None:
    pass


OBSERVER = ObserverRuntime()
"""The process-wide observer; the current runtime unless another is set."""

if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=OBSERVER.after_fork_in_child)


def tracked_state(all_locks: bool = False) -> dict[str, Any]:
    """The observer's owners, waiters and exits as plain data (shape in the module docstring).

    Takes no lock; safe to call from a watchdog while every other thread is stuck.
    """
    return OBSERVER.state(all_locks)
