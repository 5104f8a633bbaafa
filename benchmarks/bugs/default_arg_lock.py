"""Lost wakeup in a countdown latch whose lock and Condition classes are default arguments.

``Latch(count, lock_factory=threading.Lock, condition_cls=threading.Condition)``, the shape of
readerwriterlock's ``lock_factory`` and fasteners' ``condition_cls``: the defaults are the
classes ``threading`` had when this module was imported, so replacing ``threading.Lock`` or
``threading.Condition`` later does not reach the latch's lock and Condition.

Bug: ``wait()`` checks the count before it takes the Condition's lock; if ``count_down()``
runs between the check and the ``wait()``, its ``notify_all()`` wakes no one and the waiter
waits forever.  Fix: check the count under the lock, in a loop (``wait_for``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

try:
    from ._harness import Program
except ImportError:  # loaded as a file (snarl explore benchmarks/bugs/default_arg_lock.py::buggy)
    from _harness import Program

GRANULARITY = "sync"
SWITCH = "the Condition's lock acquire after the unlocked check"
EXPECT = "deadlock"
CLASS = "default-arg-lock"


class Latch:
    """Opens once ``count_down()`` has been called ``count`` times."""

    def __init__(
        self,
        count: int,
        lock_factory: Callable[[], Any] = threading.Lock,
        condition_cls: Callable[[Any], threading.Condition] = threading.Condition,
    ) -> None:
        self._count = count
        self._cond = condition_cls(lock_factory())

    def count_down(self) -> None:
        with self._cond:
            self._count -= 1
            if self._count <= 0:
                self._cond.notify_all()

    def wait(self) -> None:
        if self._count > 0:  # checked without the lock
            with self._cond:
                self._cond.wait()


class CheckedLatch(Latch):
    def wait(self) -> None:
        with self._cond:
            self._cond.wait_for(lambda: self._count <= 0)


class Startup:
    def __init__(self, latch: Latch) -> None:
        self.latch = latch
        self.config: dict[str, int] | None = None
        self.seen: dict[str, int] | None = None


def waiter(s: Startup) -> None:
    s.latch.wait()
    s.seen = s.config


def starter(s: Startup) -> None:
    s.config = {"workers": 4}
    s.latch.count_down()


def check(s: Startup) -> None:
    assert s.seen == {"workers": 4}, f"seen = {s.seen}"


BUGGY = Program(lambda: Startup(Latch(1)), (waiter, starter), check)
FIXED = Program(lambda: Startup(CheckedLatch(1)), (waiter, starter), check)


def buggy() -> None:
    BUGGY.run()


def fixed() -> None:
    FIXED.run()
