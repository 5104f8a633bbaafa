"""A bounded queue (``queue.Queue(maxsize=1)``) put while holding a lock the consumer needs.

Bug: the producer blocks in ``put()`` on a full queue while holding ``lock``; the consumer,
which would make room, first needs ``lock`` to record the item it took: neither goes on.  Fix:
put outside the lock (the lock guards only the producer's bookkeeping).
"""

from __future__ import annotations

import queue
import threading

from ._harness import Program

GRANULARITY = "sync"
SWITCH = "lock and queue operations"
EXPECT = "deadlock"
ITEMS = 3


class Pipe:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.q: queue.Queue[int] = queue.Queue(maxsize=1)
        self.sent = 0
        self.log: list[int] = []


def producer_locked(p: Pipe) -> None:
    for i in range(ITEMS):
        with p.lock:
            p.sent += 1
            p.q.put(i)  # blocks while the queue is full, holding the lock


def producer(p: Pipe) -> None:
    for i in range(ITEMS):
        with p.lock:
            p.sent += 1
        p.q.put(i)


def consumer(p: Pipe) -> None:
    for _ in range(ITEMS):
        item = p.q.get()
        with p.lock:
            p.log.append(item)


def check(p: Pipe) -> None:
    assert p.log == list(range(ITEMS)) and p.sent == ITEMS, f"log = {p.log}"


BUGGY = Program(Pipe, (producer_locked, consumer), check)
FIXED = Program(Pipe, (producer, consumer), check)


def buggy() -> None:
    BUGGY.run()


def fixed() -> None:
    FIXED.run()
