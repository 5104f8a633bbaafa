"""Replay: run one recorded schedule again.

*Strict* replay reproduces a failure: at step ``i`` it runs ``threads[i]``, and if that thread
cannot run, or the program asks for more steps than were recorded, it raises
:class:`~snarl.errors.DidNotReproduce` naming the step.  The runner asks
:meth:`ReplayScheduler.finished_early` after the execution, since an execution that ends
before using every recorded choice diverged too.

*Lenient* replay (``strict=False``) serves the shrinker: it follows the recording while the
recorded thread can run, and otherwise, and past the end, falls back to the default policy:
the current thread goes on if it can, else the lowest runnable thread runs.  The default
policy never preempts, so a truncated recording adds no preemption of its own.

Draws (``next_int``) replay from ``draws`` in the order they were made; in lenient mode a
missing or out-of-range draw is 0.
"""

from __future__ import annotations

from collections.abc import Sequence

from snarl.errors import DidNotReproduce

__all__ = ["ReplayScheduler", "default_choice"]


def default_choice(runnable: Sequence[int], current: int | None) -> int:
    """The default policy: ``current`` if it can go on, else the lowest runnable thread."""
    return current if current is not None else runnable[0]


class ReplayScheduler:
    """One execution that follows ``threads`` (and ``draws``), strictly or leniently."""

    def __init__(
        self, threads: Sequence[int], *, strict: bool = True, draws: Sequence[int] = ()
    ) -> None:
        self.threads = tuple(threads)
        self.draws = tuple(draws)
        self.strict = strict
        self._executions = 0
        self._steps = 0
        self._drawn = 0

    @property
    def index(self) -> int | None:
        """0 while the one execution runs (None before it)."""
        return 0 if self._executions else None

    def new_execution(self) -> bool:
        """True once: a replay is one execution."""
        self._executions += 1
        self._steps = 0
        self._drawn = 0
        return self._executions == 1

    def next_thread(self, runnable: Sequence[int], current: int | None, step: int) -> int:
        """The recorded thread of ``step`` (see the module docstring for divergence)."""
        self._steps = step + 1
        if step < len(self.threads) and self.threads[step] in runnable:
            return self.threads[step]
        if not self.strict:
            return default_choice(runnable, current)
        if step >= len(self.threads):
            raise DidNotReproduce(
                f"replay diverged at step {step}: the recording ends after {len(self.threads)} "
                f"steps, but the program went on (threads {_ids(runnable)} could run)",
                step=step,
            )
        only = "only thread" if len(runnable) == 1 else "only threads"
        raise DidNotReproduce(
            f"replay diverged at step {step}: the recording ran thread {self.threads[step]}, "
            f"but {only} {_ids(runnable)} can run",
            step=step,
        )

    def next_int(self, bound: int) -> int:
        """The next recorded draw."""
        index = self._drawn
        self._drawn += 1
        if index < len(self.draws) and self.draws[index] < bound:
            return self.draws[index]
        if not self.strict:
            return 0
        step = max(self._steps - 1, 0)
        if index >= len(self.draws):
            raise DidNotReproduce(
                f"replay diverged at step {step}: the program asks for random draw {index}, "
                f"but the recording has {len(self.draws)}",
                step=step,
            )
        raise DidNotReproduce(
            f"replay diverged at step {step}: random draw {index} was {self.draws[index]}, "
            f"but the program asks for a number below {bound}",
            step=step,
        )

    def finished_early(self) -> bool:
        """Whether the execution ended before using every recorded choice and draw."""
        return self._steps < len(self.threads) or self._drawn < len(self.draws)

    def __repr__(self) -> str:
        return f"ReplayScheduler(<{len(self.threads)} steps>, strict={self.strict})"


def _ids(runnable: Sequence[int]) -> str:
    return ", ".join(map(str, runnable))
