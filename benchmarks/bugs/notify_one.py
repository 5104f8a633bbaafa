"""``notify()`` where ``notify_all()`` is needed: waiters with different predicates.

Three threads take turns (``while turn != me: wait()``).  Bug: thread 0 finishes its turn and
``notify()`` wakes one waiter, thread 2 (it waited first); its turn has not come, it waits
again, and thread 1, whose turn it is, is never woken.  Fix: ``notify_all()``.
"""

from __future__ import annotations

import threading

from ._harness import Program, named

GRANULARITY = "sync"
SWITCH = "Condition operations"
EXPECT = "deadlock"


class Turns:
    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.turn = 0
        self.order: list[int] = []


def taker(i: int, *, wake_all: bool):
    def take_turn(t: Turns) -> None:
        with t.cond:
            while t.turn != i:
                t.cond.wait()
            t.order.append(i)
            t.turn += 1
            if wake_all:
                t.cond.notify_all()
            else:
                t.cond.notify()

    return named(take_turn, f"turn-{i}")


def check(t: Turns) -> None:
    assert t.order == [0, 1, 2], f"order = {t.order}"


BUGGY = Program(Turns, tuple(taker(i, wake_all=False) for i in range(3)), check)
FIXED = Program(Turns, tuple(taker(i, wake_all=True) for i in range(3)), check)


def buggy() -> None:
    BUGGY.run()


def fixed() -> None:
    FIXED.run()
