"""A recorded replay's switch points as *rows*, and exact repeats folded away.

A row is one stretch of a thread running between two switches: the source lines it ran (the
sites of its switch points, in user code) and why the switch happened (``preempted``,
``blocked on Lock `b```, ``finished``...).  :func:`rows` builds them from the :class:`Step`
records of a recorded replay; :func:`fold` replaces a block of items that repeats, exactly, by
one copy of the block and a :class:`Repeat` (how many more times it came).  A spinning thread's
thousands of identical stretches become a few rows and a count: nothing is lost but the
repetition itself.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from ..runtime.controlled import Step
from ..threaddump.render import short_path

__all__ = ["Repeat", "Row", "fold", "rows"]

T = TypeVar("T")

MAX_PERIOD = 64
"""The longest block (in items) :func:`fold` looks for: a cycle of up to 64 stretches, or a
loop of up to 64 lines inside one stretch."""

MIN_COUNT = 3
"""A block is folded only if it comes at least this many times in a row: a block seen twice
reads better written out than counted."""

MIN_SAVED = 2
"""... and only if folding saves at least this many printed lines."""


@dataclass(frozen=True, slots=True)
class Repeat:
    """The ``period`` items just above come ``more`` more times (written once, not again)."""

    period: int
    more: int

    def text(self, noun: str) -> str:
        """``… the 2 rows above repeat 4,997 more times`` (``noun``: ``row`` or ``line``)."""
        times = "time" if self.more == 1 else "times"
        if self.period == 1:
            return f"… the {noun} above repeats {self.more:,} more {times}"
        return f"… the {self.period} {noun}s above repeat {self.more:,} more {times}"

    def short(self, noun: str) -> str:
        """A narrow form of :meth:`text`: ``… 2 lines, 4,997 more times``."""
        what = f"{self.period} {noun}{'s' if self.period != 1 else ''}"
        return f"… {what}, {self.more:,} more time{'s' if self.more != 1 else ''}"


@dataclass(frozen=True, slots=True)
class Row:
    """One stretch of thread ``tid``: its source lines (loops inside it folded) and why it
    ended (``"end"``: the execution ended inside it)."""

    tid: int
    lines: tuple[str | Repeat, ...]
    reason: str

    def cells(self) -> list[str | Repeat]:
        """What the row prints, one item a line: the source lines, then ``[reason]``."""
        if self.reason == "end":
            return list(self.lines) or ["[end]"]
        return [*self.lines, f"[{self.reason}]"]

    @property
    def trivial(self) -> bool:
        """Whether the row shows no code and nothing but an ordinary switch or exit."""
        return not self.lines and self.reason in ("finished", "preempted")


def rows(steps: Sequence[Step]) -> list[Row]:
    """The stretches of ``steps``, in the order they ran, each with its loops folded."""
    return [Row(tid, tuple(fold(lines)), reason) for tid, lines, reason in _segments(steps)]


# -- exact repeats ---------------------------------------------------------------------------
def fold(items: Sequence[T], height: Callable[[T], int] = lambda item: 1) -> list[T | Repeat]:
    """``items`` with every block that repeats back to back written once, then a
    :class:`Repeat` (``height``: the printed lines of an item, to judge what folding saves).

    Only equal items make a repeat, so the result says exactly what ``items`` does.  The scan
    goes left to right and, at each position, folds the block (of up to :data:`MAX_PERIOD`
    items) whose repeats cover the most items, the shortest such block on a tie.
    """
    index: dict[T, int] = {}
    keys = [index.setdefault(item, len(index)) for item in items]  # equal items, equal keys
    out: list[T | Repeat] = []
    n = len(keys)
    i = 0
    while i < n:
        period, count = _longest_repeat(keys, i)
        if period and count >= MIN_COUNT:
            block = items[i : i + period]
            if sum(map(height, block)) * (count - 1) - 1 >= MIN_SAVED:
                out.extend(block)
                out.append(Repeat(period, count - 1))
                i += period * count
                continue
        out.append(items[i])
        i += 1
    return out


def _longest_repeat(keys: list[int], i: int) -> tuple[int, int]:
    """The period and count of the back-to-back repeats at ``i`` covering most keys, or
    ``(0, 0)`` when the keys at ``i`` do not repeat."""
    best_period = best_count = 0
    first = keys[i]
    for period in range(1, min(MAX_PERIOD, (len(keys) - i) // 2) + 1):
        if keys[i + period] != first:
            continue
        block = keys[i : i + period]
        end = i + period
        while keys[end : end + period] == block:
            end += period
        count = (end - i) // period
        if count >= 2 and count * period > best_count * best_period:
            best_period, best_count = period, count
    return best_period, best_count


# -- stretches -------------------------------------------------------------------------------
def _reason(step: Step) -> str:
    if step.what == "race":  # (snarl explore --races: the access that raced ended the run)
        return "data race"
    if step.next is None:
        if step.what == "exit":
            return "end"
        if step.runnable or step.what in ("yield", "sleep"):
            # This thread could go on (a yield or a sleep never blocks for good): the run was
            # stopped here, at its bound of switch points.
            return _why(step) + "; the run stopped here"
        return _why(step) + "; no thread can run"
    return _why(step)


def _why(step: Step) -> str:
    if step.what == "exit":
        return "finished"
    if step.runnable:
        return "preempted"
    if step.what == "sleep":
        return "sleeping"
    if step.what == "yield":
        return "yielded (sleep(0))"
    what = {"block": "blocked on", "join": "joining", "start": "started"}.get(step.what)
    if what and step.obj:
        return f"{what} {step.obj}"
    return "blocked"


_BEFORE = frozenset(("line", "bytecode", "gil", "preempt"))
"""Switch points a preemption hook reaches *before* its line runs: at such a point the site is
the line about to run, which belongs to the thread's next stretch, not this one."""


def _segments(steps: Sequence[Step]) -> list[tuple[int, list[str], str]]:
    segments: list[tuple[int, list[str], str]] = []
    lines: list[str] = []
    pending: dict[int, tuple[str, int | None, str, str]] = {}  # a thread's line not yet run
    last_site = None
    tid = None
    for step in steps:
        if step.tid != tid:
            tid = step.tid
            carried = pending.pop(tid, None)
            if carried is not None:
                lines.append(_line(carried))
                last_site = carried[:2]
        site = step.site
        switches = step.next != step.tid
        if site is not None and site[:2] != last_site:
            if switches and step.what in _BEFORE and step.next is not None:
                pending[step.tid] = site  # it runs when this thread runs again
            else:
                lines.append(_line(site))
                last_site = site[:2]
        if switches:
            reason = _reason(step)
            if step.tid in pending and reason == "preempted":
                reason = f"preempted before line {pending[step.tid][1]}"
            segments.append((step.tid, lines, reason))
            lines = []
            last_site = None
            tid = None
    if tid is not None and lines:  # the execution ended inside this stretch (an exception)
        segments.append((tid, lines, "end"))
    elif steps and tid is None and steps[-1].next is not None:
        # The last switch handed over to a thread that ended the execution before its next
        # switch point (it raised): its stretch is the last one.
        last = steps[-1].next
        carried = pending.pop(last, None)
        segments.append((last, [_line(carried)] if carried is not None else [], "end"))
    return segments


def _line(site: tuple[str, int | None, str, str]) -> str:
    file, line, _function, source = site
    return f"{short_path(file)}:{line}  {source}"
