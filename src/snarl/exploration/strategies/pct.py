"""PCT: probabilistic concurrency testing, with a guarantee for bugs of small depth.

From Burckhardt, Kothari, Musuvathi and Nagarakatte, "A Randomized Scheduler with
Probabilistic Guarantees of Finding Bugs", ASPLOS 2010.  Prior art: shuttle's
``shuttle-schedulers/src/pct.rs`` (which follows Coyote's variant); this is written from the
paper.

Every thread gets a distinct priority, and the highest-priority runnable thread always runs.
Each execution draws:

* a random initial priority for each thread when it is first seen, all distinct and ``>=
  depth`` (a thread is inserted at a uniformly random rank among the threads holding initial
  priorities, which gives a uniform random permutation);
* ``depth - 1`` distinct *change points* ``c_1 .. c_{d-1}``, uniformly from ``[1, k]``, where
  ``k`` is the number of steps of an execution.  When the execution is about to take its
  ``c_i``-th step (0-based switch point ``c_i - 1``), the thread that would run drops to
  priority ``i``, below every initial priority, and the highest-priority runnable thread runs
  instead.

A bug of depth ``d`` (``d`` ordering constraints between ``n`` threads) is then found by each
execution with probability at least ``1 / (n * k**(d-1))`` (:func:`probability_bound`).
Steps are every switch point (the paper's "sequential execution" refinement is not applied),
so ``k`` is the length of a :class:`~snarl.runtime.scheduler.Schedule`.

**The choice of k, and ``--jobs``.**  ``k`` is ``steps`` if given.  Otherwise the runner must
*calibrate* before exploring: run one non-preemptive execution (the default policy: the
current thread goes on, else the lowest runnable) and pass its step count to
:meth:`PctScheduler.calibrate`.  Every process of a ``--jobs`` run does the same, so every
execution of every process uses the same ``k``.  ``k`` is never learned from the executions
themselves: a ``k`` that grew with what one process happened to run would make execution
``i`` depend on the indices before it in that process, and ``--jobs`` would explore other
schedules than one process.  :meth:`~PctScheduler.observe` only records the longest
execution seen (:attr:`~PctScheduler.observed_steps`), so the runner can say when ``k``
underestimated.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from .random import check_indices, derive_seed

__all__ = ["PctScheduler", "probability_bound"]


def probability_bound(threads: int, steps: int, depth: int) -> float:
    """The paper's lower bound on one execution finding a bug of depth ``depth`` in a program
    of ``threads`` threads and ``steps`` steps: ``1 / (threads * steps**(depth-1))``."""
    if threads < 1 or steps < 1 or depth < 1:
        raise ValueError(f"threads, steps and depth must be >= 1, not {threads, steps, depth}")
    return 1.0 / (threads * steps ** (depth - 1))


class PctScheduler:
    """PCT over executions ``start, start+stride, ...`` below ``schedules`` (see the module
    docstring for the algorithm and the rule that fixes ``k``)."""

    def __init__(
        self,
        seed: int,
        schedules: int,
        *,
        depth: int = 3,
        steps: int | None = None,
        start: int = 0,
        stride: int = 1,
    ) -> None:
        check_indices(schedules, start, stride)
        if depth < 1:
            raise ValueError(f"depth must be >= 1, not {depth}")
        if steps is not None and steps < 1:
            raise ValueError(f"steps must be >= 1, not {steps}")
        self.seed = seed
        self.schedules = schedules
        self.depth = depth
        self.steps = steps
        self.start = start
        self.stride = stride
        self._calibrated: int | None = None
        self._observed = 0
        self._threads_seen = 0
        self._next = start
        self._index: int | None = None
        self._rng = random.Random(0)
        self._data: random.Random | None = None  # made at the first draw (most make none)
        # invariant: threads holding initial priorities, lowest first (priority = depth + rank)
        self._order: list[int] = []
        # invariant: threads lowered at a change point -> their priority, in [1, depth)
        self._lowered: dict[int, int] = {}
        # invariant: 0-based switch point -> the priority its thread drops to
        self._changes: dict[int, int] = {}
        # invariant: every thread of _order and _lowered -> its priority (a cache of both)
        self._prio: dict[int, int] = {}

    @property
    def index(self) -> int | None:
        """The index of the execution under way (None before the first, and after the last)."""
        return self._index

    @property
    def k(self) -> int | None:
        """The number of steps change points are drawn from (None until calibrated)."""
        return self.steps if self.steps is not None else self._calibrated

    @property
    def observed_steps(self) -> int:
        """The most steps :meth:`observe` was told of (0 if never)."""
        return self._observed

    @property
    def bound(self) -> float:
        """:func:`probability_bound` for the threads seen so far, ``k`` and the depth."""
        return probability_bound(max(self._threads_seen, 1), max(self.k or 1, 1), self.depth)

    def seed_of(self, index: int) -> int:
        """The seed of execution ``index``'s priorities and change points."""
        return derive_seed(self.seed, index, "pct")

    def calibrate(self, steps: int) -> None:
        """Set ``k`` from the step count of the runner's non-preemptive execution."""
        self._calibrated = max(steps, 1)

    def observe(self, steps: int) -> None:
        """Record the step count of an execution that ended (does not change ``k``)."""
        self._observed = max(self._observed, steps)

    def new_execution(self) -> bool:
        """Draw the next execution's change points; False once this process's share is spent."""
        if self._next >= self.schedules:
            self._index = None
            return False
        k = self.k
        if k is None:
            raise RuntimeError(
                "PctScheduler needs the number of steps: pass steps=, or call calibrate() with "
                "the step count of a non-preemptive execution before exploring"
            )
        self._index = self._next
        self._next += self.stride
        self._rng = random.Random(self.seed_of(self._index))
        self._data = None
        self._order = []
        self._lowered = {}
        self._prio = {}
        points = _distinct(self._rng, k, min(self.depth - 1, k))
        self._changes = {point - 1: i for i, point in enumerate(points, start=1)}
        return True

    def next_thread(self, runnable: Sequence[int], current: int | None, step: int) -> int:
        """The highest-priority runnable thread, after this step's priority change if any."""
        prio = self._prio
        if len(runnable) == 1 and step not in self._changes and runnable[0] in prio:
            return runnable[0]  # no choice, and no change point: the common case, fast
        for tid in runnable:
            if tid not in prio:
                self._order.insert(self._rng.randrange(len(self._order) + 1), tid)
                self._threads_seen = max(self._threads_seen, len(self._order) + len(self._lowered))
                self._ranks()
        chosen = _highest(runnable, prio)
        if step in self._changes:
            if chosen in self._order:
                self._order.remove(chosen)
            self._lowered[chosen] = self._changes[step]
            self._ranks()
            chosen = _highest(runnable, prio)
        return chosen

    def _ranks(self) -> None:
        """Recompute ``_prio`` (thread -> priority) after ``_order`` or ``_lowered`` changed."""
        prio = self._prio
        prio.clear()
        for rank, tid in enumerate(self._order):
            prio[tid] = self.depth + rank
        prio.update(self._lowered)

    def next_int(self, bound: int) -> int:
        """A uniform draw from ``range(bound)``, apart from the scheduling randomness."""
        if self._data is None:
            self._data = random.Random(derive_seed(self.seed, self._index or 0, "data"))
        return self._data.randrange(bound)

    def __repr__(self) -> str:
        return (
            f"PctScheduler(seed={self.seed}, schedules={self.schedules}, depth={self.depth}, "
            f"steps={self.steps}, start={self.start}, stride={self.stride})"
        )


def _highest(runnable: Sequence[int], prio: dict[int, int]) -> int:
    """The thread of ``runnable`` with the highest priority (priorities are distinct)."""
    best = runnable[0]
    top = prio[best]
    for tid in runnable:
        p = prio[tid]
        if p > top:
            best, top = tid, p
    return best


def _distinct(rng: random.Random, k: int, count: int) -> list[int]:
    """``count`` distinct numbers from ``[1, k]`` in random order (Floyd's algorithm, then a
    shuffle by ``randrange`` only, so the draws are the same on every Python version)."""
    chosen: list[int] = []
    for top in range(k - count + 1, k + 1):
        pick = rng.randrange(1, top + 1)
        chosen.append(top if pick in chosen else pick)
    for i in range(len(chosen) - 1, 0, -1):
        j = rng.randrange(i + 1)
        chosen[i], chosen[j] = chosen[j], chosen[i]
    return chosen
