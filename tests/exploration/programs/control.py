"""Programs whose primitives are made before the exploration: at import, as default
arguments, by ``_thread``, lazily in an earlier execution; and C-implemented blocking.

Imported by the tests before anything is explored, so every lock here is native (or bound
to the observer) until the explorer takes it over.
"""

from __future__ import annotations

import _thread
import functools
import logging
import queue
import threading
from concurrent.futures import ThreadPoolExecutor, as_completed, wait
from threading import Lock

A = threading.Lock()
B = Lock()  # bound by `from threading import Lock` at import
C = _thread.allocate_lock()
D = _thread.allocate_lock()
R1 = threading.RLock()
R2 = threading.RLock()
JOBS: queue.Queue[int] = queue.Queue()
SIMPLE: queue.SimpleQueue[int] = queue.SimpleQueue()


def _both(first: object, second: object) -> None:
    with first, second:  # type: ignore[attr-defined]
        pass


def _abba(x: object, y: object) -> None:
    ts = [
        threading.Thread(target=_both, args=(x, y), name="xy"),
        threading.Thread(target=_both, args=(y, x), name="yx"),
    ]
    for t in ts:
        t.start()
    for t in ts:
        t.join()


def module_abba() -> None:
    _abba(A, B)


def module_abba_ordered() -> None:
    ts = [threading.Thread(target=_both, args=(A, B)) for _ in range(2)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()


def thread_module_abba() -> None:
    _abba(C, D)


def rlock_abba() -> None:
    _abba(R1, R2)


class Account:
    """A lock made by a factory bound as a default argument at import."""

    def __init__(self, balance: int, lock_factory=threading.Lock) -> None:
        self.lock = lock_factory()
        self.balance = balance


def transfer(src: Account, dst: Account) -> None:
    with src.lock, dst.lock:
        src.balance -= 1
        dst.balance += 1


def default_argument_abba() -> None:
    a, b = Account(1), Account(1)
    ts = [threading.Thread(target=transfer, args=p) for p in ((a, b), (b, a))]
    for t in ts:
        t.start()
    for t in ts:
        t.join()


def _closure_over_locks():  # type: ignore[no-untyped-def]
    first, second = threading.Lock(), threading.Lock()

    def run() -> None:
        if first is None:
            print(unset)  # (never: the cell of ``unset`` stays empty)
        _abba(first, second)

    return run
    unset = None  # (unreachable: an empty cell in the closure)


closure_abba = _closure_over_locks()
"""Two locks made at import and held only by a closure, beside an empty cell."""

_lazy: list[object] = []


def lazy_abba() -> None:
    """Two locks made by the first execution and kept: later ones must still control them."""
    if not _lazy:
        _lazy.extend([threading.Lock(), threading.Lock()])
    _abba(_lazy[0], _lazy[1])


def module_queue_lost_item() -> None:
    """A consumer waits for two items; the producer puts one: a lost wakeup."""

    def consume() -> None:
        JOBS.get()
        JOBS.get()

    t = threading.Thread(target=consume)
    t.start()
    JOBS.put(1)
    t.join()


def simple_queue_pipeline() -> None:
    q: queue.SimpleQueue[int | None] = queue.SimpleQueue()
    out: list[int] = []

    def consume() -> None:
        while (item := q.get()) is not None:
            out.append(item)

    t = threading.Thread(target=consume)
    t.start()
    for i in range(3):
        q.put(i)
    q.put(None)
    t.join()
    assert out == [0, 1, 2]


def module_simple_queue_starved() -> None:
    """A module-level SimpleQueue (made before): the consumer waits for an item never put."""
    t = threading.Thread(target=SIMPLE.get)
    t.start()
    t.join()


def executor_round_trip() -> None:
    with ThreadPoolExecutor(2) as pool:
        futures = [pool.submit(pow, i, 2) for i in range(4)]
        assert sorted(f.result() for f in as_completed(futures)) == [0, 1, 4, 9]
        assert list(pool.map(abs, [-1, -2])) == [1, 2]
        wait(futures)


def executor_waits_on_itself() -> None:
    """A task of a one-thread pool waits for another task of the same pool: a deadlock."""
    with ThreadPoolExecutor(1) as pool:

        def outer() -> int:
            return pool.submit(int, 7).result() + 1

        assert pool.submit(outer).result() == 8


def executor_not_shut_down() -> None:
    """A pool left running at the end (its workers park in get): not a failure."""
    pool = ThreadPoolExecutor(2)
    assert pool.submit(pow, 3, 2).result() == 9


def daemon_parked_at_end() -> None:
    """A daemon worker still waiting for work when the test returns: normal."""
    q: queue.Queue[int] = queue.Queue()
    done: list[int] = []

    def work() -> None:
        while True:
            done.append(q.get())
            q.task_done()

    threading.Thread(target=work, daemon=True).start()
    q.put(1)
    q.join()
    assert done == [1]


def start_new_thread_lost_update() -> None:
    """Threads started with ``_thread``; a lost update between them."""
    state = {"n": 0}
    lock = threading.Lock()
    finished = threading.Semaphore(0)

    def add() -> None:
        with lock:
            n = state["n"]
        with lock:
            state["n"] = n + 1
        finished.release()

    for _ in range(2):
        _thread.start_new_thread(add, ())
    finished.acquire()
    finished.acquire()
    assert state["n"] == 2, state


def names() -> list[str]:
    """The names of the threads it starts (unnamed: numbered by threading)."""
    ts = [threading.Thread(target=int) for _ in range(2)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return [t.name for t in ts]


def non_daemon_parked_at_end() -> None:
    """A non-daemon worker left waiting when the test returns: the program would hang at
    exit, so this stays a failure."""
    q: queue.Queue[int] = queue.Queue()
    threading.Thread(target=q.get).start()


def daemons_deadlocked_at_end() -> None:
    """Daemon threads in a lock cycle when the test returns: still a deadlock."""
    ts = [threading.Thread(target=_both, args=p, daemon=True) for p in ((R1, R2), (R2, R1))]
    for t in ts:
        t.start()
    done = threading.Event()
    done.wait(1)  # returns whatever the daemons do


def _log_and_go_on(args: object) -> None:
    HANDLED.append(repr(getattr(args, "exc_value", None)))


HANDLED: list[str] = []


def handled_by_own_excepthook() -> None:
    """The program's own excepthook (installed before the test) deals with a worker's error."""
    t = threading.Thread(target=lambda: 1 / 0)
    t.start()
    t.join()


LOCAL = threading.local()


def thread_local_starts_empty() -> None:
    """Each call starts with a fresh thread-local in the calling thread (as a plain run in
    a new thread would)."""
    assert not hasattr(LOCAL, "seen"), "thread-local state from an earlier execution"
    LOCAL.seen = True


FLAG = [False]


def spin_wait() -> None:
    """The main thread spins on a flag another thread sets: no synchronisation operation in
    the loop, so at "sync" it never yields."""
    FLAG[0] = False

    def setter() -> None:
        FLAG[0] = True

    t = threading.Thread(target=setter, name="setter")
    t.start()
    while not FLAG[0]:
        pass
    t.join()


def blocked_in_io() -> None:
    """A worker blocks in a real socket read nobody will answer."""
    import socket

    a, b = socket.socketpair()
    try:

        def reader() -> None:
            a.recv(10)

        t = threading.Thread(target=reader, name="reader")
        t.start()
        t.join()
    finally:
        b.close()


class Config:
    """A class with a cached_property (3.10, 3.11: guarded by an RLock made at class creation)
    and a logging handler made at import (its lock too)."""

    @functools.cached_property
    def value(self) -> int:
        return 42


HANDLER = logging.StreamHandler()


def stdlib_locks_seen() -> list[str]:
    """The types of the stdlib locks made before the exploration, as the test sees them."""
    found = [type(HANDLER.lock).__module__]
    prop_lock = getattr(Config.__dict__["value"], "lock", None)
    if prop_lock is not None:
        found.append(type(prop_lock).__module__)
    return found
