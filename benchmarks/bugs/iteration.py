"""A dict mutated by one thread while another iterates over it.

Bug: the writer adds a key between two iterations of the reader's loop: ``RuntimeError:
dictionary changed size during iteration``.  The switch falls inside the loop, between lines:
``"line"``.  Fix: both under one lock.
"""

from __future__ import annotations

import threading

from ._harness import Program

GRANULARITY = "line"
SWITCH = "between two iterations of the loop (a line)"
EXPECT = "exception"


class Registry:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.items = {"a": 1, "b": 2}
        self.total = 0


def total(r: Registry) -> None:
    for key in r.items:
        r.total += r.items[key]


def add(r: Registry) -> None:
    r.items["c"] = 3


def total_locked(r: Registry) -> None:
    with r.lock:
        for key in r.items:
            r.total += r.items[key]


def add_locked(r: Registry) -> None:
    with r.lock:
        r.items["c"] = 3


def check(r: Registry) -> None:
    assert r.total in (3, 6), f"total = {r.total}"


BUGGY = Program(Registry, (total, add), check)
FIXED = Program(Registry, (total_locked, add_locked), check)


def buggy() -> None:
    BUGGY.run()


def fixed() -> None:
    FIXED.run()
