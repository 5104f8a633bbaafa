"""Lost update: a read-modify-write of a shared counter with a switch between read and write.

Bug: both threads read the same value and both write value + 1 (``time.sleep(0)`` between the
read and the write stands for any call that lets the GIL go).  Fix: the read-modify-write
under one lock.
"""

from __future__ import annotations

import threading
import time

from ._harness import Program

GRANULARITY = "sync"
SWITCH = "time.sleep(0) between the read and the write"
EXPECT = "assertion"


class Counter:
    def __init__(self) -> None:
        self.value = 0
        self.lock = threading.Lock()


def add(c: Counter) -> None:
    for _ in range(2):
        seen = c.value
        time.sleep(0)
        c.value = seen + 1


def add_locked(c: Counter) -> None:
    for _ in range(2):
        with c.lock:
            seen = c.value
            time.sleep(0)
            c.value = seen + 1


def check(c: Counter) -> None:
    assert c.value == 4, f"lost an update: value = {c.value}"


BUGGY = Program(Counter, (add, add), check)
FIXED = Program(Counter, (add_locked, add_locked), check)


def buggy() -> None:
    BUGGY.run()


def fixed() -> None:
    FIXED.run()
