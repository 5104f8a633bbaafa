"""Shrink a failing schedule: fewest preemptions first, then the shortest run.

A failing schedule found by exploration is full of switches that have nothing to do with the
bug.  The report shows the smallest schedule this module finds that fails the same way, since
a schedule with one preemption is one a reader can follow (CHESS and Lincheck minimise
context switches for the same reason).

The caller supplies ``run(threads)``: replay the thread list with the lenient
:class:`~snarl.exploration.strategies.ReplayScheduler` (which follows the list while the recorded
thread can run, and otherwise, and past its end, lets the current thread go on, else the
lowest runnable), and return the execution's actual :class:`~snarl.runtime.scheduler.Choice`
list if the *same* failure happened again, else None.  ``run`` is assumed deterministic.

Contract of the passes (after hypothesis's ``Shrinker``, "Designing Shrink Passes")
-------------------------------------------------------------------------------
* Schedules are ordered by the key ``(preemptions, length)``, lexicographically.  A candidate
  is accepted only if ``run`` returns a choice list whose key is strictly smaller than the
  current best's; the best is then that *actual* list (not the candidate), so the result is
  always a schedule some run really executed, and a rejected candidate is never accepted.
  Keys are pairs of naturals, so only finitely many acceptances can happen: shrinking
  terminates even without ``max_runs``.
* Shrinking is deterministic: the passes, their order and the order of the positions each
  tries depend only on the current best.  A candidate already run is looked up, not re-run.
* Each pass walks positions (steps, or block indices) of the current best, re-reading them
  from the best before every try, so its index is always valid.  In passes 1 to 5 a
  rejection moves the index on by one and an acceptance keeps it (clamped to the new number
  of positions when walking from the end); pass 0 moves on by one block after each window
  search.  A pass ends when its index leaves the positions.
* ``max_runs`` counts calls of ``run``; when it is spent no candidate is tried any more.
  ``should_stop()`` (a time cap: :class:`Shrinking`) is asked before every run; once it
  says True no candidate is tried any more either (``Shrunk.stopped``).  Either way the
  result is the best so far: a schedule that really failed the same way, at worst the one
  shrinking started from.

The passes, in the order they run; they repeat until a whole round accepts nothing.  A
*block* is a maximal run of one thread's steps.  Every pass but the first is the fine-grained
kind that removes one switch at a time; the first removes many at once, so a random schedule
with hundreds of preemptions shrinks in tens of runs, not hundreds.

0. *Group a window of blocks*: for each block ``j`` but the first, rearrange the blocks
   ``j .. j+n-1`` so each thread's steps in them form one block, in the order the threads
   first appear there.  Each thread has run the same steps by the window's end, so the rest
   of the schedule stays aligned.  ``n`` is first the whole rest of the schedule, then
   grows 3, 5, 9, ... while accepted, then is bisected between the last accepted and the
   first rejected size (hypothesis's ``find_integer``).
1. *Remove one preemption*: at a step ``i`` where the best preempts, run the preempted thread
   instead: ``threads[:i] + [current] + threads[i+1:]``, and lenient replay repairs whatever
   no longer fits.
2. *Delay a block*: remove a block (every one but the first) and add its steps to the same
   thread's next block, or at the end if it has none.  Delaying the preempting thread's
   block removes the preemption, and often the switch back; delaying a block that began
   without a preemption can remove the preemption that ended it.
3. *Advance a block*: remove a block and add its steps to the same thread's previous block.
4. *Postpone a thread*: move all of a thread's steps from a block on to the end (a bystander
   thread that only lengthens the schedule).
5. *Truncate*: ``threads[:k]`` for decreasing ``k``, where ``k`` is a step at which the best
   departs from the default policy (cutting anywhere else replays the same as cutting at the
   next departure), so the default policy, which never preempts, runs the rest: this
   shortens failures that end the execution early.

Passes 1 to 4 try their positions from the earliest to the latest.  Measured on the model
programs of ``tests/exploration/test_shrink.py``, 40 seeds each, random failures with 5 to 34
preemptions, every one shrank to its minimal schedule (1 preemption, and the shortest
length), in a mean of 18.6 runs (lost update, 5 local steps around each access), 20.0 (12
local steps), 5.2 (ABBA deadlock) and 9.2 (ABBA beside a bystander thread); trying passes 1
to 4 latest-first took 20.6, 21.5, 5.7 and 10.1.  A lost update of 2008 steps with 959
preemptions shrinks in 26 runs; without pass 0 the default 500 runs left 921 preemptions.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from time import monotonic

from snarl.runtime.scheduler import Choice, preemptions

from .strategies.replay import default_choice

__all__ = ["Shrinking", "Shrunk", "shrink"]

Run = Callable[[list[int]], list[Choice] | None]


@dataclass(frozen=True)
class Shrunk:
    """The outcome: the smallest failing ``choices`` found, and what it took."""

    choices: list[Choice]
    runs: int
    preemptions_before: int
    preemptions_after: int
    stopped: bool = False  # should_stop() ended it

    @property
    def threads(self) -> list[int]:
        """The thread chosen at each step of the shrunk schedule."""
        return [c.chosen for c in self.choices]


def shrink(
    choices: Sequence[Choice],
    run: Run,
    *,
    max_runs: int = 500,
    should_stop: Callable[[], bool] | None = None,
) -> Shrunk:
    """Shrink a failing schedule (see the module docstring for the contract)."""
    shrinker = _Shrinker(list(choices), run, max_runs, should_stop or _never)
    shrinker.shrink()
    return Shrunk(
        shrinker.best,
        shrinker.runs,
        preemptions(choices),
        preemptions(shrinker.best),
        stopped=shrinker.stopped,
    )


class Shrinking:
    """One failure's shrinking across its phases (the passes, a bounded search, the passes
    again): the smallest schedule that failed the same way so far, the runs, the time cap.

    Called, it says whether shrinking must stop: once ``seconds`` have passed on ``clock``
    since it began (None: no cap; :attr:`reason` becomes ``"cap"``), or once :attr:`reason`
    is set (``"interrupted"``, by the caller).  :meth:`ran` is told of every run's result
    (its choices, or None), and calls ``progress(runs, preemptions, steps)`` of the smallest.
    """

    def __init__(
        self,
        found: Sequence[Choice],
        seconds: float | None,
        *,
        clock: Callable[[], float] = monotonic,
        progress: Callable[[int, int, int], None] | None = None,
    ) -> None:
        self.best = list(found)
        self.runs = 0
        self.seconds = seconds
        self.clock = clock
        self.deadline = None if seconds is None else clock() + seconds
        self.progress = progress
        self.reason: str | None = None

    def __call__(self) -> bool:
        if self.reason is None and self.deadline is not None and self.clock() >= self.deadline:
            self.reason = "cap"
        return self.reason is not None

    def ran(self, choices: list[Choice] | None) -> list[Choice] | None:
        """Count a run; keep ``choices`` if smaller than the best; report progress."""
        self.runs += 1
        if choices is not None and _key(choices) < _key(self.best):
            self.best = list(choices)
        if self.progress is not None:
            self.progress(self.runs, *_key(self.best))
        return choices

    def why(self) -> str:
        """Why shrinking ended early, for the report ("" if it did not)."""
        if self.reason == "cap":
            return f"shrinking stopped at its {self.seconds:g} s cap"
        return "shrinking interrupted" if self.reason == "interrupted" else ""


def _never() -> bool:
    return False


def _key(choices: Sequence[Choice]) -> tuple[int, int]:
    return preemptions(choices), len(choices)


class _Shrinker:
    def __init__(
        self, best: list[Choice], run: Run, max_runs: int, should_stop: Callable[[], bool]
    ) -> None:
        self.best = best
        self.run = run
        self.max_runs = max_runs
        self.should_stop = should_stop
        self.stopped = False
        self.runs = 0
        # Digests of the thread lists run so far (and the first best's).  A result once
        # rejected stays rejected, since the best only shrinks, so the results need not be
        # kept: only that the list was tried.
        self.seen = {_digest(_threads(best))}

    def shrink(self) -> None:
        passes = (
            self.group_windows,
            self.remove_preemptions,
            self.delay_blocks,
            self.advance_blocks,
            self.postpone_threads,
            self.truncate,
        )
        progress = True
        while progress and self.runs < self.max_runs:
            before = _key(self.best)
            for shrink_pass in passes:
                shrink_pass()
            progress = _key(self.best) < before

    def consider(self, threads: list[int] | None) -> bool:
        """Run ``threads`` unless tried before; make the result the best if it is smaller."""
        if threads is None or self.runs >= self.max_runs:
            return False
        digest = _digest(threads)
        if digest in self.seen:
            return False
        if self.should_stop():
            self.stopped = True
            self.max_runs = self.runs  # every loop and walk checks the budget: they all end
            return False
        self.seen.add(digest)
        self.runs += 1
        result = self.run(list(threads))
        if result is not None and _key(result) < _key(self.best):
            self.best = list(result)
            return True
        return False

    def walk(
        self,
        positions: Callable[[], list[int]],
        candidate: Callable[[int], list[int] | None],
        *,
        latest_first: bool = False,
    ) -> None:
        """Try ``candidate(p)`` for the best's ``positions()``, re-read before every try: a
        rejection moves on by one, an acceptance tries the same index again."""
        j = len(positions()) - 1 if latest_first else 0
        while self.runs < self.max_runs:
            found = positions()
            if latest_first:
                j = min(j, len(found) - 1)  # the new best may have fewer positions
            if not 0 <= j < len(found):
                return
            if not self.consider(candidate(found[j])):
                j += -1 if latest_first else 1

    # Positions: steps of the best, or indices into its blocks.

    def preempting_steps(self) -> list[int]:
        return [i for i, c in enumerate(self.best) if c.preempts]

    def later_blocks(self) -> list[int]:
        return list(range(1, len(_blocks(_threads(self.best)))))

    def departures(self) -> list[int]:
        return [
            i for i, c in enumerate(self.best) if c.chosen != default_choice(c.runnable, c.current)
        ]

    # The passes (see the module docstring).

    def group_windows(self) -> None:
        j = 1
        while self.runs < self.max_runs and j < len(_blocks(_threads(self.best))):
            base = _blocks(_threads(self.best))

            def grouped(n: int, base: list[tuple[int, int]] = base, j: int = j) -> bool:
                n += 1  # two blocks in a row are two threads: grouping them changes nothing
                window = base[j : j + n]
                order = dict.fromkeys(thread for thread, _ in window)
                merged = [(t, sum(length for u, length in window if u == t)) for t in order]
                return self.consider(_expand([*base[:j], *merged, *base[j + n :]]))

            if not grouped(len(base) - j - 1):  # the whole rest first, then growing windows
                _find_integer(grouped, len(base) - j - 1)
            j += 1

    def remove_preemptions(self) -> None:
        def candidate(i: int) -> list[int]:
            threads = list(_threads(self.best))
            threads[i] = self.best[i].current  # type: ignore[call-overload]
            return threads

        self.walk(self.preempting_steps, candidate)

    def delay_blocks(self) -> None:
        def candidate(k: int) -> list[int] | None:
            blocks = _blocks(_threads(self.best))
            thread, length = blocks.pop(k)
            later = next((n for n in range(k, len(blocks)) if blocks[n][0] == thread), None)
            if later is None:
                blocks.append((thread, length))
            else:
                blocks[later] = (thread, blocks[later][1] + length)
            return _expand(blocks)

        self.walk(self.later_blocks, candidate)

    def advance_blocks(self) -> None:
        def candidate(k: int) -> list[int] | None:
            blocks = _blocks(_threads(self.best))
            thread, length = blocks.pop(k)
            earlier = next((n for n in range(k - 1, -1, -1) if blocks[n][0] == thread), None)
            if earlier is None:
                return None
            blocks[earlier] = (thread, blocks[earlier][1] + length)
            return _expand(blocks)

        self.walk(self.later_blocks, candidate)

    def postpone_threads(self) -> None:
        def candidate(k: int) -> list[int] | None:
            blocks = _blocks(_threads(self.best))
            thread = blocks[k][0]
            moved = sum(length for t, length in blocks[k:] if t == thread)
            kept = blocks[:k] + [b for b in blocks[k:] if b[0] != thread]
            return _expand([*kept, (thread, moved)])

        self.walk(self.later_blocks, candidate)

    def truncate(self) -> None:
        self.walk(self.departures, lambda k: list(_threads(self.best)[:k]), latest_first=True)


def _find_integer(f: Callable[[int], bool], most: int) -> None:
    """Call ``f`` on growing windows 2, 4, 8, ... (at most ``most``) while it accepts, then
    bisect between the last accepted and the first rejected (hypothesis's ``find_integer``)."""
    lo, hi = 1, 2
    while hi <= most and f(hi):
        lo, hi = hi, hi * 2
    hi = min(hi, most + 1)
    while lo + 1 < hi:
        mid = (lo + hi) // 2
        if f(mid):
            lo = mid
        else:
            hi = mid


def _threads(choices: Sequence[Choice]) -> list[int]:
    return [c.chosen for c in choices]


def _digest(threads: Sequence[int]) -> bytes:
    return hashlib.blake2b(repr(list(threads)).encode(), digest_size=16).digest()


def _blocks(threads: Sequence[int]) -> list[tuple[int, int]]:
    """``threads`` as its blocks: maximal runs of one thread, as (thread, length)."""
    blocks: list[tuple[int, int]] = []
    for thread in threads:
        if blocks and blocks[-1][0] == thread:
            blocks[-1] = (thread, blocks[-1][1] + 1)
        else:
            blocks.append((thread, 1))
    return blocks


def _expand(blocks: Sequence[tuple[int, int]]) -> list[int]:
    return [thread for thread, length in blocks for _ in range(length)]
