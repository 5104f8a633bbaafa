"""The lock-order validator: lockdep for Python locks, reporting inversions that did not hang.

Model
-----
A lock's **class** is its creation site (:class:`snarl.identity.Site`): every lock made by the
same line is one class, as in Linux lockdep.  Whenever a thread takes a lock of class ``B``
while holding a lock of class ``A``, the validator records the edge ``A → B``.  If an edge
closes a cycle (``A → B`` and, earlier, ``B → A``, or any longer loop) the program *can*
deadlock, even if this run did not: the validator reports a potential deadlock with, for each
edge of the cycle, the thread and stack that first took the locks in that order.

* Locks of the **same class** held together (two instances from one line, e.g. per-object
  locks) make no class edge; they are ordered **per instance** instead, as lockdep orders
  nested locks.  Taking instance ``y`` while holding instance ``x`` of the same class records
  ``x → y``; a cycle of instances (``transfer(a, b)`` then ``transfer(b, a)``) is reported.
  The rule for legitimate nesting: always nest instances of one class in one global order
  (``sorted(..., key=id)``, as ``concurrent.futures.wait`` does, or by an account number);
  such a program never closes a cycle of instances and is never reported.  A lock's instance
  edges are forgotten when it is garbage-collected.
* RLock **re-entry** makes no edge.  ``Condition.wait`` releases and retakes its lock; the
  retake is checked like any acquisition.
* **Gate locks.**  If ``A`` and ``B`` are taken in both orders but every such acquisition
  happens while one common lock ``G`` is held *and was taken before the edge's first lock*,
  the two orders can never interleave, and no report is made.  Each edge keeps its *gate set*:
  the classes held below its source lock, intersected over every time the edge was seen.  A
  cycle is reported only when the intersection of the gate sets of all its edges is empty.  A
  ``G`` taken *between* ``A`` and ``B`` is not a gate (``A, G, B`` against ``B, G, A`` can
  deadlock) and does not suppress the report.
* A lock released by a thread other than its owner (allowed for Lock) is removed from its
  owner's held list, and its class becomes **group-owned**: a lock one thread takes and
  another releases (a readers-writer lock's resource lock, which the first reader takes and
  the last releases, with a counter ruling out deadlock) is not owned by a thread, so holding
  it orders nothing.  Its outgoing edges are dropped and none are recorded from then on
  (edges *into* it stay: waiting for it while holding another lock is still ordered).
* **Deferred reports.**  A cycle closed while holding a ``Lock`` (which any thread may
  release) is reported only once that hold ends, because the first hand-over may come later:
  released by the thread that took it, the report is made (from that release); released by
  another thread, the class is group-owned and the report dropped; neither by the end
  (:meth:`LockOrderValidator.flush`: ``uninstall()``, exit, a pytest phase's end), it is made
  unless a class of its cycle is group-owned by then.  A wait that would deadlock reports at
  once (the holder's recorded waits are followed while the lock stays held, as for
  ``refuse_waits``), so a real ABBA is still reported as it forms; ``report="raise"``
  defers nothing.  Details: :mod:`snarl.analysis.pending`.
* **Held stacks end with their threads.**  A thread's stack is dropped when the thread ends
  (through a ``_thread._local`` the interpreter clears at thread exit, so ``_thread`` threads
  are covered too): an ident the next thread reuses inherits nothing.
* **Checked when the wait begins.**  A blocking acquisition that must wait while the thread
  holds locks is checked before it waits (``acquiring``), as lockdep checks an attempt: in a
  real ABBA deadlock the second thread to wait closes the cycle and it is reported while the
  deadlock forms, not never.  With ``report="raise"``, or ``refuse_waits=True`` when the wait
  would really deadlock, it is refused with :class:`snarl.errors.LockOrderViolation`.

Cost
----
Per thread, the validator keeps a stack of the locks held (the locks push and pop themselves,
so taking a lock while holding none calls no hook at all; a reentered RLock is pushed again).
An acquisition made while holding locks hashes the classes on the stack with its own into a
*chain key* and looks it up in a set; only a chain never seen before takes the slow path (a
mutex, edge and gate updates, stacks captured).  Nested instances of one class take a slower
path (a lookup per instance pair) on every such nesting.  The cycle
check is incremental: it runs only when an edge is new or its gate set shrank, and searches
only from the new edge's target back to its source.  Chain keys are 64-bit hashes; a collision
could hide one chain (not produce a false report).

Reporting: ``report="warn"`` (``warnings`` with :class:`snarl.errors.LockOrderWarning`, at the
acquiring line), ``"log"`` (logger ``snarl.lockorder``, level WARNING), ``"raise"``
(:class:`snarl.errors.LockOrderViolation` from the acquiring call; the lock is released first)
or a callable receiving the :class:`Inversion`.  Each distinct cycle is reported once.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import sys
import threading
import time
import traceback
import warnings
import weakref
from _thread import _local as _thread_local
from _thread import allocate_lock, get_ident
from collections.abc import Callable
from types import FrameType
from typing import Any

from ..errors import LockOrderViolation, LockOrderWarning
from ..identity import Site, infer_name
from ..runtime.instruments import Instrument
from .instanceorder import _Instances
from .ordergraph import EdgeInfo, Inversion, _Edge, _find_cycle, _Graph
from .pending import Deferrals, Watched

__all__ = ["EdgeInfo", "Inversion", "LockOrderValidator"]

_log = logging.getLogger("snarl.lockorder")


class LockOrderValidator(Instrument):
    """The lock-order validator as an observer instrument (see the module docstring).

    ``refuse_waits``: a wait that closes a new cycle and would deadlock (the lock's holder
    waits, through the runtime's recorded waits, for a lock this thread holds) raises
    :class:`snarl.errors.LockOrderViolation` after the report instead of waiting forever.
    While the lock stays held, the holder's chain of waits is read again every 5 ms (the
    holder may not have begun its wait yet); a wait that cannot deadlock goes on as usual.
    ``report="raise"`` raises at every new cycle, contended or not.
    """

    passthrough = (LockOrderViolation,)
    trusted = True

    def __init__(
        self, report: str | Callable[[Inversion], Any] = "warn", *, refuse_waits: bool = False
    ) -> None:
        if not callable(report) and report not in ("warn", "log", "raise"):
            raise ValueError(f"report must be 'warn', 'log', 'raise' or a callable, not {report!r}")
        self.report = report
        self.refuse_waits = refuse_waits
        self.inversions: list[Inversion] = []
        # ident -> the locks it holds, innermost last (the locks push and pop themselves)
        self.held: dict[int, list[Any]] = {}
        self._ends = _thread_local()  # per thread: the guard that drops its stack at its end
        self._chains: set[int] = set()
        self._nesting: set[int] = set()  # chains with two instances of one class
        self._graph = _Graph()
        self._sites: dict[int, Site] = {}
        self._reported: set[frozenset[tuple[int, int]]] = set()
        self._group: set[int] = set()  # group-owned classes (released by another thread)
        self._instances = _Instances()
        self._inside: set[int] = set()  # threads in the slow path (a re-entry is skipped)
        self._mutex = allocate_lock()
        self._deferrals = Deferrals(self._publish, self._group, self._restack)
        _validators.add(self)

    def __repr__(self) -> str:
        return f"<LockOrderValidator report={self.report!r} inversions={len(self.inversions)}>"

    # -- hooks (hot) ----------------------------------------------------------------------
    def new_stack(self, me: int, prim: Any) -> None:
        """Make thread ``me``'s held stack, ``[prim]``; it is dropped when the thread ends."""
        stack = [prim]
        self.held[me] = stack
        self._ends.guard = _StackEnd(self.held, me, stack)

    def acquired(self, prim: Any, frame: FrameType) -> None:
        """Push ``prim`` on the thread's held stack; check the chain if it is new."""
        me = get_ident()
        held = self.held.get(me)
        if not held:
            if held is None:
                self.new_stack(me, prim)
            else:
                held.append(prim)
            return
        chain = hash((*[p._site_created.key for p in held], prim._site_created.key))
        held.append(prim)
        if chain in self._chains:
            if chain in self._nesting:
                self._check(held, prim, frame, chain, waiting=False)
            return
        self._check(held, prim, frame, chain, waiting=False)

    def acquiring(self, prim: Any, frame: FrameType) -> None:
        """``prim`` must be waited for while the thread holds locks: check that order now."""
        held = self.held.get(get_ident())
        if not held or any(p is prim for p in held):
            return
        stack = [*held, prim]
        chain = hash(tuple(p._site_created.key for p in stack))
        if chain in self._chains and chain not in self._nesting:
            return
        self._check(stack, prim, frame, chain, waiting=True)

    def released(self, prim: Any) -> None:
        """Remove ``prim`` (its innermost entry) from its owner's held stack."""
        # Any thread may release a Lock; an RLock only its owner, the caller (and reading an
        # RLock's owner means asking the interpreter: skip it).
        me = get_ident()
        owner = prim._owner if prim._snarl_kind == "lock" else None
        if owner is not None and owner != me:
            self._hand_over(prim._site_created.key)
            with self._mutex:  # (not while the owner swaps its stack: see _restack)
                held = self.held.get(owner)
                if held:
                    with contextlib.suppress(ValueError):  # one atomic call: the owner may push
                        held.remove(prim)
            return
        held = self.held.get(me)
        if not held:
            return
        for i in range(len(held) - 1, -1, -1):
            if held[i] is prim:
                del held[i]
                if type(held) is Watched and self._deferrals.watches(prim):
                    self._deferrals.released_by_owner(prim)
                return

    # -- slow path ------------------------------------------------------------------------
    def _check(
        self, stack: list[Any], prim: Any, frame: FrameType, chain: int, *, waiting: bool
    ) -> None:
        """Record a new chain's edges (``stack`` ends with ``prim``) and report new cycles."""
        me = get_ident()
        if me in self._inside:
            return  # the validator's own work took a lock (a report's logging handler, ...)
        self._inside.add(me)
        try:
            if self._drop_abandoned(me, stack):
                chain = hash(tuple(p._site_created.key for p in stack))
            found = self._record(stack, prim, frame, chain)
        finally:
            self._inside.discard(me)
        if not found:
            return
        where = (frame.f_code.co_filename, frame.f_lineno or 0)
        later = []  # closed while holding a Lock another thread may release: deferred
        for inversion, hold in found:
            if self.report != "raise" and hold._snarl_kind == "lock":
                later.append((inversion, hold))
            else:
                self._publish(inversion, where)
        # A wait that would deadlock never ends: its reports are made now (and the wait
        # refused, if asked).  A timed wait ends anyway: its reports wait like the others.
        for inversion, hold in later:
            self._deferrals.defer(inversion, hold, me, where)
        deadlock = False
        if waiting and (self.refuse_waits or (later and not _timed_wait())):
            deadlock = _deadlocks(prim, me)
        if deadlock and later:
            self._deferrals.make_now(me, [inversion for inversion, _ in later])
        if deadlock and self.refuse_waits:
            raise LockOrderViolation(
                "snarl refused a wait that closes a lock-order cycle and would deadlock (the "
                f"lock's holder waits, in turn, for a lock this thread holds):\n"
                f"{found[0][0].message()}",
                found[0][0],
            )

    def _publish(self, inversion: Inversion, where: tuple[str, int]) -> None:
        self.inversions.append(inversion)
        self._emit(inversion, where)

    def _restack(self, me: int, watched: bool) -> None:
        """Give thread ``me`` (the caller) a copy of its held stack, :class:`Watched` or not
        (the locks push and pop on whatever list the table holds for the thread)."""
        with self._mutex:  # a release by another thread removes from it under the mutex
            held = self.held.get(me)
            if held is None or (type(held) is Watched) == watched:
                return
            stack: list[Any]
            if watched:
                stack = Watched(held)
                stack.deferrals = self._deferrals
            else:
                stack = list(held)
            self.held[me] = stack
        self._ends.guard = _StackEnd(self.held, me, stack)

    @property
    def pending(self) -> list[Inversion]:
        """The reports held back until a lock's release shows whether they stand."""
        return [p.inversion for p in self._deferrals.pending]

    def flush(self) -> None:
        """Make the pending reports that still stand (``uninstall()`` and exit call this)."""
        self._deferrals.flush()

    def _drop_abandoned(self, me: int, stack: list[Any]) -> bool:
        """Forget held locks the program no longer references (``del`` of a held lock).

        Natively such a lock is freed; here the held stack (and the observer's record of bare
        holds) would keep it, and every later lock taken by the thread would be ordered after
        it.  A lock referenced only by that bookkeeping is dropped from the thread's stack.
        """
        held = self.held.get(me)
        if not held:
            return False
        dropped = False
        for i in range(len(stack) - 2, -1, -1):
            p = stack[i]
            bare = p._rt.bare
            # referrers: this local, getrefcount's argument, each entry of the held stack and
            # of ``stack`` (when it is a copy), and the record of bare holds
            expected = 2 + held.count(p) + (stack.count(p) if stack is not held else 0)
            expected += 1 if bare is not None and p in bare else 0
            if sys.getrefcount(p) <= expected:
                while p in held:
                    held.remove(p)
                if stack is not held:
                    while p in stack:
                        stack.remove(p)
                dropped = True
        return dropped

    def _record(
        self, stack: list[Any], prim: Any, frame: FrameType, chain: int
    ) -> list[tuple[Inversion, Any]]:
        """The new cycles, each with the held lock whose edge closed it."""
        found: list[tuple[Inversion, Any]] = []
        name = _thread_name(get_ident())
        with self._mutex:
            new_cls = prim._site_created.key
            if any(h._site_created.key == new_cls and h is not prim for h in stack[:-1]):
                self._nesting.add(chain)
                found += self._instances.check(self, stack, prim, frame, name)
            if chain in self._chains:
                return found
            self._chains.add(chain)
            self._sites[new_cls] = prim._site_created
            trace: traceback.StackSummary | None = None
            below: list[int] = []
            for held_prim in stack[:-1]:
                held_cls = held_prim._site_created.key
                if held_cls == new_cls or held_prim is prim or held_cls in self._group:
                    if held_cls not in self._group:
                        below.append(held_cls)
                    continue
                self._sites[held_cls] = held_prim._site_created
                gates = frozenset(c for c in below if c not in (held_cls, new_cls))
                below.append(held_cls)
                out = self._graph.succ.setdefault(held_cls, {})
                edge = out.get(new_cls)
                if edge is not None:
                    if edge.gates <= gates:
                        continue  # nothing new: same or smaller gate set seen before
                    edge.gates = edge.gates & gates
                else:
                    if trace is None:
                        trace = traceback.extract_stack(frame)
                    edge = out[new_cls] = _Edge(
                        gates, self._edge_info(held_prim, prim, frame, trace, name)
                    )
                cycle = _find_cycle(self._graph.succ, held_cls, new_cls, edge.gates)
                if cycle is not None:
                    key = frozenset(cycle)
                    if key not in self._reported:
                        self._reported.add(key)
                        edges = tuple(self._graph.succ[a][b].info for a, b in cycle)
                        found.append((Inversion(edges), held_prim))
        return found

    def _hand_over(self, cls: int) -> None:
        """Class ``cls`` was released by another thread than its owner: group-owned."""
        if cls in self._group:
            return
        with self._mutex:
            self._group.add(cls)
            self._graph.succ.pop(cls, None)
        self._deferrals.handed_over(cls)

    def _edge_info(
        self,
        held_prim: Any,
        prim: Any,
        frame: FrameType,
        stack: traceback.StackSummary,
        thread: str,
        suffix: tuple[str, str] = ("", ""),
    ) -> EdgeInfo:
        from_name, to_name = _name(held_prim), _name(prim)
        return EdgeInfo(
            from_class=held_prim._site_created,
            to_class=prim._site_created,
            from_name=(from_name or "lock") + suffix[0] if suffix[0] else from_name,
            to_name=(to_name or "lock") + suffix[1] if suffix[1] else to_name,
            held_at=_held_at(held_prim, frame),
            acquired_at=(frame.f_code.co_filename, frame.f_lineno),
            thread=thread,
            stack=stack,
        )

    def _emit(self, inversion: Inversion, where: tuple[str, int]) -> None:
        report = self.report
        if report == "warn":
            warnings.warn_explicit(inversion.message(), LockOrderWarning, *where)
        elif report == "log":
            _log.warning("%s", inversion.message())
        elif report == "raise":
            raise LockOrderViolation(inversion.message(), inversion)
        else:
            report(inversion)  # type: ignore[operator]

    def reset(self) -> None:
        """Forget every edge, chain and report (held stacks are kept)."""
        with self._mutex:
            self._chains.clear()
            self._nesting.clear()
            self._graph = _Graph()
            self._reported.clear()
            self._group.clear()
            self._instances = _Instances()
            self.inversions.clear()
        self._deferrals.clear()


def _deadlocks(prim: Any, me: int) -> bool:
    """Whether waiting for ``prim`` would deadlock thread ``me``, watched until it is free.

    The holder's chain of waits (recorded by the runtime) is followed: if it leads back to
    ``me``, the wait would never end.  The holder may not have begun its own wait yet, so
    the chain is read again every few milliseconds for as long as ``prim`` stays held; once
    it is free, the caller waits as usual.  Only a wait that closes a new cycle comes here.
    """
    waits = getattr(prim._rt, "waits", None)
    if waits is None:
        return prim.locked()  # no record of waits to follow: refuse, as the report says
    while prim.locked():
        holder, seen = _holder(prim), set()
        while holder is not None and holder not in seen:
            if holder == me:
                return True
            seen.add(holder)
            wait = waits.get(holder)
            holder = _holder(wait.obj) if wait is not None else None
        time.sleep(0.005)
    return False


def _timed_wait() -> bool:
    """Whether the wait being checked has a timeout (read from the lock's ``_wait`` or the
    RLock's ``_ordered``, three frames up: ``acquiring`` and ``_check`` in between)."""
    try:
        timeout = sys._getframe(3).f_locals.get("timeout", -1)
        return timeout is not None and timeout != -1
    except Exception:
        return False


def _holder(obj: Any) -> int | None:
    """The ident holding a snarl lock (None: free, not a lock, or unknown)."""
    try:
        return obj.owner if hasattr(obj, "_inner") else None
    except Exception:
        return None


class _StackEnd:
    """Kept in a thread's ``_thread._local``: the interpreter drops it as the thread ends
    (before its ident can be reused), and it drops the thread's held stack."""

    __slots__ = ("ident", "stack", "table")

    def __init__(self, table: dict[int, list[Any]], ident: int, stack: list[Any]) -> None:
        self.table, self.ident, self.stack = table, ident, stack

    def __del__(self) -> None:
        if self.table.get(self.ident) is self.stack:
            self.table.pop(self.ident, None)


def _thread_name(ident: int) -> str:
    """The thread's name, read without making a ``_DummyThread`` (which takes locks)."""
    thread = threading._active.get(ident)  # type: ignore[attr-defined]
    return thread.name if thread is not None else f"<_thread thread {ident:#x}>"


_validators: weakref.WeakSet[LockOrderValidator] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    # Another thread may have held a validator's mutex at the fork: it never will release it.
    me = get_ident()
    for validator in list(_validators):
        validator._mutex = allocate_lock()
        # The parent makes the reports it held back; the child must not make them again.
        validator._deferrals._mutex = allocate_lock()
        validator._deferrals.clear()
        for ident in [i for i in validator.held if i != me]:
            validator.held.pop(ident, None)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


@atexit.register
def _flush_at_exit() -> None:
    for validator in list(_validators):
        validator.flush()


def _name(prim: Any) -> str | None:
    name = getattr(prim, "_name", None)
    return name if isinstance(name, str) else infer_name(prim._site_created)


def _held_at(prim: Any, frame: FrameType) -> tuple[str, int | None] | None:
    # A bare acquire records its site; a `with` does not (it is on the thread's stack, still
    # inside the block, and read from there as a dump reads it).
    site = prim._site
    if site is not None:
        return site.filename, site.lineno
    from ..threaddump.waits import with_line

    return with_line(prim, frame)
