"""ABBA deadlock: two threads take the same two locks in opposite orders.

Bug: ``one`` holds ``a`` and waits for ``b`` while ``two`` holds ``b`` and waits for ``a``.
Fix: one global lock order (both take ``a`` first).
"""

from __future__ import annotations

import threading

from ._harness import Program

GRANULARITY = "sync"
SWITCH = "a lock acquire"
EXPECT = "deadlock"


class State:
    def __init__(self) -> None:
        self.a = threading.Lock()
        self.b = threading.Lock()
        self.done = 0


def one(s: State) -> None:
    with s.a, s.b:
        s.done += 1


def two(s: State) -> None:
    with s.b, s.a:
        s.done += 1


def two_ordered(s: State) -> None:
    with s.a, s.b:
        s.done += 1


def check(s: State) -> None:
    assert s.done == 2, f"done = {s.done}"


BUGGY = Program(State, (one, two), check)
FIXED = Program(State, (one, two_ordered), check)


def buggy() -> None:
    BUGGY.run()


def fixed() -> None:
    FIXED.run()
