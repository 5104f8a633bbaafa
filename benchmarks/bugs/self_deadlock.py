"""Self-deadlock: a thread re-acquires a non-reentrant ``Lock`` it already holds.

Bug: ``get()`` holds the lock and calls ``refresh()`` when the entry is missing, which takes
the same ``Lock`` again: the thread waits for itself.  Only when ``get`` runs before the other
thread's ``refresh`` (otherwise the entry is there).  Fix: an ``RLock``.
"""

from __future__ import annotations

import threading

from ._harness import Program

GRANULARITY = "sync"
SWITCH = "lock acquires"
EXPECT = "deadlock"


class Cache:
    def __init__(self, reentrant: bool) -> None:
        self.lock = threading.RLock() if reentrant else threading.Lock()
        self.data: dict[str, int] = {}
        self.value = 0


def refresh(c: Cache) -> None:
    with c.lock:
        c.data["k"] = 1


def get(c: Cache) -> None:
    with c.lock:
        if "k" not in c.data:
            refresh(c)  # takes c.lock again
        c.value = c.data["k"]


def check(c: Cache) -> None:
    assert c.value == 1


BUGGY = Program(lambda: Cache(False), (get, refresh), check)
FIXED = Program(lambda: Cache(True), (get, refresh), check)


def buggy() -> None:
    BUGGY.run()


def fixed() -> None:
    FIXED.run()
