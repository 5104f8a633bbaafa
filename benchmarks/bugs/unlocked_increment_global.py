"""``global hits; hits += 1`` from two threads: a module global incremented without a lock.

Bug: ``hits += 1`` is one line, three bytecodes (LOAD_GLOBAL, add, STORE_GLOBAL); a switch
between the load and the store loses an update, so only ``"bytecode"`` granularity shows it.
Unlike ``racy_increment`` the counter is a module global, not an attribute.  Fix: the
increment under a lock.
"""

from __future__ import annotations

import threading

try:
    from ._harness import Program
except ImportError:  # loaded as a file (snarl explore benchmarks/bugs/<this file>::buggy)
    from _harness import Program

GRANULARITY = "bytecode"
SWITCH = "inside one line (between LOAD_GLOBAL and STORE_GLOBAL)"
EXPECT = "assertion"
CLASS = "data-race"

hits = 0


def reset() -> threading.Lock:
    """A fresh count (module-level state) and the lock of the fixed twin."""
    global hits
    hits = 0
    return threading.Lock()


def hit(lock: threading.Lock) -> None:
    global hits
    for _ in range(2):
        hits += 1


def hit_locked(lock: threading.Lock) -> None:
    global hits
    for _ in range(2):
        with lock:
            hits += 1


def check(lock: threading.Lock) -> None:
    assert hits == 4, f"lost an update: hits = {hits}"


BUGGY = Program(reset, (hit, hit), check)
FIXED = Program(reset, (hit_locked, hit_locked), check)


def buggy() -> None:
    BUGGY.run()


def fixed() -> None:
    FIXED.run()
