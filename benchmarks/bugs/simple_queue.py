"""Check-then-act on a ``queue.SimpleQueue``: ``if not q.empty(): q.get()`` by two consumers.

Bug: a producer puts one job and two polling consumers each take a job if the queue is not
empty.  Both can see it non-empty; one takes the job and the other blocks in ``get()`` for a
job that never comes (the producer has finished): deadlock.  Fix: take without checking first
(``get_nowait()``, and ``queue.Empty`` when the other consumer got there first).
"""

from __future__ import annotations

import queue

try:
    from ._harness import Program
except ImportError:  # loaded as a file (snarl explore benchmarks/bugs/simple_queue.py::buggy)
    from _harness import Program

GRANULARITY = "sync"
SWITCH = "SimpleQueue operations (between empty() and get())"
EXPECT = "deadlock"
CLASS = "simple-queue"


class Jobs:
    def __init__(self) -> None:
        self.q: queue.SimpleQueue[str] = queue.SimpleQueue()
        self.done: list[str] = []


def producer(j: Jobs) -> None:
    j.q.put("job")


def poll(j: Jobs) -> None:
    if not j.q.empty():
        job = j.q.get()  # blocks if the other consumer took the job since empty()
        j.done.append(job)


def poll_nowait(j: Jobs) -> None:
    try:
        job = j.q.get_nowait()
    except queue.Empty:
        return
    j.done.append(job)


def check(j: Jobs) -> None:
    assert len(j.done) + j.q.qsize() == 1, f"done = {j.done}, left = {j.q.qsize()}"


BUGGY = Program(Jobs, (producer, poll, poll), check)
FIXED = Program(Jobs, (producer, poll_nowait, poll_nowait), check)


def buggy() -> None:
    BUGGY.run()


def fixed() -> None:
    FIXED.run()
