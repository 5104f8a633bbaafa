"""The workloads of ``bench_race.py``: ordinary threaded code, race-free, instrumented in place."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

THREADS = 4


class Point:
    def __init__(self):
        self.x = 0
        self.y = 0


def _run(fn, *args):
    ts = [threading.Thread(target=fn, args=args) for _ in range(THREADS)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()


def attributes(n: int) -> None:
    """Each thread updates its own object's attributes in a loop."""

    def work():
        p = Point()
        for _ in range(n):
            p.x = p.x + 1
            p.y += p.x

    _run(work)


def dicts(n: int) -> None:
    """Each thread counts words in its own dict."""
    words = [f"w{i}" for i in range(64)]

    def work():
        counts: dict[str, int] = {}
        for i in range(n):
            w = words[i & 63]
            counts[w] = counts.get(w, 0) + 1

    _run(work)


def shared_dicts(n: int) -> None:
    """Threads look words up in one shared table and write their own keys of a shared dict
    (read-shared and write-shared locations: the detector's slowest common case)."""
    table = {f"w{i}": i for i in range(64)}
    words = list(table)
    results: dict[int, int] = {}

    def work(me):
        total = 0
        for i in range(n):
            total += table[words[i & 63]]
            results[me] = total

    ts = [threading.Thread(target=work, args=(k,)) for k in range(THREADS)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()


def pool(n: int) -> None:
    """Small tasks through a ThreadPoolExecutor, results summed."""

    def task(i):
        p = Point()
        p.x = i
        return p.x * 2

    with ThreadPoolExecutor(THREADS) as ex:
        total = 0
        for r in ex.map(task, range(n)):
            total += r


def locks(n: int) -> None:
    """A shared counter under a lock."""
    lock = threading.Lock()
    box = Point()

    def work():
        for _ in range(n):
            with lock:
                box.x += 1

    _run(work)


def objects(n: int) -> list:
    """n objects made and written from several threads (kept alive: the memory workload)."""
    made: list = []
    lock = threading.Lock()

    def work():
        mine = [Point() for _ in range(n // THREADS)]
        for p in mine:
            p.x = 1
        with lock:
            made.extend(mine)

    _run(work)
    return made
