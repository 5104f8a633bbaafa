"""Producer-consumer with a missing notify.

Bug: the producer appends under the Condition but never notifies; a consumer that started
waiting before the item arrived waits forever (one that came later sees the item: the bug
depends on the order).  Fix: ``notify()`` after the append.
"""

from __future__ import annotations

import threading

from ._harness import Program

GRANULARITY = "sync"
SWITCH = "Condition operations"
EXPECT = "deadlock"


class Channel:
    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.items: list[int] = []
        self.got: list[int] = []


def consumer(c: Channel) -> None:
    with c.cond:
        while not c.items:
            c.cond.wait()
        c.got.append(c.items.pop())


def producer_silent(c: Channel) -> None:
    with c.cond:
        c.items.append(1)


def producer(c: Channel) -> None:
    with c.cond:
        c.items.append(1)
        c.cond.notify()


def check(c: Channel) -> None:
    assert c.got == [1]


BUGGY = Program(Channel, (consumer, producer_silent), check)
FIXED = Program(Channel, (consumer, producer), check)


def buggy() -> None:
    BUGGY.run()


def fixed() -> None:
    FIXED.run()
