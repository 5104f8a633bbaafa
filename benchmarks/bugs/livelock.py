"""A livelock: two threads each politely wait, yielding with ``sleep(0)``, for the other.

Bug: each raises its flag, then spins (``while other wants in: sleep(0)``) until the other's
flag drops; once both flags are up neither ever drops: both spin forever (the ``sleep(0)``
after raising the flag is where the GIL may change hands).  Fix: Peterson's tie-breaker (a
``turn`` variable: the thread that wrote ``turn`` last waits), which lets exactly one go.
"""

from __future__ import annotations

import time

from ._harness import Program, named

GRANULARITY = "sync"
SWITCH = "time.sleep(0) after raising the flag, and in the spin"
EXPECT = "livelock"


class Flags:
    def __init__(self) -> None:
        self.wants = [False, False]
        self.turn = 0
        self.inside = 0


def polite(me: int):
    other = 1 - me

    def enter(f: Flags) -> None:
        f.wants[me] = True
        time.sleep(0)
        while f.wants[other]:  # after you
            time.sleep(0)
        f.inside += 1
        f.wants[me] = False

    return named(enter, f"polite-{me}")


def peterson(me: int):
    other = 1 - me

    def enter(f: Flags) -> None:
        f.wants[me] = True
        f.turn = other
        time.sleep(0)
        while f.wants[other] and f.turn == other:
            time.sleep(0)
        f.inside += 1
        f.wants[me] = False

    return named(enter, f"peterson-{me}")


def check(f: Flags) -> None:
    assert f.inside == 2


BUGGY = Program(Flags, (polite(0), polite(1)), check)
FIXED = Program(Flags, (peterson(0), peterson(1)), check)


def buggy() -> None:
    BUGGY.run()


def fixed() -> None:
    FIXED.run()
