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
  locks, nested Queue mutexes) make no edge: ordering within a class is not checked.
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
  owner's held list.

Cost
----
Per thread, the validator keeps a stack of the locks held (the locks push and pop themselves,
so taking a lock while holding none calls no hook at all; a reentered RLock is pushed again).
An acquisition made while holding locks hashes the classes on the stack with its own into a
*chain key* and looks it up in a set; only a chain never seen before takes the slow path (a
mutex, edge and gate updates, stacks captured).  The cycle
check is incremental: it runs only when an edge is new or its gate set shrank, and searches
only from the new edge's target back to its source.  Chain keys are 64-bit hashes; a collision
could hide one chain (not produce a false report).

Reporting: ``report="warn"`` (``warnings`` with :class:`snarl.errors.LockOrderWarning`, at the
acquiring line), ``"log"`` (logger ``snarl.lockorder``, level WARNING), ``"raise"``
(:class:`snarl.errors.LockOrderViolation` from the acquiring call; the lock is released first)
or a callable receiving the :class:`Inversion`.  Each distinct cycle is reported once.
"""

from __future__ import annotations

import logging
import os
import threading
import traceback
import warnings
import weakref
from _thread import allocate_lock, get_ident
from collections.abc import Callable
from dataclasses import dataclass, field
from types import FrameType
from typing import Any

from ..errors import LockOrderViolation, LockOrderWarning
from ..identity import Site, infer_name
from ..runtime.instruments import Instrument

__all__ = ["EdgeInfo", "Inversion", "LockOrderValidator"]

_log = logging.getLogger("snarl.lockorder")


@dataclass(frozen=True)
class EdgeInfo:
    """The first time a thread took a ``to_class`` lock while holding a ``from_class`` lock."""

    from_class: Site
    to_class: Site
    from_name: str | None
    to_name: str | None
    held_at: tuple[str, int | None] | None  # where the held lock was acquired
    acquired_at: tuple[str, int | None]  # where the second lock was acquired
    thread: str
    stack: traceback.StackSummary

    def describe(self) -> str:
        """Several lines: what was taken while holding what, by whom, and the stack."""
        held = (
            f" (acquired at {os.path.basename(self.held_at[0])}:{self.held_at[1]})"
            if self.held_at is not None
            else ""
        )
        head = (
            f"  {_label(self.to_name, self.to_class)} acquired at "
            f"{os.path.basename(self.acquired_at[0])}:{self.acquired_at[1]} by {self.thread!r}"
            f" while holding {_label(self.from_name, self.from_class)}{held}; stack:\n"
        )
        return head + "".join("    " + line for line in self.stack.format())


@dataclass(frozen=True)
class Inversion:
    """A potential deadlock: a cycle of lock classes, one :class:`EdgeInfo` per edge.

    ``edges[0]`` is the acquisition that closed the cycle.
    """

    edges: tuple[EdgeInfo, ...]

    def message(self) -> str:
        """The report text."""
        classes = " -> ".join(
            _label(e.from_name, e.from_class) for e in (*self.edges, self.edges[0])
        )
        lines = [
            f"potential deadlock: lock order inversion among {len(self.edges)} lock classes "
            f"({classes}); this run did not necessarily hang, but another interleaving can.",
        ]
        lines += [e.describe() for e in self.edges]
        return "\n".join(lines)

    __str__ = message


def _label(name: str | None, site: Site) -> str:
    return f"{name or 'lock'} (created at {site})"


@dataclass
class _Edge:
    gates: frozenset[int]
    info: EdgeInfo


@dataclass
class _Graph:
    succ: dict[int, dict[int, _Edge]] = field(default_factory=dict)


class LockOrderValidator(Instrument):
    """The lock-order validator as an observer instrument (see the module docstring)."""

    passthrough = (LockOrderViolation,)
    trusted = True

    def __init__(self, report: str | Callable[[Inversion], Any] = "warn") -> None:
        if not callable(report) and report not in ("warn", "log", "raise"):
            raise ValueError(f"report must be 'warn', 'log', 'raise' or a callable, not {report!r}")
        self.report = report
        self.inversions: list[Inversion] = []
        # ident -> the locks it holds, innermost last (the locks push and pop themselves)
        self.held: dict[int, list[Any]] = {}
        self._chains: set[int] = set()
        self._graph = _Graph()
        self._sites: dict[int, Site] = {}
        self._reported: set[frozenset[tuple[int, int]]] = set()
        self._mutex = allocate_lock()
        _validators.add(self)

    def __repr__(self) -> str:
        return f"<LockOrderValidator report={self.report!r} inversions={len(self.inversions)}>"

    # -- hooks (hot) ----------------------------------------------------------------------
    def acquired(self, prim: Any, frame: FrameType) -> None:
        """Push ``prim`` on the thread's held stack; check the chain if it is new."""
        me = get_ident()
        held = self.held.get(me)
        if not held:
            if held is None:
                self.held[me] = [prim]
            else:
                held.append(prim)
            return
        chain = hash((*[p._site_created.key for p in held], prim._site_created.key))
        held.append(prim)
        if chain in self._chains:
            return
        self._new_chain(held, prim, frame, chain)

    def released(self, prim: Any) -> None:
        """Remove ``prim`` (its innermost entry) from its owner's held stack."""
        # Any thread may release a Lock; an RLock only its owner, the caller (and reading an
        # RLock's owner means asking the interpreter: skip it).
        owner = prim._owner if prim._snarl_kind == "lock" else None
        held = self.held.get(owner if owner is not None else get_ident())
        if not held:
            return
        for i in range(len(held) - 1, -1, -1):
            if held[i] is prim:
                del held[i]
                return

    # -- slow path ------------------------------------------------------------------------
    def _new_chain(self, held: list[Any], prim: Any, frame: FrameType, chain: int) -> None:
        found: list[Inversion] = []
        with self._mutex:
            if chain in self._chains:
                return
            self._chains.add(chain)
            new_cls = prim._site_created.key
            self._sites[new_cls] = prim._site_created
            stack: traceback.StackSummary | None = None
            below: list[int] = []
            for held_prim in held[:-1]:
                held_cls = held_prim._site_created.key
                if held_cls == new_cls or held_prim is prim:
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
                    if stack is None:
                        stack = traceback.extract_stack(frame)
                    edge = out[new_cls] = _Edge(
                        gates, self._edge_info(held_prim, prim, frame, stack)
                    )
                cycle = self._find_cycle(held_cls, new_cls, edge.gates)
                if cycle is not None:
                    key = frozenset(cycle)
                    if key not in self._reported:
                        self._reported.add(key)
                        edges = tuple(self._graph.succ[a][b].info for a, b in cycle)
                        found.append(Inversion(edges))
        for inversion in found:
            self.inversions.append(inversion)
            self._emit(inversion, frame)

    def _edge_info(
        self, held_prim: Any, prim: Any, frame: FrameType, stack: traceback.StackSummary
    ) -> EdgeInfo:
        return EdgeInfo(
            from_class=held_prim._site_created,
            to_class=prim._site_created,
            from_name=_name(held_prim),
            to_name=_name(prim),
            held_at=_held_at(held_prim, frame),
            acquired_at=(frame.f_code.co_filename, frame.f_lineno),
            thread=threading.current_thread().name,
            stack=stack,
        )

    def _find_cycle(
        self, src: int, dst: int, gates: frozenset[int]
    ) -> list[tuple[int, int]] | None:
        """A path dst ⇝ src whose gate sets, with ``gates``, have an empty intersection."""
        succ = self._graph.succ
        seen: set[tuple[int, frozenset[int]]] = set()
        work: list[tuple[int, frozenset[int], list[tuple[int, int]]]] = [(dst, gates, [(src, dst)])]
        while work:
            node, common, path = work.pop()
            for nxt, edge in succ.get(node, {}).items():
                both = common & edge.gates
                if nxt == src:
                    if not both:
                        return [*path, (node, nxt)]
                    continue
                state = (nxt, both)
                if state in seen or any(a == nxt for a, _ in path):
                    continue
                seen.add(state)
                work.append((nxt, both, [*path, (node, nxt)]))
        return None

    def _emit(self, inversion: Inversion, frame: FrameType) -> None:
        report = self.report
        if report == "warn":
            warnings.warn_explicit(
                inversion.message(),
                LockOrderWarning,
                frame.f_code.co_filename,
                frame.f_lineno or 0,
            )
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
            self._graph = _Graph()
            self._reported.clear()
            self.inversions.clear()


_validators: weakref.WeakSet[LockOrderValidator] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    # Another thread may have held a validator's mutex at the fork: it never will release it.
    me = get_ident()
    for validator in list(_validators):
        validator._mutex = allocate_lock()
        for ident in [i for i in validator.held if i != me]:
            validator.held.pop(ident, None)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


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
