"""Timed waits: each may time out at any point the scheduler chooses."""

from __future__ import annotations

import queue
import threading
import time


def try_lock_skips_work() -> None:
    """A try-lock whose failure branch drops the work (fails when the other holds it)."""
    lock = threading.Lock()
    done: list[int] = []

    def work(i: int) -> None:
        if lock.acquire(timeout=0):
            try:
                done.append(i)
                time.sleep(0)  # (a switch point inside the critical section, at sync)
            finally:
                lock.release()

    ts = [threading.Thread(target=work, args=(i,)) for i in range(2)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert len(done) == 2, f"work dropped: {done}"


def non_blocking_try_lock() -> None:
    """As above with ``acquire(blocking=False)``."""
    lock = threading.Lock()
    done: list[int] = []

    def work(i: int) -> None:
        if lock.acquire(blocking=False):
            done.append(i)
            time.sleep(0)
            lock.release()

    ts = [threading.Thread(target=work, args=(i,)) for i in range(2)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert len(done) == 2, f"work dropped: {done}"


def sleep_as_synchronisation() -> None:
    """The main thread sleeps "long enough" for the worker to initialise: not a guarantee."""
    box: dict[str, int] = {}

    def init() -> None:
        time.sleep(0.01)
        box["v"] = 1

    t = threading.Thread(target=init)
    t.start()
    time.sleep(0.5)
    assert box.get("v") == 1, "used before it was initialised"
    t.join()


def event_wait_times_out() -> None:
    ready = threading.Event()
    t = threading.Thread(target=ready.set)
    t.start()
    assert ready.wait(5), "gave up waiting"
    t.join()


def queue_get_times_out() -> None:
    q: queue.Queue[int] = queue.Queue()
    t = threading.Thread(target=q.put, args=(1,))
    t.start()
    assert q.get(timeout=5) == 1  # queue.Empty when the timeout fires first
    t.join()


def condition_wait_times_out() -> None:
    cond = threading.Condition()
    state = {"ready": False}

    def make_ready() -> None:
        with cond:
            state["ready"] = True
            cond.notify()

    t = threading.Thread(target=make_ready)
    t.start()
    with cond:
        assert cond.wait_for(lambda: state["ready"], timeout=5), "gave up waiting"
    t.join()


def polling_worker() -> None:
    """A worker polls a queue with a timeout until told to stop: correct, and never starved
    into a livelock by its own timeouts."""
    q: queue.Queue[int] = queue.Queue()
    stop = threading.Event()
    got: list[int] = []

    def poll() -> None:
        while not stop.is_set():
            try:
                got.append(q.get(timeout=0.1))
            except queue.Empty:
                continue

    t = threading.Thread(target=poll)
    t.start()
    for i in range(3):
        q.put(i)
    while len(got) < 3:
        time.sleep(0.05)
    stop.set()
    t.join()
    assert got == [0, 1, 2]


def clock_is_consistent() -> None:
    """Every wait lasts at least its timeout, a sleep at least its length, and the clock
    never goes back, in any thread, whenever the scheduler fires the timeouts."""
    start = time.monotonic()
    seen: list[float] = []

    def sleeper() -> None:
        before = time.monotonic()
        time.sleep(1)
        after = time.monotonic()
        assert after - before >= 1, (before, after)
        seen.append(after)

    t = threading.Thread(target=sleeper)
    t.start()
    never = threading.Event()
    before = time.monotonic()
    assert not never.wait(5)
    after = time.monotonic()
    assert after - before >= 5 and before >= start, (start, before, after)
    seen.append(after)
    t.join()
    assert time.monotonic() >= max(seen)
