"""Check-then-act on a dict: ``if key not in cache: cache[key] = build()``.

Bug: both threads see the key missing and each builds and stores its own object, so they end
up holding different objects for one key (``time.sleep(0)``, the slow build, is the switch).
Fix: the check and the insert in one critical section.
"""

from __future__ import annotations

import threading
import time

from ._harness import Program

GRANULARITY = "sync"
SWITCH = "time.sleep(0) (the slow build) between the check and the insert"
EXPECT = "assertion"


class Cache:
    def __init__(self) -> None:
        self.entries: dict[str, object] = {}
        self.got: list[object] = []
        self.lock = threading.Lock()


def get(c: Cache) -> None:
    if "config" not in c.entries:
        time.sleep(0)  # building the value takes a while
        c.entries["config"] = object()
    c.got.append(c.entries["config"])


def get_locked(c: Cache) -> None:
    with c.lock:
        if "config" not in c.entries:
            time.sleep(0)
            c.entries["config"] = object()
        value = c.entries["config"]
    c.got.append(value)


def check(c: Cache) -> None:
    assert c.got[0] is c.got[1], "two threads hold two different objects for one key"


BUGGY = Program(Cache, (get, get), check)
FIXED = Program(Cache, (get_locked, get_locked), check)


def buggy() -> None:
    BUGGY.run()


def fixed() -> None:
    FIXED.run()
