"""Lost wakeup: ``Condition.wait()`` with no predicate, so a notify that came first is lost.

Bug: if the producer notifies before the consumer waits, the consumer waits forever.  Fix: wait
for a predicate (``while not ready: wait()``) that the producer sets before notifying.
"""

from __future__ import annotations

import threading

from ._harness import Program

GRANULARITY = "sync"
SWITCH = "Condition operations"
EXPECT = "deadlock"


class Signal:
    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.ready = False
        self.woke = 0


def consumer(s: Signal) -> None:
    with s.cond:
        s.cond.wait()
        s.woke += 1


def producer(s: Signal) -> None:
    with s.cond:
        s.cond.notify()


def consumer_predicate(s: Signal) -> None:
    with s.cond:
        while not s.ready:
            s.cond.wait()
        s.woke += 1


def producer_predicate(s: Signal) -> None:
    with s.cond:
        s.ready = True
        s.cond.notify()


def check(s: Signal) -> None:
    assert s.woke == 1


BUGGY = Program(Signal, (consumer, producer), check)
FIXED = Program(Signal, (consumer_predicate, producer_predicate), check)


def buggy() -> None:
    BUGGY.run()


def fixed() -> None:
    FIXED.run()
