"""Double-checked lazy initialisation without the second check.

Bug: both threads see ``instance is None`` outside the lock, then each takes the lock in turn
and initialises again (the lock acquire is the switch).  Fix: check again inside the lock.
"""

from __future__ import annotations

import threading

from ._harness import Program

GRANULARITY = "sync"
SWITCH = "the lock acquire after the unlocked check"
EXPECT = "assertion"


class Lazy:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.instance: object | None = None
        self.inits = 0


def get(z: Lazy) -> None:
    if z.instance is None:
        with z.lock:
            z.inits += 1
            z.instance = object()


def get_checked(z: Lazy) -> None:
    if z.instance is None:
        with z.lock:
            if z.instance is None:
                z.inits += 1
                z.instance = object()


def check(z: Lazy) -> None:
    assert z.inits == 1, f"initialised {z.inits} times"


BUGGY = Program(Lazy, (get, get), check)
FIXED = Program(Lazy, (get_checked, get_checked), check)


def buggy() -> None:
    BUGGY.run()


def fixed() -> None:
    FIXED.run()
