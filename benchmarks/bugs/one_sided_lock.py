"""A counter guarded by a lock that only one of its two writers takes.

Bug: the locked writer's read-modify-write is interleaved with the unlocked one's, and an
update is lost.  The read and the write are two plain lines: ``"line"``.  Fix: both writers
take the lock.
"""

from __future__ import annotations

import threading

from ._harness import Program

GRANULARITY = "line"
SWITCH = "between the read line and the write line"
EXPECT = "assertion"


class Counter:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.value = 0


def add_locked(c: Counter) -> None:
    with c.lock:
        seen = c.value
        c.value = seen + 1


def add_unlocked(c: Counter) -> None:
    seen = c.value
    c.value = seen + 1


def check(c: Counter) -> None:
    assert c.value == 2, f"lost an update: value = {c.value}"


BUGGY = Program(Counter, (add_locked, add_unlocked), check)
FIXED = Program(Counter, (add_locked, add_locked), check)


def buggy() -> None:
    BUGGY.run()


def fixed() -> None:
    FIXED.run()
