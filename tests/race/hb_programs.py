"""Correctly synchronised hand-offs, one per happens-before source (and racy variants)."""

from __future__ import annotations

import queue
import threading
from concurrent.futures import ThreadPoolExecutor, as_completed, wait


class Box:
    def __init__(self):
        self.value = 0


def start_order() -> None:
    box = Box()
    box.value = 1  # initialisation before start()

    def read():
        box.value += 1

    t = threading.Thread(target=read)
    t.start()
    t.join()


def join_order() -> int:
    box = Box()

    def write():
        box.value = 2

    t = threading.Thread(target=write)
    t.start()
    t.join()
    return box.value  # read after join()


def no_join() -> None:
    box = Box()
    done = []

    def write():
        box.value = 2
        done.append(1)

    t = threading.Thread(target=write)
    t.start()
    while not done:  # spins until written, but nothing orders the two accesses
        pass
    _ = box.value
    t.join()


def rlock() -> None:
    box = Box()
    lock = threading.RLock()

    def bump():
        with lock, lock:
            box.value += 1

    _pair(bump, bump)


def condition() -> None:
    box = Box()
    cond = threading.Condition()
    ready = []

    def produce():
        box.value = 5
        with cond:
            ready.append(True)
            cond.notify()

    def consume():
        with cond:
            cond.wait_for(lambda: ready)
        box.value += 1

    _pair(consume, produce)


def semaphore() -> None:
    box = Box()
    sem = threading.Semaphore(0)

    def produce():
        box.value = 5
        sem.release()

    def consume():
        sem.acquire()
        box.value += 1

    _pair(consume, produce)


def event() -> None:
    box = Box()
    ev = threading.Event()

    def produce():
        box.value = 5
        ev.set()

    def consume():
        ev.wait()
        box.value += 1

    _pair(consume, produce)


def barrier() -> None:
    slots = [0, 0]
    bar = threading.Barrier(2)

    def phase(me: int):
        slots[me] = me + 1  # phase 1: each writes its own slot
        bar.wait()
        return slots[1 - me]  # phase 2: reads the other's

    _pair(lambda: phase(0), lambda: phase(1))


def queue_handoff(kind: str) -> None:
    q = getattr(queue, kind)()

    def produce():
        box = Box()
        box.value = 1
        q.put((1, box) if kind == "PriorityQueue" else box)

    def consume():
        item = q.get()
        box = item[1] if kind == "PriorityQueue" else item
        box.value += 1  # only the receiver mutates it now

    _pair(consume, produce)


def future_result() -> int:
    box = Box()

    def work():
        box.value = 3
        return 1

    with ThreadPoolExecutor(2) as ex:
        fut = ex.submit(work)
        fut.result()
        return box.value


def future_as_completed() -> int:
    boxes = [Box(), Box()]

    def work(b):
        b.value = 3

    with ThreadPoolExecutor(2) as ex:
        futs = [ex.submit(work, b) for b in boxes]
        for _ in as_completed(futs):
            pass
        return sum(b.value for b in boxes)


def future_wait() -> int:
    box = Box()

    def work():
        box.value = 3

    with ThreadPoolExecutor(1) as ex:
        wait([ex.submit(work)])
        return box.value


def submit_order() -> None:
    box = Box()

    def work():
        box.value += 1

    with ThreadPoolExecutor(1) as ex:
        ex.submit(int).result()  # the worker thread exists before the write below
        box.value = 7  # before submit: the task sees it
        ex.submit(work)


def timer_start() -> None:
    box = Box()
    box.value = 1

    def fire():
        box.value += 1

    t = threading.Timer(0.0, fire)
    t.start()
    t.join()


def _pair(first, second) -> None:
    ts = [threading.Thread(target=first, name="first"),
          threading.Thread(target=second, name="second")]  # fmt: skip
    for t in ts:
        t.start()
    for t in ts:
        t.join()


def consumers_of_one_queue() -> None:
    """Two consumers take turns at the queue's mutex; that orders nothing between them."""
    q = queue.Queue()
    tally = Box()
    for i in range(4):
        q.put(i)

    def consume():
        for _ in range(2):
            q.get()
            tally.value += 1

    _pair(consume, consume)


def waiters_of_one_event() -> None:
    """Two waiters of one Event are ordered after set(), not after each other."""
    ev = threading.Event()
    ev.set()
    box = Box()

    def waiter():
        ev.wait()
        box.value += 1

    _pair(waiter, waiter)


def sender_mutates_after_put() -> None:
    """After the hand-off only the receiver may touch the job; later puts do not order it."""
    q = queue.Queue()

    def worker():
        while (item := q.get()) is not None:
            item.value = 2

    t = threading.Thread(target=worker)
    t.start()
    job = Box()
    q.put(job)
    job.value = 1  # after the hand-off
    q.put(None)
    t.join()


def lock_released_by_another_thread() -> int:
    """A Lock used as a binary semaphore: taken by one thread, released by another."""
    box = Box()
    gate = threading.Lock()
    gate.acquire()

    def open_gate():
        box.value = 1
        gate.release()

    t = threading.Thread(target=open_gate)
    t.start()
    gate.acquire()  # waits for open_gate's release
    value = box.value
    gate.release()
    t.join()
    return value


def counter_under(lock, rlock) -> int:
    """Two threads add to a counter under ``lock``, then under ``rlock`` (both made by the
    caller, before detection began)."""
    box = {"n": 0, "m": 0}

    def add():
        with lock:
            box["n"] += 1
        with rlock:
            box["m"] += 1

    _pair(add, add)
    return box["n"] + box["m"]


def future_wait_completions_in_turn() -> int:
    """``wait()`` entered before either task is done; the tasks then finish one after the
    other (a helper thread opens their gates in turn, seeing from the futures' state when to).
    Every task's writes happen before ``wait()`` returns, not only the last one's."""
    import time

    first, second = Box(), Box()
    gate1, gate2 = threading.Event(), threading.Event()

    def task(box, gate):
        gate.wait()
        box.value = 1

    with ThreadPoolExecutor(2) as ex:
        fa = ex.submit(task, first, gate1)
        fb = ex.submit(task, second, gate2)

        def opener():
            while not fa._waiters:  # wait() has put its waiter on the futures
                time.sleep(0.001)
            gate1.set()
            while not fa.done():
                time.sleep(0.001)
            gate2.set()

        t = threading.Thread(target=opener)
        t.start()
        wait([fa, fb])
        t.join()
        return first.value + second.value
