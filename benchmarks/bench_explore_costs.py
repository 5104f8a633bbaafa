#!/usr/bin/env python3
"""What one exploration pays for, piece by piece: a hand-over between threads, a switch point,
a thread started and joined, an execution.  Medians over ``--rounds`` rounds.

* hand-over: two threads pass a ``_thread`` lock back and forth (``--handovers`` times), as
  the controlled runtime's batons do; by default, both on one CPU, and one CPU under
  ``SCHED_BATCH`` (what :mod:`snarl.exploration.pinning` sets for an exploration; Linux);
* per execution: ``explore()`` of a test that starts no thread, per schedule;
* per thread: a test that starts and joins two threads that do nothing, less the above, per
  thread; beside it, ``threading`` alone doing the same on one CPU under ``SCHED_BATCH``;
* per switch point: one execution of a 2000-line loop at ``line`` granularity, less the same
  at ``sync``, over the switch points it took (counted from the execution's choices);
* per exploration: entering and leaving ``Exploring`` (what every ``explore()`` call pays
  once: the primitives installed, the CPU pin, and the takeover's scan of every object the
  garbage collector tracks for primitives made before; its count is printed).

    python benchmarks/bench_explore_costs.py [--rounds 5] [--handovers 20000] [--schedules 500]
"""

from __future__ import annotations

import _thread
import argparse
import os
import platform
import statistics
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import snarl
from snarl.exploration.execution import Exploring, execute
from snarl.exploration.strategies import ReplayScheduler

LINUX = hasattr(os, "sched_setaffinity")


def in_thread(setup: Callable[[], None], fn: Callable[[], float]) -> float:
    """``fn()`` in a new thread after ``setup()`` (the threads it starts inherit the setup)."""
    out: list[float] = []

    def body() -> None:
        setup()
        out.append(fn())

    t = threading.Thread(target=body)
    t.start()
    t.join()
    return out[0]


def one_cpu(batch: bool) -> Callable[[], None]:
    def setup() -> None:
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
        if batch:
            os.sched_setscheduler(0, os.SCHED_BATCH, os.sched_param(0))

    return setup


def handover(n: int) -> float:
    """µs per hand-over of a lock between two threads."""
    a, b = _thread.allocate_lock(), _thread.allocate_lock()
    a.acquire()
    b.acquire()

    def other() -> None:
        for _ in range(n):
            a.acquire()
            b.release()

    t = threading.Thread(target=other)
    t.start()
    began = time.perf_counter()
    for _ in range(n):
        a.release()
        b.acquire()
    seconds = time.perf_counter() - began
    t.join()
    return seconds / n / 2 * 1e6


def nothing() -> None:
    pass


def none() -> None:
    """A test that starts no thread."""


def two() -> None:
    """A test that starts and joins two threads that do nothing."""
    threads = [threading.Thread(target=nothing) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def loop() -> None:
    """1000 iterations: two lines each."""
    total = 0
    for i in range(1000):
        total += i


def per_schedule(fn: Callable[[], None], schedules: int, granularity: str = "sync") -> float:
    began = time.perf_counter()
    snarl.explore(fn, schedules=schedules, shrink=False, granularity=granularity)
    return (time.perf_counter() - began) / schedules * 1e6


def native_thread(n: int) -> float:
    """µs per thread started and joined by threading alone."""
    began = time.perf_counter()
    for _ in range(n):
        t = threading.Thread(target=nothing)
        t.start()
        t.join()
    return (time.perf_counter() - began) / n * 1e6


def switch_point() -> float:
    """µs per switch point at line granularity (one execution of ``loop``)."""
    timed: dict[str, tuple[float, int]] = {}
    for granularity in ("sync", "line"):
        with Exploring(granularity):
            scheduler = ReplayScheduler((), strict=False)
            scheduler.new_execution()
            began = time.perf_counter()
            rt = execute(loop, scheduler, granularity=granularity, max_steps=10**6)
            timed[granularity] = (time.perf_counter() - began, len(rt.choices))
    (t_sync, n_sync), (t_line, n_line) = timed["sync"], timed["line"]
    return (t_line - t_sync) / (n_line - n_sync) * 1e6


def per_exploration() -> float:
    """µs to set up and tear down one exploration (see the module docstring)."""
    began = time.perf_counter()
    with Exploring("sync"):
        pass
    return (time.perf_counter() - began) * 1e6


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--handovers", type=int, default=20_000)
    ap.add_argument("--schedules", type=int, default=500)
    args = ap.parse_args()
    import gc

    print(f"snarl on CPython {platform.python_version()}, {os.cpu_count()} CPUs")
    print(f"objects the GC tracks (the takeover scans them): {len(gc.get_objects())}")
    rows: dict[str, list[float]] = {}

    def add(name: str, value: float) -> None:
        rows.setdefault(name, []).append(value)

    for _ in range(args.rounds):
        add("hand-over, default", in_thread(lambda: None, lambda: handover(args.handovers)))
        if LINUX:
            add("hand-over, one CPU", in_thread(one_cpu(False), lambda: handover(args.handovers)))
            add(
                "hand-over, one CPU, SCHED_BATCH",
                in_thread(one_cpu(True), lambda: handover(args.handovers)),
            )
        empty = per_schedule(none, args.schedules)
        add("per execution (a test with no thread)", empty)
        add("per thread started and joined", (per_schedule(two, args.schedules) - empty) / 2)
        if LINUX:
            add(
                "  threading alone, one CPU, SCHED_BATCH",
                in_thread(one_cpu(True), lambda: native_thread(args.schedules)),
            )
        add("per switch point (line granularity)", switch_point())
        add("per exploration (setup and takeover scan)", per_exploration())
    width = max(map(len, rows))
    print(f"{'':{width}}  median µs  (min)")
    for name, values in rows.items():
        print(f"{name:{width}}  {statistics.median(values):9.2f}  ({min(values):.2f})")


if __name__ == "__main__":
    main()
