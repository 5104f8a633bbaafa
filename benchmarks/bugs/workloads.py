"""The three throughput workloads (not bugs: none of them can fail, so every schedule runs to
its end and schedules per second measure the explorer, not how soon it stops).

* ``counter``: two threads, each doing ``counter.value += 1`` ten times, no lock and no final
  assertion (the race is there, but nothing checks it);
* ``locked_counter``: the same, each increment under one shared lock;
* ``philosophers``: five dining philosophers, each eating once, forks taken in resource order
  (the fixed twin of :mod:`bugs.philosophers`).
"""

from __future__ import annotations

import threading

from . import philosophers as _philosophers
from ._harness import Program

INCREMENTS = 10


class Counter:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.value = 0


def add(c: Counter) -> None:
    for _ in range(INCREMENTS):
        c.value += 1


def add_locked(c: Counter) -> None:
    for _ in range(INCREMENTS):
        with c.lock:
            c.value += 1


def no_check(state: object) -> None:
    pass


COUNTER = Program(Counter, (add, add), no_check)
LOCKED_COUNTER = Program(Counter, (add_locked, add_locked), no_check)
PHILOSOPHERS = _philosophers.FIXED

WORKLOADS: dict[str, Program] = {
    "counter": COUNTER,
    "locked_counter": LOCKED_COUNTER,
    "philosophers": PHILOSOPHERS,
}
"""By name: each one's ``run`` is a no-argument test function."""


def counter() -> None:
    COUNTER.run()


def locked_counter() -> None:
    LOCKED_COUNTER.run()


def philosophers() -> None:
    PHILOSOPHERS.run()


TESTS = {"counter": counter, "locked_counter": locked_counter, "philosophers": philosophers}

RATE_GRANULARITIES: dict[str, tuple[str, ...]] = {
    "counter": ("line", "bytecode"),  # "sync" has no switch point inside the loop
    "locked_counter": ("sync", "line", "bytecode"),
    "philosophers": ("sync", "line", "bytecode"),
}
"""The snarl granularities each workload's rate is measured at."""
