"""``snarl explore --jobs J``: the same exploration, split over J processes.

Schedule ``i``'s decisions depend only on the seed and ``i`` (see the strategies), so process
``j`` runs schedules ``j, j+J, j+2J, ...`` and stops at its first failure.  The first failure
of the whole exploration is the lowest failing index ``m``; every schedule below ``m`` was run
(by some process) and passed, exactly as a single process would have found.  The parent then
runs schedule ``m`` again itself, shrinks it and replays it for the report, so the result
(kind, token, report, and the statistics counted over schedules ``0..m``) is the one a single
process gives.  Processes are forked: the target is loaded once, before the fork.

The workers share counters with the parent (memory made before the fork): each one's
schedules run and whether it failed, which the parent shows on the progress line while it
waits; the lowest failing index found so far, past which no worker goes on (none of its
schedules could be the first failure any more); and a stop flag, set when the parent is
interrupted, on which every worker returns what it has after its current execution.  The
workers ignore SIGINT: Ctrl-C in a terminal reaches the whole process group, and the parent
decides.
"""

from __future__ import annotations

import multiprocessing
import signal
from collections.abc import Sequence
from typing import Any

from ..runtime.scheduler import Scheduler
from .execution import Exploring
from .execution import _real as _clocks
from .portfolio import Portfolio
from .report import check, interleaving, kind_of
from .result import Result
from .runner import (
    SHRINK_SECONDS,
    Callback,
    _calibrate,
    _race_session,
    _report,
    execute_next,
    unread_points,
)
from .runner import _strategy as make_strategy
from .strategies import PctScheduler

__all__ = ["explore_in_processes"]

_TARGET: dict[str, Any] = {}  # the test function and the shared counters, set before the fork

POLL = 0.1
"""Seconds between two looks at the workers' counters while waiting for them."""


def _strategy(
    name: str, seed: int, schedules: int, depth: int, start: int, stride: int, granularity: str
) -> Scheduler:
    return make_strategy(
        name, schedules=schedules, seed=seed, depth=depth, preemption_bound=0,
        start=start, stride=stride, granularity=granularity,
    )  # fmt: skip


def _share(
    job: tuple[int, int, dict[str, Any]],
) -> tuple[int | None, dict[int, tuple[int, bool]], tuple[int, int]]:
    """Run one process's share: the first failing index (or None), each index's
    interleaving (a hash of its choices) and whether it ran at "shared", up to it, and (with
    races) the executions and accesses the race checks covered."""
    start, stride, options = job
    fn, done, failed, lowest, stop = (
        _TARGET[k] for k in ("fn", "done", "failed", "lowest", "stop")
    )
    scheduler = _strategy(
        options["strategy"], options["seed"], options["schedules"], options["depth"], start,
        stride, options["granularity"],
    )  # fmt: skip
    session = _race_session(fn, options["include"]) if options["races"] else None
    before = session.summary() if session is not None else None
    seen: dict[int, tuple[int, bool]] = {}
    # (worker ``start`` of ``stride``)
    with Exploring(options["granularity"], cpu=start, include=options["include"]):
        _calibrate(fn, scheduler, options["granularity"], options["max_steps"], session)
        while not stop.value and scheduler.new_execution():
            index = scheduler.index  # type: ignore[attr-defined]
            if index > lowest.value:  # a lower failure is known: none here can be the first
                break
            rt, g = execute_next(
                fn, scheduler, options["granularity"], options["max_steps"], session
            )
            check(rt, options["max_steps"])
            seen[index] = (interleaving(rt.choices), g == "shared")
            done[start] += 1
            if isinstance(scheduler, PctScheduler | Portfolio):
                scheduler.observe(len(rt.choices))
            if kind_of(rt) is not None:
                failed[start] = 1
                with lowest.get_lock():
                    lowest.value = min(lowest.value, index)
                return index, seen, _covered(session, before)
    return None, seen, _covered(session, before)


def _covered(session: Any, before: Any) -> tuple[int, int]:
    """The executions and accesses the race checks covered since ``before`` (0, 0: none)."""
    if session is None or before is None:
        return 0, 0
    now = session.summary().since(before)
    return now.executions, now.accesses_checked


def _ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def explore_in_processes(
    target: str,
    *,
    jobs: int,
    strategy: str,
    schedules: int,
    seed: int,
    granularity: str,
    depth: int,
    max_steps: int,
    shrink: bool,
    shrink_seconds: float | None = SHRINK_SECONDS,
    progress: Callback | None = None,
    shrink_progress: Callback | None = None,
    include: Sequence[str] = (),
    races: bool = False,
) -> Result:
    """Explore ``target`` (``FILE.py::TEST``) over ``jobs`` forked processes.

    The options are :func:`~snarl.exploration.runner.explore`'s; ``progress`` is called every
    :data:`POLL` seconds while the workers run, and a ``KeyboardInterrupt`` then (Ctrl-C, or
    raised by ``progress``) stops them after their current execution: the result counts what
    they ran, is marked ``interrupted``, and reports (unshrunk) the lowest failure found.
    ``races``: the target is loaded instrumented and every execution checks for races.
    """
    from ..cli import load_target

    fn, spec = load_target(target, races=races, include=include)
    session = _race_session(fn, include) if races else None
    checked_before = session.summary() if session is not None else None
    context = multiprocessing.get_context("fork")
    done = context.Array("q", jobs, lock=False)  # each worker writes its own slot only
    failed = context.Array("b", jobs, lock=False)
    lowest = context.Value("q", schedules)
    stop = context.Value("b", 0, lock=False)
    _TARGET.update(fn=fn, done=done, failed=failed, lowest=lowest, stop=stop)
    options = {
        "strategy": strategy,
        "seed": seed,
        "schedules": schedules,
        "depth": depth,
        "granularity": granularity,
        "max_steps": max_steps,
        "include": tuple(include),
        "races": races,
    }
    began = _clocks["perf_counter"]()
    interrupted = False
    with context.Pool(jobs, initializer=_ignore_sigint) as pool:
        pending = pool.map_async(_share, [(j, jobs, options) for j in range(jobs)])
        try:
            while not pending.ready():
                pending.wait(POLL)
                if progress is not None:
                    progress(sum(done), schedules, sum(failed))
        except KeyboardInterrupt:
            interrupted = True
            stop.value = 1
        shares = pending.get()
    seconds = _clocks["perf_counter"]() - began
    failing = [index for index, _, _ in shares if index is not None]
    first = min(failing) if failing else None
    seen: dict[int, tuple[int, bool]] = {}
    for _, hashes, _ in shares:
        seen.update(hashes)
    last = first if first is not None and not interrupted else schedules - 1
    ran = [h for i, (h, _) in seen.items() if i <= last]
    points = None
    if granularity == "auto":
        shared = sum(1 for i, (_, at_shared) in seen.items() if i <= last and at_shared)
        points = f"{len(ran) - shared} at sync, {shared} at shared"
    failure = None
    scheduler = None
    checked = None
    if session is not None and checked_before is not None:
        checked = session.summary().since(checked_before)
        checked.executions += sum(c[0] for _, _, c in shares)
        checked.accesses_checked += sum(c[1] for _, _, c in shares)
    if first is not None:
        scheduler = _strategy(strategy, seed, schedules, depth, first, schedules, granularity)
        with Exploring(granularity, include=include):
            _calibrate(fn, scheduler, options["granularity"], options["max_steps"], session)
            scheduler.new_execution()
            rt, g = execute_next(fn, scheduler, granularity, max_steps, session)
            check(rt, max_steps)
            failure = _report(
                fn, rt, granularity=g, max_steps=max_steps,
                shrink=shrink and not interrupted, target=spec + (" --races" if races else ""),
                runs=first + 1, shrink_seconds=shrink_seconds, shrink_progress=shrink_progress,
                races=session,
            )  # fmt: skip
            interrupted = interrupted or failure.shrink_stopped == "interrupted"
    return Result(
        failure=failure,
        schedules=len(ran),
        distinct=len(set(ran)),
        failing=len(failing) if interrupted else 1 if first is not None else 0,
        seconds=seconds,
        strategy=strategy,
        granularity=granularity,
        seed=seed,
        pct_bound=getattr(scheduler, "bound", None) if strategy == "pct" else None,
        depth=depth if strategy == "pct" else None,
        notes=(f"{jobs} processes",),
        points=points,
        interrupted=interrupted,
        uncontrolled=unread_points(granularity),
        races=checked,
    )
