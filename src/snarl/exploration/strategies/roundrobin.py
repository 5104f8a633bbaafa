"""Round robin: the scheduler of the deterministic check interval.

The runtime asks it only where a real interpreter would switch: when the check interval
expires, and when the running thread blocks or ends.  So every answer is a switch: without a
seed, to the next runnable id after the thread that ran last, cyclically (the thread that ran
last again only if no other can run); with a seed, to one of the other runnable threads chosen
by a generator seeded with it, so runs differ by seed but each is deterministic.

It runs exactly one execution.  Draws (``next_int``) come from a generator seeded with the
seed (0 without one).
"""

from __future__ import annotations

import random
from collections.abc import Sequence

__all__ = ["RoundRobinScheduler"]


class RoundRobinScheduler:
    """Cyclic (or, with ``seed``, seeded random) hand-over among the runnable threads."""

    def __init__(self, seed: int | None = None) -> None:
        self.seed = seed
        self._executions = 0
        self._last: int | None = None
        self._rng = random.Random(seed if seed is not None else 0)
        self._data = random.Random(seed if seed is not None else 0)

    @property
    def index(self) -> int | None:
        """0 while the one execution runs (None before it)."""
        return 0 if self._executions else None

    def new_execution(self) -> bool:
        """True once: the check interval runs the program once."""
        self._executions += 1
        return self._executions == 1

    def next_thread(self, runnable: Sequence[int], current: int | None, step: int) -> int:
        """The next thread after the one that ran last (see the module docstring)."""
        last = self._last
        if last is None:
            chosen = runnable[0]
        elif self.seed is None:
            chosen = next((t for t in runnable if t > last), runnable[0])
        else:
            others = [t for t in runnable if t != last]
            chosen = others[self._rng.randrange(len(others))] if others else runnable[0]
        self._last = chosen
        return chosen

    def next_int(self, bound: int) -> int:
        """A draw from ``range(bound)``, deterministic given the seed."""
        return self._data.randrange(bound)

    def __repr__(self) -> str:
        return f"RoundRobinScheduler(seed={self.seed})"
