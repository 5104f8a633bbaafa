"""Random scheduling: a uniform choice among the runnable threads at every switch point.

The simplest strategy, and a good one: most concurrency bugs need only a few unlucky switches,
and a uniform walk makes them often enough (shuttle's ``RandomScheduler`` is the prior art).

Execution number ``i`` draws from its own generator, seeded with :func:`derive_seed` of
``(seed, i)``, so its decisions depend only on the seed, its index and what it saw itself.
That is what lets the runner split the indices across processes (``--jobs J``: process ``j``
runs ``j, j+J, j+2J, ...``) and still explore exactly the schedules one process would.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Sequence

__all__ = ["RandomScheduler", "derive_seed"]


def derive_seed(seed: int, index: int, stream: str = "threads") -> int:
    """A 64-bit seed for execution ``index`` of an exploration seeded with ``seed``.

    ``stream`` separates independent generators of one execution (thread choices, the
    program's own draws).  The derivation is BLAKE2b, not :func:`hash` (salted per process),
    so it is the same in every process, on every machine and Python version.
    """
    text = f"snarl/{stream}/{seed}/{index}".encode()
    return int.from_bytes(hashlib.blake2b(text, digest_size=8).digest(), "big")


def check_indices(schedules: int, start: int, stride: int) -> None:
    """Refuse an index range that cannot be meant (shared by the seeded strategies)."""
    if schedules < 0:
        raise ValueError(f"schedules must be >= 0, not {schedules}")
    if start < 0:
        raise ValueError(f"start must be >= 0, not {start}")
    if stride < 1:
        raise ValueError(f"stride must be >= 1, not {stride}")


class RandomScheduler:
    """Runs executions ``start, start+stride, ...`` below ``schedules``; at every switch point
    it picks one of the runnable threads uniformly at random."""

    def __init__(self, seed: int, schedules: int, *, start: int = 0, stride: int = 1) -> None:
        check_indices(schedules, start, stride)
        self.seed = seed
        self.schedules = schedules
        self.start = start
        self.stride = stride
        # invariant: the index the next new_execution() runs, if below schedules
        self._next = start
        self._index: int | None = None
        self._rng = random.Random(0)
        self._random = self._rng.random
        self._data: random.Random | None = None  # made at the first draw (most make none)

    @property
    def index(self) -> int | None:
        """The index of the execution under way (None before the first, and after the last)."""
        return self._index

    def seed_of(self, index: int) -> int:
        """The seed of execution ``index``'s thread choices."""
        return derive_seed(self.seed, index)

    def new_execution(self) -> bool:
        """Start the next execution of this process's share; False once it is spent."""
        if self._next >= self.schedules:
            self._index = None
            return False
        self._index = self._next
        self._next += self.stride
        self._rng = random.Random(self.seed_of(self._index))
        self._random = self._rng.random
        self._data = None
        return True

    def next_thread(self, runnable: Sequence[int], current: int | None, step: int) -> int:
        """One of ``runnable``, uniformly (no draw when there is no choice)."""
        n = len(runnable)
        if n == 1:
            return runnable[0]
        return runnable[int(self._random() * n)]  # half randrange's cost; bias below 2**-50

    def next_int(self, bound: int) -> int:
        """A uniform draw from ``range(bound)``, from a generator apart from the thread choices."""
        if self._data is None:
            self._data = random.Random(derive_seed(self.seed, self._index or 0, "data"))
        return self._data.randrange(bound)

    def __repr__(self) -> str:
        return (
            f"RandomScheduler(seed={self.seed}, schedules={self.schedules}, "
            f"start={self.start}, stride={self.stride})"
        )
