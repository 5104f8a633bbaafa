"""Dining philosophers (5): each takes the fork on its left, then the one on its right.

Bug: if all five take their left fork before any takes its right one, each waits for its
neighbour forever (a five-thread cycle).  Fix: resource ordering (take the lower-numbered fork
first), which breaks the cycle.
"""

from __future__ import annotations

import threading

from ._harness import Program, named

GRANULARITY = "sync"
SWITCH = "a lock acquire"
EXPECT = "deadlock"
N = 5


class Table:
    def __init__(self) -> None:
        self.forks = [threading.Lock() for _ in range(N)]
        self.meals = [0] * N


def philosopher(i: int, *, ordered: bool):
    left, right = i, (i + 1) % N
    first, second = (min(left, right), max(left, right)) if ordered else (left, right)

    def dine(t: Table) -> None:
        with t.forks[first], t.forks[second]:
            t.meals[i] += 1

    return named(dine, f"philosopher-{i}")


def check(t: Table) -> None:
    assert t.meals == [1] * N, f"meals = {t.meals}"


BUGGY = Program(Table, tuple(philosopher(i, ordered=False) for i in range(N)), check)
FIXED = Program(Table, tuple(philosopher(i, ordered=True) for i in range(N)), check)


def buggy() -> None:
    BUGGY.run()


def fixed() -> None:
    FIXED.run()
