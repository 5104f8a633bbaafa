"""An Event cleared too early: ``set()`` then ``clear()`` at once (a "pulse").

Bug: a waiter that reaches ``wait()`` after the ``clear()`` has missed the pulse and waits
forever.  Fix: leave the event set; the waiter clears it once it has seen it.
"""

from __future__ import annotations

import threading

from ._harness import Program

GRANULARITY = "sync"
SWITCH = "Event operations"
EXPECT = "deadlock"


class Doorbell:
    def __init__(self) -> None:
        self.event = threading.Event()
        self.woke = 0


def ring_pulse(d: Doorbell) -> None:
    d.event.set()
    d.event.clear()


def ring(d: Doorbell) -> None:
    d.event.set()


def wait(d: Doorbell) -> None:
    d.event.wait()
    d.woke += 1


def wait_and_clear(d: Doorbell) -> None:
    d.event.wait()
    d.event.clear()
    d.woke += 1


def check(d: Doorbell) -> None:
    assert d.woke == 1


BUGGY = Program(Doorbell, (wait, ring_pulse), check)
FIXED = Program(Doorbell, (wait_and_clear, ring), check)


def buggy() -> None:
    BUGGY.run()


def fixed() -> None:
    FIXED.run()
