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

import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any

from ..errors import DidNotReproduce, Flaky, SnarlError
from ..runtime.controlled import ControlledRuntime, Step
from ..runtime.scheduler import Choice, Scheduler, preemptions
from ..threaddump.model import Deadlock
from . import token as tokens
from .blocked import explain, parked_at_end
from .execution import STUCK_AFTER, Exploring, execute, is_user_file
from .execution import _real as _clocks  # never the virtual clocks of an execution
from .granularity import GRANULARITIES
from .portfolio import AUTO, Portfolio
from .shrink import Shrinking
from .shrink import shrink as shrink_choices
from .strategies import (
    DfsScheduler,
    IterativeDfsScheduler,
    PctScheduler,
    RandomScheduler,
    ReplayScheduler,
)
from .table import format_table

__all__ = [
    "STRATEGIES",
    "Failure",
    "InterleavingFailure",
    "Result",
    "StuckOutsideControl",
    "explore",
    "replay",
]

STRATEGIES = ("random", "pct", "dfs")
"""The exploration strategies :func:`explore` accepts by name."""

SHRINK_SECONDS = 10.0
"""How long shrinking may take by default (``explore(shrink_seconds=)``, ``--shrink-time``)."""

Callback = Callable[[int, int, int], None]
"""``progress(done, total, failing)``, and ``shrink_progress(runs, preemptions, steps)``."""


class StuckOutsideControl(SnarlError):
    """A managed thread stopped reaching switch points: it blocks where snarl has no say (a
    lock made before :func:`snarl.install`, I/O, a C call), so exploration cannot go on."""

    help = (
        "Create the locks the test uses inside the test function (snarl controls those), and "
        "keep real I/O and native blocking out of the explored code."
    )


class InterleavingFailure(SnarlError, AssertionError):
    """Raised by :func:`snarl.interleavings` tests: a schedule made the test fail.

    ``failure`` is the :class:`Failure`; ``token`` its replay token (also in the message).
    """

    help = "Replay it with the command in the message, or snarl.replay(test, token)."

    def __init__(self, failure: Failure) -> None:
        super().__init__(failure.report)
        self.failure = failure
        self.token = failure.token


@dataclass(frozen=True)
class Failure:
    """A failing schedule, shrunk, with the report of its final replay."""

    kind: str  # "assertion", "exception", "deadlock" or "livelock"
    message: str  # one line
    token: str
    report: str  # the whole report: what failed, the interleaving table, how to replay
    threads: tuple[str, ...]  # names by thread id
    steps: int  # switch points in the shrunk schedule
    preemptions: int
    found_steps: int  # ... and in the schedule exploration found
    found_preemptions: int
    exception: BaseException | None = None
    deadlocks: tuple[Deadlock, ...] = ()
    schedule: tuple[int, ...] = ()
    trace: tuple[Step, ...] = ()  # the final replay's switch points (the table, timelines)
    shrink_stopped: str | None = None  # "cap" or "interrupted": shrinking did not finish

    def to_dict(self) -> dict[str, Any]:
        """The failure's part of ``--json``."""
        return {
            "kind": self.kind,
            "message": self.message,
            "replay": self.token,
            "steps": self.steps,
            "preemptions": self.preemptions,
            "found_steps": self.found_steps,
            "found_preemptions": self.found_preemptions,
            "threads": list(self.threads),
            "shrink_stopped": self.shrink_stopped,
        }


@dataclass(frozen=True)
class Result:
    """What an exploration did and found; ``str()`` is the report a user reads."""

    failure: Failure | None
    schedules: int
    distinct: int
    failing: int
    seconds: float
    strategy: str
    granularity: str
    seed: int
    covered: bool | None = None  # dfs: the whole bounded space was explored
    pct_bound: float | None = None  # pct: per-run probability bound for a depth-d bug
    depth: int | None = None  # pct: the bug depth d the bound is for
    notes: tuple[str, ...] = field(default=())
    interrupted: bool = False  # a KeyboardInterrupt ended exploring or shrinking
    points: str | None = None  # "auto": how many schedules ran at each granularity
    uncontrolled: tuple[str, ...] = ()  # what stayed outside the exploration's control

    @property
    def found(self) -> bool:
        """Whether a failing schedule was found."""
        return self.failure is not None

    @property
    def rate(self) -> float:
        """Schedules per second."""
        return self.schedules / self.seconds if self.seconds > 0 else 0.0

    def statistics(self) -> str:
        """One line: schedules run, distinct interleavings, failing share, speed (and whether
        it was interrupted)."""
        share = 100.0 * self.failing / self.schedules if self.schedules else 0.0
        line = (
            f"{self.schedules} schedule{'s' if self.schedules != 1 else ''} "
            f"({self.strategy}, seed {self.seed}, granularity {self.granularity}"
            f"{f': {self.points}' if self.points else ''}), "
            f"{self.distinct} distinct interleaving{'s' if self.distinct != 1 else ''}, "
            f"{self.failing} failing ({share:.1f} %), {self.rate:.0f} schedules/s"
        )
        if self.covered and not self.uncontrolled:  # (what snarl did not control, it did not cover)
            line += "; the whole bounded space was covered"
        if self.pct_bound is not None:
            line += (
                f"; PCT finds a depth-{self.depth} bug with probability"
                f" >= {self.pct_bound:.2g} per run"
            )
        if self.interrupted:
            line += "; interrupted"
        return line

    def to_dict(self) -> dict[str, Any]:
        """The ``--json`` form."""
        d: dict[str, Any] = {
            "found": self.found,
            "kind": self.failure.kind if self.failure else None,
            "schedules": self.schedules,
            "replay": self.failure.token if self.failure else None,
            "message": self.failure.message if self.failure else None,
            "distinct": self.distinct,
            "failing": self.failing,
            "seconds": round(self.seconds, 6),
            "strategy": self.strategy,
            "granularity": self.granularity,
            "seed": self.seed,
            "covered": self.covered,
            "pct_bound": self.pct_bound,
            "depth": self.depth,
            "interrupted": self.interrupted,
            "points": self.points,
            "uncontrolled": list(self.uncontrolled),
        }
        if self.failure:
            d["failure"] = self.failure.to_dict()
        return d

    def __str__(self) -> str:
        head = self.failure.report if self.failure else "No failing schedule found."
        if self.interrupted and not self.failure:
            head = "Interrupted: no failing schedule found in the schedules run."
        if not self.failure:
            head += "\n" + self.coverage()
        return head + "\n\n" + self.statistics() + "\n"

    def coverage(self) -> str:
        """What a "no failure" verdict rests on: where threads could be switched, and what
        stayed outside control."""
        where = _POINTS.get(self.granularity.split(" ")[0], f"at {self.granularity} points")
        lines = [f"Threads were switched {where}."]
        if self.uncontrolled:
            lines.append("Not under snarl's control (a bug through these can be missed):")
            lines.extend(f"  - {u}" for u in self.uncontrolled)
        return "\n".join(lines)


_POINTS = {
    "auto": (
        "at every synchronisation operation, and, in the schedules run at shared, also"
        " before every access to shared state in user code"
    ),
    "sync": "only at synchronisation operations (a data race on plain state is not looked for)",
    "shared": "at synchronisation operations and before every access to shared state",
    "line": "at synchronisation operations and before every line of user code",
    "bytecode": "at synchronisation operations and before every instruction of user code",
    "gil": "at synchronisation operations and where CPython's GIL can change hands",
}


# -- one outcome, classified ----------------------------------------------------------------
def interleaving(choices: list[Choice]) -> int:
    """A 64-bit hash of the threads chosen, step by step: equal for equal interleavings (a set
    of these counts the distinct ones without keeping every schedule)."""
    return hash(tuple(map(_chosen, choices)))


_chosen = itemgetter(0)  # Choice.chosen, as a C function


def _kind(rt: ControlledRuntime) -> str | None:
    o = rt.outcome
    if o is None or o.kind == "ok":
        return None
    if o.kind == "exception":
        return "assertion" if isinstance(o.exception, AssertionError) else "exception"
    if o.kind == "blocked":
        return None if parked_at_end(o.blocked, rt.threads) else "deadlock"
    if o.kind == "step-bound":
        return "livelock"
    return o.kind


def _signature(rt: ControlledRuntime) -> tuple[str | None, str | None]:
    """What "the same failure" means while shrinking: the kind, and the exception type."""
    o = rt.outcome
    exc = o.exception if o is not None else None
    return _kind(rt), (type(exc).__qualname__ if exc is not None else None)


def _check(rt: ControlledRuntime, max_steps: int) -> None:
    o = rt.outcome
    if o is not None and o.kind in ("stuck", "spin"):
        if isinstance(o.detail, tuple):
            stuck, seconds = o.detail
            why = stuck.describe(seconds)
        elif o.detail is not None:
            why = o.detail.describe(STUCK_AFTER)
        else:
            who = rt.threads[o.tid].name if o.tid is not None else "a thread"
            why = f'thread "{who}" reached no switch point for {STUCK_AFTER:.0f} s'
        raise StuckOutsideControl(
            f"{why}.  Exploration stopped: no verdict can be given on schedules it could"
            " not run"
        )
    if o is not None and o.kind == "scheduler-error" and o.exception is not None:
        raise o.exception


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


def _calibrate(
    test_fn: Callable[[], Any], scheduler: Scheduler, granularity: str, max_steps: int
) -> None:
    """PCT's ``k``: the steps of one non-preemptive run, the same in every process."""
    if isinstance(scheduler, Portfolio):
        for g, member in zip(AUTO, scheduler.members, strict=False):
            _calibrate(test_fn, member, g, max_steps)
        return
    if isinstance(scheduler, PctScheduler):
        rt = execute(
            test_fn, ReplayScheduler((), strict=False), granularity=granularity, max_steps=max_steps
        )
        _check(rt, max_steps)
        scheduler.calibrate(len(rt.choices))


def explore(
    test_fn: Callable[[], Any],
    *,
    strategy: str | Scheduler = "random",
    schedules: int = 1000,
    seed: int = 0,
    granularity: str = "auto",
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
    so far.  A ``KeyboardInterrupt`` (Ctrl-C, or raised by a callback) ends exploring or
    shrinking: the result is marked ``interrupted``, and a failure found is still reported.
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
    if include:  # the replay command must include them too
        where = target or f"{source_file(test_fn)}::{getattr(test_fn, '__name__', 'test')}"
        target = where + "".join(f" --include {package}" for package in include)
    with Exploring(granularity, include=include) as exploring:
        _calibrate(test_fn, scheduler, granularity, max_steps)
        seen: set[int] = set()
        runs = failing = 0
        found: ControlledRuntime | None = None
        interrupted = False
        began = _clocks["perf_counter"]()
        try:
            while scheduler.new_execution():
                g = getattr(scheduler, "granularity", granularity)
                rt = execute(test_fn, scheduler, granularity=g, max_steps=max_steps)
                if isinstance(scheduler, Portfolio) and scheduler.spun(rt):
                    g = scheduler.granularity  # the same schedule again, at shared points
                    rt = execute(test_fn, scheduler, granularity=g, max_steps=max_steps)
                _check(rt, max_steps)
                runs += 1
                seen.add(interleaving(rt.choices))
                if isinstance(scheduler, PctScheduler | Portfolio):
                    scheduler.observe(len(rt.choices))
                if _kind(rt) is not None:
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
                shrink_seconds=shrink_seconds, shrink_progress=shrink_progress,
            )  # fmt: skip
            interrupted = interrupted or failure.shrink_stopped == "interrupted"
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
        uncontrolled=tuple(exploring.uncontrolled()),
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
) -> Failure:
    """Shrink ``found`` (within ``shrink_seconds``), replay the result for the report."""
    signature = _signature(found)
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
        )
        _check(rt, max_steps)
        return shrinking.ran(list(rt.choices) if _signature(rt) == signature else None)

    # A livelock's every run goes to the step bound: each candidate costs a whole bounded run,
    # so it gets a small shrinking budget (its length is the bound anyway).
    runs_allowed = LIVELOCK_SHRINK_RUNS if signature[0] == "livelock" else 500
    if shrink:
        try:
            best = shrink_choices(original, run, max_runs=runs_allowed, should_stop=shrinking)
            fewer = _fewer_preemptions(
                test_fn, best.choices, signature, granularity, max_steps, shrinking
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
    )
    try:
        _check(final, max_steps)
    except DidNotReproduce as exc:  # the program took another path under the same schedule
        raise Flaky(
            f"the failing schedule ({signature[0]}) did not fit the test when replayed: {exc}"
        ) from None
    if _signature(final) != signature:
        raise Flaky(
            f"the failing schedule ({signature[0]}) did not fail when replayed: "
            f"this time the outcome was {_kind(final) or 'a pass'}"
        )
    token = tokens.encode(threads, granularity=granularity)
    return _failure(
        final, token, target=target, found=original, runs=runs, fn=test_fn, shrinking=shrinking
    )


LIVELOCK_SHRINK_RUNS = 30
"""Candidate runs the shrinker may spend on a livelock (each runs to the step bound)."""

BOUNDED_SEARCH_RUNS = 400
"""Schedules the bounded search of :func:`_fewer_preemptions` may run, in all."""


def _fewer_preemptions(
    test_fn: Callable[[], Any],
    best: list[Choice],
    signature: tuple[str | None, str | None],
    granularity: str,
    max_steps: int,
    shrinking: Shrinking | None = None,
) -> list[Choice] | None:
    """A schedule failing the same way with fewer preemptions than ``best``, or None.

    The shrinker edits the schedule it has; this searches instead: a depth-first search
    bounded to 0, then 1, ... preemptions (CHESS's iterative context bounding), stopping at
    the first failure of the same kind, within :data:`BOUNDED_SEARCH_RUNS` schedules.  When a
    bound's whole space is covered without that failure, none exists with so few.  With
    ``shrinking``, it stops when that says so (the time cap), and tells it of every run.
    """
    budget = BOUNDED_SEARCH_RUNS if signature[0] != "livelock" else LIVELOCK_SHRINK_RUNS
    for bound in range(preemptions(best)):
        dfs = DfsScheduler(preemption_bound=bound, max_schedules=budget)
        while budget > 0 and dfs.new_execution():
            if shrinking is not None and shrinking():
                return None
            budget -= 1
            rt = execute(test_fn, dfs, granularity=granularity, max_steps=max_steps)
            _check(rt, max_steps)
            same = list(rt.choices) if _signature(rt) == signature else None
            if shrinking is not None:
                shrinking.ran(same)
            if same is not None:
                return same
        if budget <= 0:
            return None
    return None


def _failure(
    rt: ControlledRuntime,
    token: str,
    *,
    target: str | None,
    found: list[Choice],
    runs: int | None,
    fn: Callable[[], Any],
    shrinking: Shrinking | None = None,
) -> Failure:
    kind = _kind(rt) or "ok"
    o = rt.outcome
    names = tuple(t.name for t in rt.threads)
    lines: list[str] = []
    deadlocks: tuple[Deadlock, ...] = ()
    exc = o.exception if o is not None else None
    if o is not None and o.kind == "blocked":
        why = explain(o.blocked, rt.threads)
        deadlocks = why.deadlocks
        message = (
            f"deadlock: {len(why.deadlocks)} cycle(s) in the wait-for graph"
            if why.deadlocks
            else "lost wakeup: every thread waits, and none is left to wake them"
        )
        lines.extend(why.lines)
    elif o is not None and o.kind == "exception" and exc is not None:
        who = names[o.tid] if o.tid is not None else "?"
        message = f'{type(exc).__name__} in thread "{who}": {_one_line(exc)}'
        lines.append(f'{type(exc).__name__} in thread "{who}" (T{o.tid}):')
        lines.extend("  " + line for line in _traceback(exc))
    else:
        message = f"livelock: more than {len(rt.choices)} switch points (a spin, or a livelock)"
        lines.append(message)
    n_pre = preemptions(rt.choices)
    head = f"snarl: {message}"
    if runs is not None:
        head += f" (schedule {runs})"
    body = [head, "", *lines, ""]
    found_pre = preemptions(found)
    cut = f"; {shrinking.why()}" if shrinking is not None and shrinking.reason else ""
    body.append(
        f"Interleaving: {n_pre} preemption{'s' if n_pre != 1 else ''}, "
        f"{len(rt.choices)} switch points (shrunk from {found_pre} "
        f"preemption{'s' if found_pre != 1 else ''}, "
        f"{len(found)} switch points{cut}):"
    )
    involved = set(o.blocked) if o is not None and o.kind == "blocked" else set()
    if o is not None and o.tid is not None:
        involved.add(o.tid)  # (the thread that raised, or spun)
    body.extend("  " + line for line in format_table(rt.steps, names, involved=involved))
    body.append("")
    body.append("Replay it with:")
    where = target or f"{source_file(fn)}::{getattr(fn, '__name__', 'test')}"
    body.append(f"  snarl replay {token} {where}")
    return Failure(
        kind=kind,
        message=message,
        token=token,
        report="\n".join(body),
        threads=names,
        steps=len(rt.choices),
        preemptions=n_pre,
        found_steps=len(found),
        found_preemptions=found_pre,
        exception=exc,
        deadlocks=deadlocks,
        schedule=tuple(c.chosen for c in rt.choices),
        trace=tuple(rt.steps),
        shrink_stopped=shrinking.reason if shrinking is not None else None,
    )


def _traceback(exc: BaseException) -> list[str]:
    """The exception's traceback without snarl's own frames (the user's code, the error)."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if is_user_file(f.filename)]
    out = ["Traceback (most recent call last):"]
    for part in traceback.format_list(frames):
        out.extend(part.rstrip("\n").splitlines())
    out.extend(line.rstrip("\n") for line in traceback.format_exception_only(type(exc), exc))
    return out


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else "(no message)"


def source_file(fn: Callable[..., Any]) -> str:
    """The file that defines ``fn``, relative to the working directory where it can be (the
    ``FILE.py`` of a printed replay command)."""
    import os

    code = getattr(fn, "__code__", None)
    if code is None:
        return "FILE.py"
    try:
        return os.path.relpath(code.co_filename)
    except ValueError:
        return code.co_filename


# -- replaying ------------------------------------------------------------------------------
def replay(
    test_fn: Callable[[], Any],
    token: str,
    *,
    target: str | None = None,
    max_steps: int = 10_000,
    include: Sequence[str] = (),
) -> Failure | None:
    """Run the schedule of ``token`` once, strictly, recorded (``include``: as the
    exploration that found it was told).

    Returns the :class:`Failure` it reproduces (its ``report`` has the interleaving table),
    or None if the test passed under it.  Raises :class:`snarl.errors.InvalidToken` for a
    token it cannot read and :class:`snarl.errors.DidNotReproduce` if the program no longer
    fits the recording.
    """
    decoded = tokens.decode(token)
    scheduler = ReplayScheduler(decoded.threads, strict=True)
    scheduler.new_execution()
    with Exploring(decoded.granularity, include=include):
        rt = execute(
            test_fn,
            scheduler,
            granularity=decoded.granularity,
            max_steps=max_steps,
            record_steps=True,
        )
    _check(rt, max_steps)
    exc = rt.outcome.exception if rt.outcome is not None else None
    if isinstance(exc, DidNotReproduce):
        raise exc
    if _kind(rt) is None:
        if scheduler.finished_early():
            raise DidNotReproduce(
                f"replay diverged: the test ended after {len(rt.choices)} switch points, but "
                f"the recording has {len(decoded.threads)}",
                step=len(rt.choices),
            )
        return None
    found = list(rt.choices)
    return _failure(rt, token, target=target, found=found, runs=None, fn=test_fn)
