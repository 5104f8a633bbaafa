"""Programs whose reports the tests read (line numbers matter only relative to markers)."""

from __future__ import annotations

import threading


class Counter:
    def __init__(self):
        self.n = 0


def locked_by_different_locks() -> None:
    c = Counter()
    lock_a = threading.Lock()
    lock_b = threading.Lock()

    def one():
        with lock_a:
            c.n += 1  # MARK-A

    def two():
        with lock_b:
            c.n += 1  # MARK-B

    _start_join(one, two)


def many_times(objects: int) -> None:
    counters = [Counter() for _ in range(objects)]

    def bump():
        for c in counters:
            c.n += 1

    _start_join(bump, bump)


def ignored() -> None:
    c = Counter()

    def bump():
        c.n += 1  # snarl: ignore-race

    _start_join(bump, bump)


def hundred_threads() -> int:
    c = Counter()
    lock = threading.Lock()
    own = [Counter() for _ in range(100)]

    def bump(i):
        own[i].n += 1  # each thread's own object: no race
        with lock:
            c.n += 1

    ts = [threading.Thread(target=bump, args=(i,)) for i in range(100)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return c.n


def churn(count: int) -> None:
    """Objects made, shared and freed while the run goes on."""

    def work():
        for _ in range(count):
            c = Counter()
            c.n = 1
            d = {"k": 1}
            d["k"] = 2

    _start_join(work, work)


def _start_join(*fns) -> None:
    ts = [threading.Thread(target=fn, name=f"worker-{i}") for i, fn in enumerate(fns, 1)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()


def _inner(c):
    c.n += 1


def _outer(c):
    _inner(c)


def nested_calls() -> None:
    c = Counter()
    _start_join(lambda: _outer(c), lambda: _outer(c))
