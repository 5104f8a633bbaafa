"""Tests for ``snarl explore --races``: racy ones whose assertions always pass, and their
synchronised twins (a lock, a Queue hand-off, an Event, a join, a Future, a Condition), which
must never be reported."""

from __future__ import annotations

import queue
import threading
import time
from concurrent.futures import ThreadPoolExecutor, wait


class Account:
    def __init__(self) -> None:
        self.balance = 0


def _both(*targets: object) -> None:
    threads = [threading.Thread(target=t) for t in targets]  # type: ignore[arg-type]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def unlocked_deposits() -> None:
    """Two deposits with no lock: a lost update is possible, the assertion still passes."""
    account = Account()

    def deposit() -> None:
        account.balance = account.balance + 1

    _both(deposit, deposit)
    assert account.balance >= 1


def locked_deposits() -> None:
    """The twin: the same deposits under one lock."""
    account = Account()
    lock = threading.Lock()

    def deposit() -> None:
        with lock:
            account.balance = account.balance + 1

    _both(deposit, deposit)
    assert account.balance == 2


def queue_handoff() -> None:
    """A dict made and filled by one thread, handed over through a Queue, then changed only by
    the receiver."""
    q: queue.Queue[dict[str, int]] = queue.Queue()

    def producer() -> None:
        item = {"n": 0}
        item["n"] = 1
        q.put(item)

    def consumer() -> None:
        item = q.get()
        item["n"] += 1

    _both(producer, consumer)


def event_publish() -> None:
    """A value written, then an Event set; read once the Event is seen set."""
    box = Account()
    ready = threading.Event()

    def writer() -> None:
        box.balance = 42
        ready.set()

    def reader() -> None:
        ready.wait()
        assert box.balance == 42

    _both(writer, reader)


def read_after_join() -> None:
    """Written before start() and by the thread; read after its join()."""
    box = Account()
    box.balance = 1

    def writer() -> None:
        box.balance = box.balance + 6

    t = threading.Thread(target=writer)
    t.start()
    t.join()
    assert box.balance == 7


def future_result() -> None:
    """State written before ``submit``, changed by the task, read once its Future's result is
    in (before the pool is shut down: no join orders it)."""
    box = Account()

    def compute() -> int:
        box.balance = box.balance + 4
        return 1

    with ThreadPoolExecutor(max_workers=1) as pool:
        box.balance = 1
        assert pool.submit(compute).result() == 1
        assert box.balance == 5
        assert pool.submit(compute).result() == 1
        assert box.balance == 9


def futures_wait() -> None:
    """Two tasks in a pool, read once ``concurrent.futures.wait`` says both are done (before
    the pool's shutdown: only the futures order it)."""
    boxes = [Account(), Account()]

    def work(box: Account) -> None:
        box.balance = box.balance + 1

    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = [pool.submit(work, box) for box in boxes]
        wait(futures)
        assert sum(box.balance for box in boxes) == 2


def condition_handoff() -> None:
    """A value handed over under a Condition."""
    box = Account()
    cond = threading.Condition()

    def writer() -> None:
        with cond:
            box.balance = 3
            cond.notify()

    def reader() -> None:
        with cond:
            while box.balance == 0:
                cond.wait()
        assert box.balance == 3

    _both(reader, writer)


hits = 0


def unlocked_global() -> None:
    """``hits += 1`` on a module global from two threads, and only a lenient assertion."""
    global hits
    hits = 0

    def hit() -> None:
        global hits
        hits += 1

    _both(hit, hit)
    assert hits >= 1


def semaphore_handoff() -> None:
    """A value published by a Semaphore's release, read after acquiring it."""
    box = Account()
    sem = threading.Semaphore(0)

    def writer() -> None:
        box.balance = 9
        sem.release()

    def reader() -> None:
        sem.acquire()
        assert box.balance == 9

    _both(reader, writer)


def barrier_phases() -> None:
    """Each thread writes its own slot, the Barrier is passed, then each reads the other's."""
    slots = [0, 0]
    barrier = threading.Barrier(2)

    def party(i: int) -> None:
        slots[i] = i + 1
        barrier.wait()
        assert slots[1 - i] == 2 - i

    _both(lambda: party(0), lambda: party(1))


def one_after_another() -> None:
    """Two threads writing the same attribute, the second started only after the first was
    joined (on 3.10-3.12 the second usually runs on the first one's kept OS thread)."""
    box = Account()

    def add() -> None:
        box.balance = box.balance + 1

    for _ in range(2):
        t = threading.Thread(target=add)
        t.start()
        t.join()
    assert box.balance == 2


def sometimes_racy() -> None:
    """The reader writes only if it looks before the writer published: a race in the
    schedules where the reader goes first, none in the others."""
    box = Account()
    ready = threading.Event()

    def writer() -> None:
        box.balance = 1
        ready.set()

    def reader() -> None:
        if not ready.is_set():
            box.balance = 2

    _both(writer, reader)


idents: list[int] = []


def racy_on_one_os_thread() -> None:
    """The second thread starts once the first has ended (seen with ``is_alive()``, which
    orders nothing), so on 3.10-3.12 it runs on the first one's kept OS thread: the two must
    still be two threads for the detector, and their writes race."""
    box = Account()
    idents.clear()

    def add() -> None:
        idents.append(threading.get_ident())
        box.balance = box.balance + 1

    first = threading.Thread(target=add)
    first.start()
    while first.is_alive():
        time.sleep(0)
    second = threading.Thread(target=add)
    second.start()
    second.join()
    first.join()
