"""A lock that protects nothing: each call creates its own.

Bug: ``lock = threading.Lock()`` inside the function, so the two threads never contend and the
read-modify-write (across a ``sleep(0)``) loses an update.  Fix: one lock, shared.
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
        self.lock = threading.Lock()
        self.value = 0


def add_private(c: Counter) -> None:
    lock = threading.Lock()  # a new lock per call: it excludes no one
    with lock:
        seen = c.value
        time.sleep(0)
        c.value = seen + 1


def add_shared(c: Counter) -> None:
    with c.lock:
        seen = c.value
        time.sleep(0)
        c.value = seen + 1


def check(c: Counter) -> None:
    assert c.value == 2, f"lost an update: value = {c.value}"


BUGGY = Program(Counter, (add_private, add_private), check)
FIXED = Program(Counter, (add_shared, add_shared), check)


def buggy() -> None:
    BUGGY.run()


def fixed() -> None:
    FIXED.run()
