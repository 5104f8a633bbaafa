"""An RLock released too many times.

Bug: a fast path "unlocks early" with ``release()`` inside ``with lock:``, and the ``with``
releases again: ``RuntimeError: cannot release un-acquired lock``, only when the other thread
has already set ``ready``.  Fix: no manual release inside the ``with`` block.
"""

from __future__ import annotations

import threading

from ._harness import Program

GRANULARITY = "sync"
SWITCH = "lock acquires"
EXPECT = "exception"


class Resource:
    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.ready = False
        self.fast = 0
        self.slow = 0


def use_early_release(r: Resource) -> None:
    with r.lock:
        if r.ready:
            r.fast += 1
            r.lock.release()  # "done with it": the with-block releases once more
            return
        r.slow += 1


def use(r: Resource) -> None:
    with r.lock:
        if r.ready:
            r.fast += 1
            return
        r.slow += 1


def prepare(r: Resource) -> None:
    with r.lock:
        r.ready = True


def check(r: Resource) -> None:
    assert r.fast + r.slow == 1


BUGGY = Program(Resource, (use_early_release, prepare), check)
FIXED = Program(Resource, (use, prepare), check)


def buggy() -> None:
    BUGGY.run()


def fixed() -> None:
    FIXED.run()
