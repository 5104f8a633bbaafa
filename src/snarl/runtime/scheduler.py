"""The Scheduler protocol: who runs next at every switch point of a controlled execution.

The controlled runtime (:mod:`snarl.runtime.controlled`) runs one managed thread at a time.
At every *switch point* (a synchronisation operation, a thread start, join or exit, a sleep,
or a preemption point of the chosen granularity) it asks its scheduler which thread runs
next, and records the answer.  A scheduler is three calls, as in shuttle's ``Scheduler``
trait:

* :meth:`Scheduler.new_execution` before each execution: False when there is none left (the
  budget is spent, or a systematic search has covered its space);
* :meth:`Scheduler.next_thread` at each switch point: one of ``runnable``;
* :meth:`Scheduler.next_int` for a random draw the program under test asks for (recorded in
  the schedule like a thread choice, so replay reproduces it).

Threads are named by small integers in the order they were started: the test function's own
thread is 0, the first thread it starts is 1, and so on.  These ids are stable across
executions of the same program, which is what lets a schedule be replayed.

A :class:`Schedule` is the list of every decision made in one execution, the choice sequence
that replay, shrinking and replay tokens all work on.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import NamedTuple, Protocol, runtime_checkable

__all__ = ["Choice", "Schedule", "Scheduler", "preemptions"]


@runtime_checkable
class Scheduler(Protocol):
    """Decides, at every switch point, which managed thread runs next."""

    def new_execution(self) -> bool:
        """Prepare the next execution; False if there is none left to run."""
        ...

    def next_thread(self, runnable: Sequence[int], current: int | None, step: int) -> int:
        """The thread to run at switch point number ``step`` (0-based, per execution).

        ``runnable`` lists the ids that may run, ascending and never empty; ``current`` is
        the thread that reached the switch point if it may go on running (it is then in
        ``runnable``), or None if it blocked or finished.  Choosing another thread while
        ``current`` is not None is a *preemption*.
        """
        ...

    def next_int(self, bound: int) -> int:
        """A number in ``range(bound)`` for the program under test (recorded, replayed)."""
        ...


class Choice(NamedTuple):
    """One decision: at ``step``, thread ``chosen`` ran, out of ``runnable``; ``current`` is
    the thread that reached the switch point if it could have gone on, else None.

    A named tuple (one is made at every switch point: it costs half a frozen dataclass)."""

    chosen: int
    runnable: tuple[int, ...]
    current: int | None

    @property
    def preempts(self) -> bool:
        """Whether this choice took the processor from a thread that could have gone on."""
        return self.current is not None and self.chosen != self.current


@dataclass(slots=True)
class Schedule:
    """Every decision of one execution, in order (see the module docstring)."""

    choices: list[Choice] = field(default_factory=list)
    seed: int | None = None

    @property
    def threads(self) -> list[int]:
        """The thread chosen at each step."""
        return [c.chosen for c in self.choices]

    def __len__(self) -> int:
        return len(self.choices)


def preemptions(choices: Sequence[Choice]) -> int:
    """How many of ``choices`` are preemptions."""
    return sum(1 for c in choices if c.preempts)
