"""The explorer: run a test function under many schedules, and report the first failure.

:func:`explore` loops executions (:func:`snarl.exploration.execution.execute`) under a strategy
until one fails or the budget is spent.  A failure is then *shrunk*
(:mod:`snarl.exploration.shrink`: fewest preemptions first, then the shortest run), and the shrunk
schedule is replayed once more, strictly and recorded, to write the report: the report always
comes from a real run of the schedule it prints (as hypothesis's final replay does).  If that
run does not fail the same way, or does not fit the schedule, the test is not deterministic:
:class:`snarl.errors.Flaky`.  Shrinking stops after ``shrink_seconds`` (the report says so)
with the smallest schedule so far.

A ``KeyboardInterrupt`` (Ctrl-C, or raised by a progress callback) ends exploring at once: the
:class:`Result` is marked ``interrupted`` and counts the schedules run so far; during shrinking
it ends shrinking, and the failure is reported with the smallest schedule so far.

What counts as a failure:

* an exception escaping any managed thread, the test function's own included (``"assertion"``
  for an ``AssertionError``, else ``"exception"``);
* every unfinished thread blocked (``"deadlock"``: a cycle in the wait-for graph, or a lost
  wakeup, a wait no remaining thread can end);
* more switch points than ``max_steps`` (``"livelock"``: a livelock or a spin; never reported
  as a deadlock).

:func:`replay` runs one schedule from its token, strictly: a program that no longer fits the
recording raises :class:`snarl.errors.DidNotReproduce` at the step where it diverged.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from typing import TYPE_CHECKING, Any, Literal

from ..errors import DidNotReproduce, Flaky
from ..runtime.controlled import ControlledRuntime
from ..runtime.scheduler import Choice, Scheduler, preemptions
from ..threaddump.bytecode import bytecode_version, known_bytecode
from . import token as tokens
from .execution import Exploring, execute
from .execution import _real as _clocks  # never the virtual clocks of an execution
from .granularity import GRANULARITIES
from .portfolio import AUTO, Portfolio
from .report import check, failure_report, interleaving, kind_of, signature, source_file
from .result import Failure, InterleavingFailure, Result, StuckOutsideControl
from .shrink import Shrinking
from .shrink import shrink as shrink_choices
from .strategies import (
    DfsScheduler,
    IterativeDfsScheduler,
    PctScheduler,
    RandomScheduler,
    ReplayScheduler,
)

if TYPE_CHECKING:
    from .races import RaceSession

__all__ = [
    "STRATEGIES",
    "Failure",
    "GranularityName",
    "InterleavingFailure",
    "Result",
    "StrategyName",
    "StuckOutsideControl",
    "explore",
    "interleaving",
    "replay",
    "source_file",
]

STRATEGIES = ("random", "pct", "dfs")
"""The exploration strategies :func:`explore` accepts by name."""

StrategyName = Literal["random", "pct", "dfs"]
"""A strategy's name, as a type: a type checker catches ``strategy="pcr"``."""

GranularityName = Literal["auto", "sync", "shared", "line", "bytecode", "gil"]
"""Where threads may be switched besides blocking, as a type (see ``--granularity``)."""

SHRINK_SECONDS = 10.0
"""How long shrinking may take by default (``explore(shrink_seconds=)``, ``--shrink-time``)."""

Callback = Callable[[int, int, int], None]
"""``progress(done, total, failing)``, and ``shrink_progress(runs, preemptions, steps)``."""


# -- exploring ------------------------------------------------------------------------------
def _strategy(
    strategy: str | Scheduler,
    *,
    schedules: int,
    seed: int,
    depth: int,
    preemption_bound: int,
    start: int,
    stride: int,
    granularity: str | None = None,
) -> Scheduler:
    if not isinstance(strategy, str):
        return strategy
    if granularity == "auto":

        def member(g: str, n: int) -> Scheduler:
            return _strategy(
                strategy, schedules=n, seed=seed, depth=depth,
                preemption_bound=preemption_bound, start=start, stride=stride,
            )  # fmt: skip

        return Portfolio(member, schedules, sequential=strategy == "dfs")  # type: ignore[return-value]
    if strategy == "random":
        return RandomScheduler(seed, schedules, start=start, stride=stride)
    if strategy == "pct":
        return PctScheduler(seed, schedules, depth=depth, start=start, stride=stride)
    if strategy == "dfs":
        if (start, stride) != (0, 1):
            raise ValueError("the dfs strategy runs in one process: it cannot be split")
        return IterativeDfsScheduler(preemption_bound=preemption_bound, max_schedules=schedules)
    raise ValueError(f"unknown strategy {strategy!r}: choose one of {', '.join(STRATEGIES)}")


def execute_next(
    test_fn: Callable[[], Any],
    scheduler: Scheduler,
    granularity: str,
    max_steps: int,
    races: RaceSession | None = None,
) -> tuple[ControlledRuntime, str]:
    """The execution ``scheduler`` has just started, and the granularity it ran at: the
    portfolio's (``"auto"``) for this execution, and at ``"shared"`` again if it spun at
    ``"sync"`` (see :meth:`Portfolio.spun`).  ``races``: each execution checks for races."""
    g = getattr(scheduler, "granularity", granularity)
    rt = execute(test_fn, scheduler, granularity=g, max_steps=max_steps, races=races)
    if isinstance(scheduler, Portfolio) and scheduler.spun(rt):
        g = scheduler.granularity  # the same schedule again, at shared points
        rt = execute(test_fn, scheduler, granularity=g, max_steps=max_steps, races=races)
    return rt, g


def _calibrate(
    test_fn: Callable[[], Any],
    scheduler: Scheduler,
    granularity: str,
    max_steps: int,
    races: RaceSession | None = None,
) -> None:
    """PCT's ``k``: the steps of one non-preemptive run, the same in every process."""
    if isinstance(scheduler, Portfolio):
        for g, member in zip(AUTO, scheduler.members, strict=False):
            _calibrate(test_fn, member, g, max_steps, races)
        return
    if isinstance(scheduler, PctScheduler):
        rt = execute(
            test_fn,
            ReplayScheduler((), strict=False),
            granularity=granularity,
            max_steps=max_steps,
            races=races,
        )
        check(rt, max_steps)
        scheduler.calibrate(len(rt.choices))


def explore(
    test_fn: Callable[[], Any],
    *,
    strategy: StrategyName | Scheduler = "random",
    schedules: int = 1000,
    seed: int = 0,
    granularity: GranularityName = "auto",
    depth: int = 3,
    preemption_bound: int = 2,
    max_steps: int = 10_000,
    shrink: bool = True,
    target: str | None = None,
    start: int = 0,
    stride: int = 1,
    progress: Callback | None = None,
    shrink_seconds: float | None = SHRINK_SECONDS,
    shrink_progress: Callback | None = None,
    include: Sequence[str] = (),
    races: bool = False,
) -> Result:
    """Run ``test_fn`` under up to ``schedules`` schedules; return a :class:`Result`.

    ``test_fn`` takes no arguments, starts ordinary ``threading.Thread``s, joins them and
    asserts.  Threads, locks, Conditions, Events, Semaphores, Barriers and Queues it creates
    are controlled; ``time.sleep`` and ``time.monotonic`` run on a virtual clock.
    ``strategy``: ``"random"``, ``"pct"`` (with ``depth``), ``"dfs"`` (bounded by
    ``preemption_bound``) or a :class:`~snarl.runtime.scheduler.Scheduler`.  ``granularity``:
    ``"auto"`` (the default: half the schedules at ``"sync"``, half at ``"shared"``; see
    :mod:`snarl.exploration.portfolio`), ``"sync"``, ``"shared"``, ``"line"``, ``"bytecode"``
    or ``"gil"`` (see :mod:`snarl.exploration.granularity`).  ``max_steps`` bounds one
    execution's switch points (beyond: a livelock).  ``include`` names installed packages whose
    code gets switch points as the user's does.  ``target`` (``file.py::test``) goes into the
    printed replay command.  ``start`` and ``stride`` run only the schedules ``start,
    start+stride, ...`` (how ``--jobs`` splits the work). ``progress(done, total, failing)`` is
    called after each schedule, ``shrink_progress(runs, preemptions, steps)`` after each run
    while shrinking (``runs`` so far; the smallest schedule's preemptions and switch points).
    Shrinking stops after ``shrink_seconds`` (None: no time cap), keeping the smallest schedule
    so far.  ``races``: every execution also runs the data race detector (``snarl race``) on
    user code (``test_fn``'s module, instrumented in place for the exploration, and the user
    modules imported meanwhile; ``include`` adds packages), and a schedule in which two
    threads access the same location unordered, one of them writing, fails with kind
    ``"race"``, even if its assertions pass; the shrinker keeps "a race happens".  Without a
    failure, ``Result.races`` says what was checked and what could not be seen.  Replay such
    a failure with ``replay(..., races=True)``.  (One detector runs at a time: not inside
    ``snarl.races()`` or ``pytest --snarl-races``.)  A ``KeyboardInterrupt`` (Ctrl-C, or raised
    by a callback) ends exploring or shrinking: the result is marked ``interrupted``, and a
    failure found is still reported.
    """
    if granularity not in GRANULARITIES and granularity != "auto":
        raise ValueError(
            f"unknown granularity {granularity!r}: choose one of auto, {', '.join(GRANULARITIES)}"
        )
    if schedules < 1:
        raise ValueError(f"schedules must be >= 1, not {schedules}")
    if granularity == "auto" and not isinstance(strategy, str):
        granularity = "sync"  # a Scheduler object explores at one granularity
    scheduler = _strategy(
        strategy,
        schedules=schedules,
        seed=seed,
        depth=depth,
        preemption_bound=preemption_bound,
        start=start,
        stride=stride,
        granularity=granularity,
    )
    name = strategy if isinstance(strategy, str) else type(strategy).__name__
    found_at = granularity
    if include or races:  # the replay command must include them too
        where = target or f"{source_file(test_fn)}::{getattr(test_fn, '__name__', 'test')}"
        target = where + "".join(f" --include {package}" for package in include)
        target += " --races" if races and " --races" not in target else ""
    session = _race_session(test_fn, include) if races else None
    checked_before = session.summary() if session is not None else None
    with ExitStack() as stack:
        if session is not None:
            stack.enter_context(session.instrumenting(test_fn))
        exploring = stack.enter_context(Exploring(granularity, include=include))
        _calibrate(test_fn, scheduler, granularity, max_steps, session)
        seen: set[int] = set()
        runs = failing = 0
        found: ControlledRuntime | None = None
        interrupted = False
        began = _clocks["perf_counter"]()
        try:
            while scheduler.new_execution():
                rt, g = execute_next(test_fn, scheduler, granularity, max_steps, session)
                check(rt, max_steps)
                runs += 1
                seen.add(interleaving(rt.choices))
                if isinstance(scheduler, PctScheduler | Portfolio):
                    scheduler.observe(len(rt.choices))
                if kind_of(rt) is not None:
                    failing += 1
                    found, found_at = rt, g
                if progress is not None:
                    progress(runs, schedules, failing)
                if found is not None:
                    break
        except KeyboardInterrupt:
            interrupted = True
        seconds = _clocks["perf_counter"]() - began
        failure = None
        if found is not None:
            failure = _report(
                test_fn, found, granularity=found_at, max_steps=max_steps,
                shrink=shrink and not interrupted, target=target, runs=runs,
                shrink_seconds=shrink_seconds, shrink_progress=shrink_progress, races=session,
            )  # fmt: skip
            interrupted = interrupted or failure.shrink_stopped == "interrupted"
        checked = None
        if session is not None and checked_before is not None:
            checked = session.summary().since(checked_before)
    return Result(
        failure=failure,
        schedules=runs,
        distinct=len(seen),
        failing=failing,
        seconds=seconds,
        strategy=name,
        granularity=granularity,
        seed=seed,
        covered=getattr(scheduler, "covered", None) if name == "dfs" else None,
        pct_bound=getattr(scheduler, "bound", None) if name == "pct" else None,
        depth=depth if name == "pct" else None,
        interrupted=interrupted,
        points=scheduler.describe() if isinstance(scheduler, Portfolio) else None,
        uncontrolled=(*exploring.uncontrolled(), *unread_points(granularity)),
        races=checked,
    )


def _race_session(test_fn: Callable[[], Any], include: Sequence[str]) -> RaceSession:
    """The process's race session, with ``test_fn``'s folder as user code too."""
    from .races import session

    code = getattr(getattr(test_fn, "__func__", test_fn), "__code__", None)
    roots = [os.getcwd()]
    if code is not None and os.path.isfile(code.co_filename):
        roots.append(os.path.dirname(os.path.abspath(code.co_filename)))
    return session(roots, include)


def unread_points(granularity: str) -> tuple[str, ...]:
    """What a granularity cannot switch at on an interpreter whose bytecode snarl does not
    know (one line, for the verdict), or nothing."""
    if granularity == "sync" or known_bytecode():
        return ()
    major, minor = bytecode_version()
    return (
        f"switch points between synchronisation operations: they follow the opcodes of "
        f"CPython 3.10-3.13, and CPython {major}.{minor} may access shared state through "
        "others, with no switch point before them",
    )


def _report(
    test_fn: Callable[[], Any],
    found: ControlledRuntime,
    *,
    granularity: str,
    max_steps: int,
    shrink: bool,
    target: str | None,
    runs: int,
    shrink_seconds: float | None = SHRINK_SECONDS,
    shrink_progress: Callback | None = None,
    races: RaceSession | None = None,
) -> Failure:
    """Shrink ``found`` (within ``shrink_seconds``), replay the result for the report
    (``races``: every run checks for races, as the exploration's did)."""
    wanted = signature(found)
    original = list(found.choices)
    shrinking = Shrinking(
        original, shrink_seconds, clock=_clocks["monotonic"], progress=shrink_progress
    )

    def run(threads: list[int]) -> list[Choice] | None:
        rt = execute(
            test_fn,
            ReplayScheduler(threads, strict=False),
            granularity=granularity,
            max_steps=max_steps,
            races=races,
        )
        check(rt, max_steps)
        return shrinking.ran(list(rt.choices) if signature(rt) == wanted else None)

    # A livelock's every run goes to the step bound: each candidate costs a whole bounded run,
    # so it gets a small shrinking budget (its length is the bound anyway).
    runs_allowed = LIVELOCK_SHRINK_RUNS if wanted[0] == "livelock" else 500
    if shrink:
        try:
            best = shrink_choices(original, run, max_runs=runs_allowed, should_stop=shrinking)
            fewer = _fewer_preemptions(
                test_fn, best.choices, wanted, granularity, max_steps, shrinking, races
            )
            if fewer is not None:
                shrink_choices(fewer, run, max_runs=runs_allowed, should_stop=shrinking)
        except KeyboardInterrupt:  # Ctrl-C, or the progress callback
            shrinking.reason = "interrupted"
    best = shrinking.best  # the smallest that failed the same way: where every phase ended
    threads = [c.chosen for c in best]
    final = execute(
        test_fn,
        ReplayScheduler(threads, strict=True),
        granularity=granularity,
        max_steps=max_steps,
        record_steps=True,
        races=races,
    )
    try:
        check(final, max_steps)
    except DidNotReproduce as exc:  # the program took another path under the same schedule
        raise Flaky(
            f"the failing schedule ({wanted[0]}) did not fit the test when replayed: {exc}"
        ) from None
    if signature(final) != wanted:
        raise Flaky(
            f"the failing schedule ({wanted[0]}) did not fail when replayed: "
            f"this time the outcome was {kind_of(final) or 'a pass'}"
        )
    token = tokens.encode(threads, granularity=granularity)
    return failure_report(
        final, token, target=target, found=original, runs=runs, fn=test_fn, shrinking=shrinking
    )


LIVELOCK_SHRINK_RUNS = 30
"""Candidate runs the shrinker may spend on a livelock (each runs to the step bound)."""

BOUNDED_SEARCH_RUNS = 400
"""Schedules the bounded search of :func:`_fewer_preemptions` may run, in all."""


def _fewer_preemptions(
    test_fn: Callable[[], Any],
    best: list[Choice],
    wanted: tuple[str | None, str | None],
    granularity: str,
    max_steps: int,
    shrinking: Shrinking | None = None,
    races: RaceSession | None = None,
) -> list[Choice] | None:
    """A schedule failing the same way with fewer preemptions than ``best``, or None.

    The shrinker edits the schedule it has; this searches instead: a depth-first search
    bounded to 0, then 1, ... preemptions (CHESS's iterative context bounding), stopping at
    the first failure of the same kind, within :data:`BOUNDED_SEARCH_RUNS` schedules.  When a
    bound's whole space is covered without that failure, none exists with so few.  With
    ``shrinking``, it stops when that says so (the time cap), and tells it of every run.
    """
    budget = BOUNDED_SEARCH_RUNS if wanted[0] != "livelock" else LIVELOCK_SHRINK_RUNS
    for bound in range(preemptions(best)):
        dfs = DfsScheduler(preemption_bound=bound, max_schedules=budget)
        while budget > 0 and dfs.new_execution():
            if shrinking is not None and shrinking():
                return None
            budget -= 1
            rt = execute(test_fn, dfs, granularity=granularity, max_steps=max_steps, races=races)
            check(rt, max_steps)
            same = list(rt.choices) if signature(rt) == wanted else None
            if shrinking is not None:
                shrinking.ran(same)
            if same is not None:
                return same
        if budget <= 0:
            return None
    return None


# -- replaying ------------------------------------------------------------------------------
def replay(
    test_fn: Callable[[], Any],
    token: str,
    *,
    target: str | None = None,
    max_steps: int = 10_000,
    include: Sequence[str] = (),
    races: bool = False,
) -> Failure | None:
    """Run the schedule of ``token`` once, strictly, recorded (``include`` and ``races``: as
    the exploration that found it was told; a race found under ``races`` replays only with
    it, since the instrumented code is what the schedule was recorded on).

    Returns the :class:`Failure` it reproduces (its ``report`` has the interleaving table),
    or None if the test passed under it.  Raises :class:`snarl.errors.InvalidToken` for a
    token it cannot read and :class:`snarl.errors.DidNotReproduce` if the program no longer
    fits the recording.
    """
    decoded = tokens.decode(token)
    scheduler = ReplayScheduler(decoded.threads, strict=True)
    scheduler.new_execution()
    session = _race_session(test_fn, include) if races else None
    with ExitStack() as stack:
        if session is not None:
            stack.enter_context(session.instrumenting(test_fn))
        stack.enter_context(Exploring(decoded.granularity, include=include))
        rt = execute(
            test_fn,
            scheduler,
            granularity=decoded.granularity,
            max_steps=max_steps,
            record_steps=True,
            races=session,
        )
    check(rt, max_steps)
    exc = rt.outcome.exception if rt.outcome is not None else None
    if isinstance(exc, DidNotReproduce):
        raise exc
    if kind_of(rt) is None:
        if scheduler.finished_early():
            raise DidNotReproduce(
                f"replay diverged: the test ended after {len(rt.choices)} switch points, but "
                f"the recording has {len(decoded.threads)}",
                step=len(rt.choices),
            )
        return None
    found = list(rt.choices)
    return failure_report(rt, token, target=target, found=found, runs=None, fn=test_fn)
