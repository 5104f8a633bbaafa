"""The default granularity, ``"auto"``: synchronisation bugs and data races in one exploration.

Switching only at synchronisation operations (``"sync"``) finds deadlocks, lost wakeups and
races between critical sections in very few schedules, but never a data race on plain state
(an unlocked ``x += 1``, a check-then-create, a torn pair of fields).  Switching also before
every access to shared state (``"shared"``) finds those, but dilutes the search for the
first kind: more switch points, so each bad one is drawn less often.  ``"auto"`` runs both,
alternating: execution ``i`` runs at ``AUTO[i % 2]``, each half with a scheduler of its own
(PCT calibrates each to its own run length).  A synchronisation bug then costs at most
twice its schedules at ``"sync"``, and a data race twice its schedules at ``"shared"``.

For the random and PCT strategies both schedulers step through the same indices (so
execution ``i`` depends only on the seed and ``i``, and ``--jobs`` splits them as before) and
execution ``i`` uses the one of its parity.  Depth-first search cannot interleave two searches:
it searches at ``"sync"`` first with half the budget, then at ``"shared"`` with the rest; the
space is covered when both searches covered theirs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

__all__ = ["AUTO", "Portfolio"]

AUTO = ("sync", "shared")
"""The granularities ``"auto"`` alternates, in order."""


class Portfolio:
    """A Scheduler over one scheduler per granularity of :data:`AUTO`; :attr:`granularity`
    is the one of the execution under way."""

    def __init__(
        self, make: Callable[[str, int], Any], schedules: int, *, sequential: bool = False
    ) -> None:
        self.sequential = sequential  # dfs: one search after the other
        self.schedules = schedules
        if sequential:
            first = max(1, schedules // 2)
            self.members = [make(AUTO[0], first)]
            self._make = make
        else:
            self.members = [make(g, schedules) for g in AUTO]
        self.current = self.members[0]
        self.granularity = AUTO[0]
        self.ran = [0 for _ in AUTO]  # executions run at each granularity
        self.spinning = False  # the test spins at "sync": every execution runs at "shared"

    @property
    def index(self) -> int | None:
        """The global index of the execution under way."""
        if self.sequential:
            return sum(self.ran) - 1 if any(self.ran) else None
        return self.current.index  # type: ignore[no-any-return]

    def new_execution(self) -> bool:
        """Start the next execution; False once every member is spent."""
        if self.sequential:
            return self._next_sequential()
        going = [m.new_execution() for m in self.members]
        if not all(going):
            return False
        which = 1 if self.spinning else (self.members[0].index or 0) % len(AUTO)
        self._use(which)
        self.ran[which] += 1
        return True

    def _next_sequential(self) -> bool:
        which = len(self.members) - 1
        if self.spinning and which == 0:
            return False
        if self.current.new_execution():
            self.ran[which] += 1
            return True
        if which + 1 >= len(AUTO):
            return False
        left = self.schedules - sum(self.ran)
        if left <= 0:
            return False
        self.current = self._make(AUTO[which + 1], left)
        self.members.append(self.current)
        self.granularity = AUTO[which + 1]
        return self._next_sequential()

    def spun(self, rt: Any) -> bool:
        """Whether execution ``rt``, at ``"sync"``, ended in a spin (a loop with no
        synchronisation operation, so no switch point at that granularity: it cannot run at
        ``"sync"``).  Then every execution from now on, this one first, runs at ``"shared"``:
        the caller runs it again."""
        outcome = rt.outcome
        if outcome is None or outcome.kind != "spin" or self.granularity != AUTO[0]:
            return False
        self.spinning = True
        self.ran[0] -= 1
        if self.sequential:  # dfs: the search at "shared" starts now, with what is left
            self.members.append(self._make(AUTO[1], self.schedules - sum(self.ran)))
            if not self.members[1].new_execution():
                return False
        self._use(1)
        self.ran[1] += 1
        return True

    def _use(self, which: int) -> None:
        self.current = self.members[which]
        self.granularity = AUTO[which]

    def next_thread(self, runnable: Sequence[int], current: int | None, step: int) -> int:
        """The current member's choice."""
        return self.current.next_thread(runnable, current, step)  # type: ignore[no-any-return]

    def next_int(self, bound: int) -> int:
        """The current member's draw."""
        return self.current.next_int(bound)  # type: ignore[no-any-return]

    def observe(self, steps: int) -> None:
        """PCT: the current member learns the length of its execution."""
        observe = getattr(self.current, "observe", None)
        if observe is not None:
            observe(steps)

    @property
    def covered(self) -> bool:
        """dfs: both searches covered their bounded space."""
        return (
            self.sequential
            and len(self.members) == len(AUTO)
            and all(getattr(m, "covered", False) for m in self.members)
        )

    @property
    def bound(self) -> float | None:
        """PCT: the weaker of the two members' per-run bounds."""
        bounds = [getattr(m, "bound", None) for m in self.members]
        known = [b for b in bounds if b is not None]
        return min(known) if known else None

    def describe(self) -> str:
        """How many executions ran at each granularity, for the statistics line."""
        text = ", ".join(f"{n} at {g}" for g, n in zip(AUTO, self.ran, strict=True))
        if self.spinning:
            text += " (the test spins without synchronisation: the rest ran at shared)"
        return text
