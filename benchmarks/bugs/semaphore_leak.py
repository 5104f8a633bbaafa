"""A semaphore permit leaked on an exception path.

Bug: a job that fails returns from its ``except`` block without ``release()``; with
``Semaphore(1)``, a job that comes after it waits for the permit forever.  Fix: ``with sem:``
(the release in a ``finally``).
"""

from __future__ import annotations

import threading

from ._harness import Program, named

GRANULARITY = "sync"
SWITCH = "semaphore operations"
EXPECT = "deadlock"


class Pool:
    def __init__(self) -> None:
        self.sem = threading.Semaphore(1)
        self.done = 0
        self.errors = 0


def work(p: Pool, fail: bool) -> None:
    if fail:
        raise ValueError("bad input")
    p.done += 1


def leaky(fail: bool):
    def use(p: Pool) -> None:
        p.sem.acquire()
        try:
            work(p, fail)
        except ValueError:
            p.errors += 1
            return  # the permit is never given back
        p.sem.release()

    return named(use, "failing-job" if fail else "job")


def safe(fail: bool):
    def use(p: Pool) -> None:
        with p.sem:
            try:
                work(p, fail)
            except ValueError:
                p.errors += 1

    return named(use, "failing-job" if fail else "job")


def check(p: Pool) -> None:
    assert (p.done, p.errors) == (1, 1)


BUGGY = Program(Pool, (leaky(True), leaky(False)), check)
FIXED = Program(Pool, (safe(True), safe(False)), check)


def buggy() -> None:
    BUGGY.run()


def fixed() -> None:
    FIXED.run()
