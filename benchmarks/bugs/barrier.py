"""A barrier with the wrong party count.

Bug: ``Barrier(3)`` for two workers: the third party never arrives and both wait forever (every
schedule: a deterministic bug, found by the first one).  Fix: ``Barrier(2)``.
"""

from __future__ import annotations

import threading

from ._harness import Program

GRANULARITY = "sync"
SWITCH = "barrier operations"
EXPECT = "deadlock"


class Phases:
    def __init__(self, parties: int) -> None:
        self.barrier = threading.Barrier(parties)
        self.passed = 0
        self.lock = threading.Lock()


def phase(p: Phases) -> None:
    p.barrier.wait()
    with p.lock:
        p.passed += 1


def check(p: Phases) -> None:
    assert p.passed == 2


BUGGY = Program(lambda: Phases(3), (phase, phase), check)
FIXED = Program(lambda: Phases(2), (phase, phase), check)


def buggy() -> None:
    BUGGY.run()


def fixed() -> None:
    FIXED.run()
