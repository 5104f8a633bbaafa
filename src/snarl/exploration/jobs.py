"""``snarl explore --jobs J``: the same exploration, split over J processes.

Schedule ``i``'s decisions depend only on the seed and ``i`` (see the strategies), so process
``j`` runs schedules ``j, j+J, j+2J, ...`` and stops at its first failure.  The first failure
of the whole exploration is the lowest failing index ``m``; every schedule below ``m`` was run
(by some process) and passed, exactly as a single process would have found.  The parent then
runs schedule ``m`` again itself, shrinks it and replays it for the report, so the result
(kind, token, report, and the statistics counted over schedules ``0..m``) is the one a single
process gives.  Processes are forked: the target is loaded once, before the fork.
"""

from __future__ import annotations

import multiprocessing
import time
from typing import Any

from ..runtime.scheduler import Scheduler
from .execution import Exploring, execute
from .runner import Result, _calibrate, _check, _kind, _report, interleaving
from .runner import _strategy as make_strategy
from .strategies import PctScheduler

__all__ = ["explore_in_processes"]

_TARGET: dict[str, Any] = {}


def _strategy(
    name: str, seed: int, schedules: int, depth: int, start: int, stride: int
) -> Scheduler:
    return make_strategy(
        name, schedules=schedules, seed=seed, depth=depth, preemption_bound=0,
        start=start, stride=stride,
    )  # fmt: skip


def _share(job: tuple[int, int, dict[str, Any]]) -> tuple[int | None, dict[int, int]]:
    """Run one process's share: the first failing index (or None), and each index's
    interleaving (a hash of its choices) up to it."""
    start, stride, options = job
    fn = _TARGET["fn"]
    scheduler = _strategy(
        options["strategy"], options["seed"], options["schedules"], options["depth"], start, stride
    )
    seen: dict[int, int] = {}
    with Exploring(options["granularity"], cpu=start):  # worker ``start`` of ``stride``
        _calibrate(fn, scheduler, options["granularity"], options["max_steps"])
        while scheduler.new_execution():
            index = scheduler.index  # type: ignore[attr-defined]
            rt = execute(
                fn, scheduler, granularity=options["granularity"], max_steps=options["max_steps"]
            )
            _check(rt, options["max_steps"])
            seen[index] = interleaving(rt.choices)
            if isinstance(scheduler, PctScheduler):
                scheduler.observe(len(rt.choices))
            if _kind(rt) is not None:
                return index, seen
    return None, seen


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
) -> Result:
    """Explore ``target`` (``FILE.py::TEST``) over ``jobs`` forked processes."""
    from ..cli import load_target

    fn, spec = load_target(target)
    _TARGET["fn"] = fn
    options = {
        "strategy": strategy,
        "seed": seed,
        "schedules": schedules,
        "depth": depth,
        "granularity": granularity,
        "max_steps": max_steps,
    }
    began = time.perf_counter()
    context = multiprocessing.get_context("fork")
    with context.Pool(jobs) as pool:
        shares = pool.map(_share, [(j, jobs, options) for j in range(jobs)])
    seconds = time.perf_counter() - began
    failing = [index for index, _ in shares if index is not None]
    first = min(failing) if failing else None
    seen: dict[int, int] = {}
    for _, hashes in shares:
        seen.update(hashes)
    last = first if first is not None else schedules - 1
    ran = [h for i, h in seen.items() if i <= last]
    failure = None
    scheduler = None
    if first is not None:
        scheduler = _strategy(strategy, seed, schedules, depth, first, schedules)
        with Exploring(granularity):
            _calibrate(fn, scheduler, options["granularity"], options["max_steps"])
            scheduler.new_execution()
            rt = execute(fn, scheduler, granularity=granularity, max_steps=max_steps)
            _check(rt, max_steps)
            failure = _report(
                fn, rt, granularity=granularity, max_steps=max_steps, shrink=shrink,
                target=spec, runs=first + 1,
            )  # fmt: skip
    return Result(
        failure=failure,
        schedules=len(ran),
        distinct=len(set(ran)),
        failing=1 if first is not None else 0,
        seconds=seconds,
        strategy=strategy,
        granularity=granularity,
        seed=seed,
        pct_bound=scheduler.bound if isinstance(scheduler, PctScheduler) else None,
        depth=depth if strategy == "pct" else None,
        notes=(f"{jobs} processes",),
    )
