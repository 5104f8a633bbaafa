"""The wait-for graph and its cycle finder, shared by every part of snarl that looks for deadlocks.

Nodes are threads.  An edge ``a → b`` says thread ``a`` cannot go on until thread ``b`` acts:
``b`` holds the lock ``a`` waits for, ``a`` joins ``b``, ``b`` runs the task whose future
``a`` waits on, or ``b`` is the next worker of a thread pool whose every worker waits for a
future still queued in that pool (the dump links them in a ring: none can ever take it).
Each edge carries a payload (what the dump knows of the wait) that the finder hands back
untouched, so the same finder serves the dump, the watchdog and the explorer.

A deadlock is a cycle.  Cycles are found per strongly connected component (Tarjan, iterative,
so 5,000 threads do not hit the recursion limit); each component yields one cycle, found by
following edges inside it from its smallest node.  Waits on objects that several threads can
release (a Semaphore, a Condition) do not make edges: their wakers are not knowable from a
snapshot, so they cannot prove a cycle.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

__all__ = ["WaitGraph"]

P = TypeVar("P")


@dataclass
class WaitGraph(Generic[P]):
    """Threads and the threads each one waits for."""

    edges: dict[Hashable, list[tuple[Hashable, P]]] = field(default_factory=dict)

    def add(self, waiter: Hashable, holder: Hashable, payload: P) -> None:
        """Record that ``waiter`` waits for ``holder`` (``payload`` says why)."""
        self.edges.setdefault(waiter, []).append((holder, payload))

    def cycles(self) -> list[list[tuple[Hashable, Hashable, P]]]:
        """One cycle per strongly connected component, as ``(waiter, holder, payload)`` steps.

        A thread waiting for itself (a non-reentrant lock it holds) is a cycle of one step.
        Cycles are returned in a stable order: by their smallest thread.
        """
        found = []
        for component in self._components():
            members = set(component)
            start = min(component, key=repr)
            if len(component) == 1 and not any(h == start for h, _ in self.edges.get(start, ())):
                continue
            steps: list[tuple[Hashable, Hashable, P]] = []
            seen: dict[Hashable, int] = {}
            node = start
            while node not in seen:
                seen[node] = len(steps)
                holder, payload = next(
                    (h, p)
                    for h, p in sorted(self.edges[node], key=lambda e: repr(e[0]))
                    if h in members
                )
                steps.append((node, holder, payload))
                node = holder
            found.append(steps[seen[node] :])
        found.sort(key=lambda steps: repr(min((s[0] for s in steps), key=repr)))
        return found

    def _components(self) -> list[list[Hashable]]:
        index: dict[Hashable, int] = {}
        low: dict[Hashable, int] = {}
        on_stack: set[Hashable] = set()
        stack: list[Hashable] = []
        result: list[list[Hashable]] = []
        counter = 0
        for root in list(self.edges):
            if root in index:
                continue
            work = [(root, iter(self.edges.get(root, ())))]
            index[root] = low[root] = counter
            counter += 1
            stack.append(root)
            on_stack.add(root)
            while work:
                node, children = work[-1]
                advanced = False
                for child, _ in children:
                    if child not in index:
                        index[child] = low[child] = counter
                        counter += 1
                        stack.append(child)
                        on_stack.add(child)
                        work.append((child, iter(self.edges.get(child, ()))))
                        advanced = True
                        break
                    if child in on_stack:
                        low[node] = min(low[node], index[child])
                if advanced:
                    continue
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    result.append(component)
        return result
