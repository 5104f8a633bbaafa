"""TOCTOU on a shared resource count: checked under the lock, taken under another acquire.

Bug: both threads see one free slot (each check under the lock), release, then each takes it
(another acquire): the count goes negative.  Fix: check and take in one critical section.
"""

from __future__ import annotations

import threading

from ._harness import Program

GRANULARITY = "sync"
SWITCH = "the second lock acquire"
EXPECT = "assertion"


class Slots:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.free = 1
        self.taken = 0


def take(s: Slots) -> None:
    with s.lock:
        available = s.free > 0
    if available:
        with s.lock:
            s.free -= 1
            s.taken += 1


def take_atomic(s: Slots) -> None:
    with s.lock:
        if s.free > 0:
            s.free -= 1
            s.taken += 1


def check(s: Slots) -> None:
    assert s.free >= 0 and s.taken == 1, f"free = {s.free}, taken = {s.taken}"


BUGGY = Program(Slots, (take, take), check)
FIXED = Program(Slots, (take_atomic, take_atomic), check)


def buggy() -> None:
    BUGGY.run()


def fixed() -> None:
    FIXED.run()
