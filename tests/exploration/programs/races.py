"""Data races on plain state, with no synchronisation operation between the accesses: found
by the default granularity ("auto"), never at "sync"."""

from __future__ import annotations

import os
import sys
import threading

hits = 0
_instance: object | None = None
made: list[object] = []


def _run(*targets: object) -> None:
    ts = [threading.Thread(target=t) for t in targets]  # type: ignore[arg-type]
    for t in ts:
        t.start()
    for t in ts:
        t.join()


def global_increment() -> None:
    global hits
    hits = 0

    def add() -> None:
        global hits
        hits += 1

    _run(add, add)
    assert hits == 2, f"lost an update: {hits}"


def check_then_create() -> None:
    global _instance
    _instance = None
    made.clear()

    def get() -> None:
        global _instance
        if _instance is None:
            _instance = object()
            made.append(_instance)

    _run(get, get)
    assert len(made) == 1, f"{len(made)} instances"


class Pair:
    def __init__(self) -> None:
        self.x = 0
        self.y = 0


def torn_pair() -> None:
    p = Pair()
    seen: list[tuple[int, int]] = []

    def write() -> None:
        p.x = 1
        p.y = 1

    def read() -> None:
        seen.append((p.x, p.y))

    _run(write, read)
    assert seen[0] in ((0, 0), (1, 1)), f"torn read {seen[0]}"


def dict_iteration() -> None:
    d = {i: i for i in range(3)}

    def insert() -> None:
        d[10] = 10

    def total() -> None:
        sum(v for v in d.values())

    _run(total, insert)


def locked_increment() -> None:
    """The fixed twin: the increment under a lock."""
    global hits
    hits = 0
    lock = threading.Lock()

    def add() -> None:
        global hits
        with lock:
            hits += 1

    _run(add, add)
    assert hits == 2


sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "site-packages"))
from ratelimit import Limiter  # noqa: E402


def library_over_admits() -> None:
    limiter = Limiter(1)
    admitted: list[bool] = []
    _run(lambda: admitted.append(limiter.admit()), lambda: admitted.append(limiter.admit()))
    assert admitted.count(True) == 1, f"admitted {admitted.count(True)} with one token"


def nonlocal_under_a_lock() -> None:
    """Two withdrawals from a closure variable, each under a lock: never loses one (3.10's
    tracing writes a frame's cells back after its trace function; see granularity)."""
    balance = 100
    lock = threading.Lock()

    def withdraw(amount: int) -> None:
        nonlocal balance
        with lock:
            current = balance
            balance = current - amount

    _run(lambda: withdraw(10), lambda: withdraw(20))
    assert balance == 70, f"balance {balance}"
