"""``if`` instead of ``while`` around ``Condition.wait``: a stolen wakeup.

Bug: consumer 1 waits; the producer adds an item and notifies; before consumer 1 has the lock
back, consumer 2 arrives, sees the item and takes it; consumer 1 then pops an empty list
(IndexError).  Fix: re-check the predicate in a ``while`` loop.
"""

from __future__ import annotations

import threading

from ._harness import Program

GRANULARITY = "sync"
SWITCH = "Condition operations"
EXPECT = "exception"


class Box:
    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.items: list[int] = []
        self.taken: list[int] = []


def consumer_if(b: Box) -> None:
    with b.cond:
        if not b.items:
            b.cond.wait()
        b.taken.append(b.items.pop())


def consumer_while(b: Box) -> None:
    with b.cond:
        while not b.items:
            b.cond.wait()
        b.taken.append(b.items.pop())


def producer(b: Box) -> None:
    for i in range(2):
        with b.cond:
            b.items.append(i)
            b.cond.notify()


def check(b: Box) -> None:
    assert sorted(b.taken) == [0, 1], f"taken = {b.taken}"


BUGGY = Program(Box, (consumer_if, consumer_if, producer), check)
FIXED = Program(Box, (consumer_while, consumer_while, producer), check)


def buggy() -> None:
    BUGGY.run()


def fixed() -> None:
    FIXED.run()
