"""The order of nested instances of one lock class, for the lock-order validator (see
:mod:`snarl.analysis.lockorder`, "Locks of the same class")."""

from __future__ import annotations

import traceback
import weakref
from collections import deque
from types import FrameType
from typing import TYPE_CHECKING, Any

from .ordergraph import Inversion, _Edge, _find_cycle, _Graph

if TYPE_CHECKING:
    from .lockorder import LockOrderValidator


class _Instances:
    """The order of nested instances of one lock class (see the module docstring).

    Instances are numbered when first nested; the number is dropped, with its edges, when the
    lock is collected (the weak reference's callback only queues it: a collection can run
    while the validator's mutex is held, so the graph is pruned at the next check).
    """

    def __init__(self) -> None:
        self.serials: dict[int, tuple[int, weakref.ref[Any]]] = {}  # id(lock) -> serial, ref
        self.next = 0
        self.dead: deque[tuple[int, int]] = deque()  # (id, serial) of collected locks
        self.graph = _Graph()
        self.reported: set[frozenset[tuple[int, int]]] = set()

    def serial(self, prim: Any) -> int:
        found = self.serials.get(id(prim))
        if found is not None and found[1]() is prim:
            return found[0]
        self.next += 1
        serial, dead = self.next, self.dead
        key = id(prim)
        self.serials[key] = (serial, weakref.ref(prim, lambda _r: dead.append((key, serial))))
        return serial

    def prune(self) -> None:
        succ = self.graph.succ
        while self.dead:
            key, serial = self.dead.popleft()
            if self.serials.get(key, (None,))[0] == serial:
                del self.serials[key]
            succ.pop(serial, None)
            for out in succ.values():
                out.pop(serial, None)

    def check(
        self,
        validator: LockOrderValidator,
        stack: list[Any],
        prim: Any,
        frame: FrameType,
        thread: str,
    ) -> list[tuple[Inversion, Any]]:
        """Record ``x → prim`` for each held ``x`` of ``prim``'s class; report new cycles."""
        self.prune()
        cls = prim._site_created.key
        to = self.serial(prim)
        succ = self.graph.succ
        found: list[tuple[Inversion, Any]] = []
        below: list[int] = []
        trace = None
        for held_prim in stack[:-1]:
            held_cls = held_prim._site_created.key
            if held_cls != cls or held_prim is prim:
                below.append(held_cls)
                continue
            src = self.serial(held_prim)
            gates = frozenset(c for c in below if c != cls)
            out = succ.setdefault(src, {})
            edge = out.get(to)
            if edge is not None:
                if edge.gates <= gates:
                    continue
                edge.gates = edge.gates & gates
            else:
                if trace is None:
                    trace = traceback.extract_stack(frame)
                suffix = (f" #{src}", f" #{to}")
                info = validator._edge_info(held_prim, prim, frame, trace, thread, suffix)
                edge = out[to] = _Edge(gates, info)
            cycle = _find_cycle(succ, src, to, edge.gates)
            if cycle is not None and frozenset(cycle) not in self.reported:
                self.reported.add(frozenset(cycle))
                edges = tuple(succ[a][b].info for a, b in cycle)
                found.append((Inversion(edges, per_instance=True), held_prim))
        return found
