"""Bounded exhaustive search: every schedule with at most ``preemption_bound`` preemptions.

From CHESS: Musuvathi and Qadeer, "Iterative context bounding for systematic testing of
multithreaded programs", PLDI 2007.  Most concurrency bugs need few preemptions, and the
number of schedules with at most ``c`` preemptions grows polynomially in the program's
length (exponentially only in ``c``), so a small bound covers the likely bugs completely.
This scheduler explores one bound depth-first; iterating the bound (0, 1, 2, ...) as CHESS
does is a loop over schedulers, left to the caller.

Each execution follows the decisions of the previous one up to the last decision point that
still has an untried alternative, takes that alternative, and from there on takes the first
alternative of every new point.  At a thread decision the first alternative is ``current``
if it can go on (no preemption), else the lowest runnable thread; the other runnable threads
follow in ascending order, and those that would preempt are alternatives only while the
preemptions before this point are below the bound.  A draw (``next_int(bound)``) is a
decision point too, with alternatives ``0 .. bound-1``, so keep such bounds small.

The search assumes an execution is deterministic given its decisions (the controlled runtime
guarantees it for the threads and primitives it manages).  An execution that presents another
runnable set, current thread or draw bound than the same prefix did before, or that ends
before the prefix does, raises :class:`~snarl.errors.DidNotReproduce`.

Sequential only: there is no ``start``/``stride``, since each execution is derived from the
one before it.  Split work across processes with the random or PCT strategies.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from snarl.errors import DidNotReproduce

__all__ = ["DfsScheduler", "IterativeDfsScheduler"]


@dataclass(slots=True)
class _Point:
    """One decision point of the current path."""

    runnable: tuple[int, ...] | None  # None for a draw
    current: int | None  # for a draw: None
    bound: int | None  # for a draw: its bound; None for a thread decision
    options: Sequence[int]  # invariant: never empty; options[0] is the no-preemption choice
    taken: int  # invariant: 0 <= taken < len(options)
    preemptions: int  # preemptions on the path before this point


class DfsScheduler:
    """Explores every schedule with at most ``preemption_bound`` preemptions, depth-first,
    stopping early after ``max_schedules`` executions if given."""

    def __init__(self, *, preemption_bound: int = 2, max_schedules: int | None = None) -> None:
        if preemption_bound < 0:
            raise ValueError(f"preemption_bound must be >= 0, not {preemption_bound}")
        if max_schedules is not None and max_schedules < 0:
            raise ValueError(f"max_schedules must be >= 0, not {max_schedules}")
        self.preemption_bound = preemption_bound
        self.max_schedules = max_schedules
        self._path: list[_Point] = []
        # invariant: decisions taken so far in this execution; below `_replay` they follow _path
        self._pos = 0
        self._replay = 0
        self._step = 0  # the switch point of the latest thread decision (for DidNotReproduce)
        self._executions = 0
        self._covered = False
        self._stopped = False  # max_schedules ran

    @property
    def covered(self) -> bool:
        """True once every schedule within the bound was explored."""
        return self._covered

    @property
    def index(self) -> int | None:
        """The 0-based number of the execution under way (None before the first)."""
        return self._executions - 1 if self._executions else None

    def new_execution(self) -> bool:
        """Move to the next unexplored path; False once covered or ``max_schedules`` ran."""
        if self._covered or self._stopped:
            return False
        if self._executions:
            if self._pos < self._replay:
                raise DidNotReproduce(
                    f"the program is not deterministic under control: execution "
                    f"{self._executions - 1} ended after {self._pos} decisions, but the same "
                    f"choices made {self._replay} decisions before",
                    step=self._step + 1 if self._pos else 0,
                )
            del self._path[self._pos :]
            while self._path and self._path[-1].taken + 1 >= len(self._path[-1].options):
                self._path.pop()
            if not self._path:
                self._covered = True
                return False
            self._path[-1].taken += 1
        if self.max_schedules is not None and self._executions >= self.max_schedules:
            self._stopped = True
            return False
        self._executions += 1
        self._pos = 0
        self._step = 0
        self._replay = len(self._path)
        return True

    def next_thread(self, runnable: Sequence[int], current: int | None, step: int) -> int:
        """The thread this path takes at decision ``step``."""
        runnable = tuple(runnable)
        self._step = step
        if self._pos < self._replay:
            return self._follow(runnable, current, None, f"step {step}")
        preemptions = self._preemptions_here()
        first = current if current is not None else runnable[0]
        options = [first]
        if current is None or preemptions < self.preemption_bound:
            options += [t for t in runnable if t != first]
        self._path.append(_Point(runnable, current, None, options, 0, preemptions))
        self._pos += 1
        return first

    def next_int(self, bound: int) -> int:
        """The draw this path takes at this decision point."""
        if self._pos < self._replay:
            return self._follow(None, None, bound, "a draw")
        self._path.append(_Point(None, None, bound, range(bound), 0, self._preemptions_here()))
        self._pos += 1
        return 0

    def _follow(
        self, runnable: tuple[int, ...] | None, current: int | None, bound: int | None, what: str
    ) -> int:
        point = self._path[self._pos]
        if point.runnable != runnable or point.current != current or point.bound != bound:
            now = _describe(runnable, current, bound)
            before = _describe(point.runnable, point.current, point.bound)
            raise DidNotReproduce(
                f"the program is not deterministic under control: at decision {self._pos} "
                f"({what}) execution {self._executions - 1} offers {now}, but the same "
                f"choices offered {before} before",
                step=self._step,
            )
        self._pos += 1
        return point.options[point.taken]

    def _preemptions_here(self) -> int:
        """Preemptions on the path up to (not including) the next point."""
        if not self._path:
            return 0
        last = self._path[-1]
        chosen = last.options[last.taken]
        preempted = last.bound is None and last.current is not None and chosen != last.current
        return last.preemptions + preempted

    def __repr__(self) -> str:
        return (
            f"DfsScheduler(preemption_bound={self.preemption_bound}, "
            f"max_schedules={self.max_schedules})"
        )


def _describe(runnable: tuple[int, ...] | None, current: int | None, bound: int | None) -> str:
    if runnable is None:
        return f"a draw below {bound}"
    ids = ", ".join(map(str, runnable))
    on = f"thread {current} able to go on" if current is not None else "no current thread"
    return f"threads {ids} ({on})"


class IterativeDfsScheduler:
    """Iterative context bounding (CHESS): :class:`DfsScheduler` with bound 0, then 1, ... up
    to ``preemption_bound``, within ``max_schedules`` executions in all.

    A bug that needs one preemption is then found among the few schedules with at most one,
    before the far more numerous schedules with two are searched; schedules of a lower bound
    are met again under the higher ones (the price of keeping each bound's search simple).
    ``covered`` is True once the space of the highest bound was explored.
    """

    def __init__(self, *, preemption_bound: int = 2, max_schedules: int | None = None) -> None:
        if preemption_bound < 0:
            raise ValueError(f"preemption_bound must be >= 0, not {preemption_bound}")
        self.preemption_bound = preemption_bound
        self.max_schedules = max_schedules
        self.bound = 0
        self._executions = 0
        self._search = DfsScheduler(preemption_bound=0, max_schedules=max_schedules)

    @property
    def covered(self) -> bool:
        """True once every schedule within ``preemption_bound`` was explored."""
        return self.bound == self.preemption_bound and self._search.covered

    @property
    def index(self) -> int | None:
        """The 0-based number of the execution under way, over all bounds."""
        return self._executions - 1 if self._executions else None

    def new_execution(self) -> bool:
        """The next schedule of the current bound, or the first of the next bound."""
        if self.max_schedules is not None and self._executions >= self.max_schedules:
            return False
        while not self._search.new_execution():
            if not self._search.covered or self.bound >= self.preemption_bound:
                return False
            self.bound += 1
            left = None if self.max_schedules is None else self.max_schedules - self._executions
            self._search = DfsScheduler(preemption_bound=self.bound, max_schedules=left)
        self._executions += 1
        self.next_thread = self._search.next_thread  # type: ignore[method-assign]
        return True

    def next_thread(self, runnable: Sequence[int], current: int | None, step: int) -> int:
        """The current bound's search decides (the instance attribute set in
        :meth:`new_execution` calls it directly: one call fewer at every switch point)."""
        return self._search.next_thread(runnable, current, step)

    def next_int(self, bound: int) -> int:
        """The current bound's search decides."""
        return self._search.next_int(bound)

    def __repr__(self) -> str:
        return f"IterativeDfsScheduler(bound {self.bound} of {self.preemption_bound})"
