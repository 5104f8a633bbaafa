"""A try-lock whose failure branch gives up: ``if not lock.acquire(timeout=0): return``.

Bug: each thread queues an item and flushes the queue unless another thread is flushing
("it will write ours too").  The other flusher may already have seen the queue empty and be
about to release the lock: the item is never written.  Nothing synchronises inside the
critical section, so the switch falls between its lines: ``"line"``.  Fix: a flusher looks
at the queue again after releasing the lock, and flushes again if something came in
meanwhile (still a try-lock).
"""

from __future__ import annotations

import threading
from collections import deque

try:
    from ._harness import Program, named
except ImportError:  # loaded as a file (snarl explore benchmarks/bugs/try_lock.py::buggy)
    from _harness import Program, named

GRANULARITY = "line"
SWITCH = "a line in the flusher's critical section, after its last look at the queue"
EXPECT = "assertion"
CLASS = "try-lock"


class Batcher:
    """Items added from many threads, written in batches by whichever thread gets the lock."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.pending: deque[int] = deque()
        self.written: list[int] = []

    def _drain(self) -> None:
        while self.pending:
            self.written.append(self.pending.popleft())

    def flush(self) -> None:
        if not self.lock.acquire(timeout=0):
            return  # someone else is flushing: it will write ours too (not if it is done)
        try:
            self._drain()
        finally:
            self.lock.release()

    def flush_recheck(self) -> None:
        while self.pending and self.lock.acquire(timeout=0):
            try:
                self._drain()
            finally:
                self.lock.release()  # then look again: an item may have come in meanwhile


def adder(item: int, recheck: bool):
    def add(b: Batcher) -> None:
        b.pending.append(item)
        if recheck:
            b.flush_recheck()
        else:
            b.flush()

    return named(add, f"add-{item}")


def check(b: Batcher) -> None:
    assert sorted(b.written) == [0, 1], f"written = {b.written}, pending = {list(b.pending)}"


BUGGY = Program(Batcher, (adder(0, False), adder(1, False)), check)
FIXED = Program(Batcher, (adder(0, True), adder(1, True)), check)


def buggy() -> None:
    BUGGY.run()


def fixed() -> None:
    FIXED.run()
