"""``counter.value += 1`` from two threads: one line, three bytecodes (load, add, store).

Bug: a switch between the load and the store loses an update; no line boundary separates
them, so only ``"bytecode"`` granularity shows it.  Fix: the increment under a lock.
"""

from __future__ import annotations

import threading

from ._harness import Program

GRANULARITY = "bytecode"
SWITCH = "inside one line (between LOAD_ATTR and STORE_ATTR)"
EXPECT = "assertion"


class Counter:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.value = 0


def add(c: Counter) -> None:
    for _ in range(2):
        c.value += 1


def add_locked(c: Counter) -> None:
    for _ in range(2):
        with c.lock:
            c.value += 1


def check(c: Counter) -> None:
    assert c.value == 4, f"lost an update: value = {c.value}"


BUGGY = Program(Counter, (add, add), check)
FIXED = Program(Counter, (add_locked, add_locked), check)


def buggy() -> None:
    BUGGY.run()


def fixed() -> None:
    FIXED.run()
