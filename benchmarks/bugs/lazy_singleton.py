"""A thread-unsafe lazy singleton: ``if instance is None: instance = make()``.

Bug: both threads see ``None`` and both construct.  Between the check and the store there is
only a call (``make()``): CPython can switch threads there, so ``"gil"`` granularity (calls,
returns, backward jumps) is enough; ``"line"`` finds it too.  Fix: check and create under a
lock.
"""

from __future__ import annotations

import threading

from ._harness import Program

GRANULARITY = "gil"
SWITCH = "the call to make() between the check and the store"
EXPECT = "assertion"


class Holder:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.instance: object | None = None
        self.created = 0


def make(h: Holder) -> object:
    h.created += 1
    return object()


def get(h: Holder) -> None:
    if h.instance is None:
        h.instance = make(h)


def get_locked(h: Holder) -> None:
    with h.lock:
        if h.instance is None:
            h.instance = make(h)


def check(h: Holder) -> None:
    assert h.created == 1, f"constructed {h.created} times"


BUGGY = Program(Holder, (get, get), check)
FIXED = Program(Holder, (get_locked, get_locked), check)


def buggy() -> None:
    BUGGY.run()


def fixed() -> None:
    FIXED.run()
