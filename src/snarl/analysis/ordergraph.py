"""The lock-order validator's data: the reports it makes and the graph it searches.

:class:`EdgeInfo` and :class:`Inversion` are the reports (re-exported by
:mod:`snarl.analysis.lockorder`); ``_Graph`` keeps edges with their gate sets, and
``_find_cycle`` is the gate-aware cycle search described there.
"""

from __future__ import annotations

import os
import traceback
from dataclasses import dataclass, field

from ..identity import Site

__all__ = ["EdgeInfo", "Inversion"]


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
    per_instance: bool = False
    """True: a cycle among instances of one lock class (nested per-object locks)."""

    def message(self) -> str:
        """The report text."""
        classes = " -> ".join(
            _label(e.from_name, e.from_class) for e in (*self.edges, self.edges[0])
        )
        among = (
            f"{len(self.edges)} locks of one class"
            if self.per_instance
            else f"{len(self.edges)} lock classes"
        )
        lines = [
            f"potential deadlock: lock order inversion among {among} "
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


def _find_cycle(
    succ: dict[int, dict[int, _Edge]], src: int, dst: int, gates: frozenset[int]
) -> list[tuple[int, int]] | None:
    """A path dst ⇝ src whose gate sets, with ``gates``, have an empty intersection."""
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
