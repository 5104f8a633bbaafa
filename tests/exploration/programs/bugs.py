"""Small threaded tests with known bugs (and fixed twins), explored by the tests."""

from __future__ import annotations

import threading
import time


def abba() -> None:
    lock_a = threading.Lock()
    lock_b = threading.Lock()

    def one() -> None:
        with lock_a, lock_b:
            pass

    def two() -> None:
        with lock_b, lock_a:
            pass

    t1 = threading.Thread(target=one, name="one")
    t2 = threading.Thread(target=two, name="two")
    t1.start()
    t2.start()
    t1.join()
    t2.join()


def ordered() -> None:  # abba's fixed twin: one global order
    lock_a = threading.Lock()
    lock_b = threading.Lock()

    def worker() -> None:
        with lock_a, lock_b:
            pass

    threads = [threading.Thread(target=worker, name=f"w{i}") for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


class Box:
    value = 0


def lost_update() -> None:
    box = Box()

    def add() -> None:
        for _ in range(2):
            seen = box.value
            time.sleep(0)  # a switch point between the read and the write
            box.value = seen + 1

    threads = [threading.Thread(target=add, name=f"add-{i}") for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert box.value == 4, f"lost an update: {box.value}"


def locked_update() -> None:  # lost_update's fixed twin
    box = Box()
    lock = threading.Lock()

    def add() -> None:
        for _ in range(2):
            with lock:
                seen = box.value
                time.sleep(0)
                box.value = seen + 1

    threads = [threading.Thread(target=add, name=f"add-{i}") for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert box.value == 4, f"lost an update: {box.value}"


def racy_increment() -> None:  # a race only preemption between lines can show
    box = Box()

    def add() -> None:
        seen = box.value
        box.value = seen + 1

    threads = [threading.Thread(target=add, name=f"add-{i}") for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert box.value == 2, f"lost an update: {box.value}"


def note(value: int) -> int:
    return value


def racy_call() -> None:  # racy_increment with a call between the read and the write
    box = Box()

    def add() -> None:
        seen = note(box.value)
        box.value = note(seen + 1)

    threads = [threading.Thread(target=add, name=f"add-{i}") for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert box.value == 2, f"lost an update: {box.value}"


def lost_wakeup() -> None:
    cond = threading.Condition()

    def consumer() -> None:
        with cond:
            cond.wait()  # no predicate: a notify that came first is lost

    def producer() -> None:
        with cond:
            cond.notify()

    c = threading.Thread(target=consumer, name="consumer")
    p = threading.Thread(target=producer, name="producer")
    c.start()
    p.start()
    c.join()
    p.join()


def predicate_wakeup() -> None:  # lost_wakeup's fixed twin: a predicate, in a loop
    cond = threading.Condition()
    ready: list[int] = []

    def consumer() -> None:
        with cond:
            while not ready:
                cond.wait()

    def producer() -> None:
        with cond:
            ready.append(1)
            cond.notify()

    c = threading.Thread(target=consumer, name="consumer")
    p = threading.Thread(target=producer, name="producer")
    c.start()
    p.start()
    c.join()
    p.join()


def spin() -> None:
    flag = []

    def waiter() -> None:
        while not flag:  # nobody ever sets it
            time.sleep(0)

    t = threading.Thread(target=waiter, name="spinner")
    t.start()
    t.join()


def spin_until_set() -> None:  # spin's fixed twin: someone sets the flag
    flag: list[int] = []

    def waiter() -> None:
        while not flag:
            time.sleep(0)  # a yield: the setter gets to run

    def setter() -> None:
        flag.append(1)

    threads = [
        threading.Thread(target=waiter, name="spinner"),
        threading.Thread(target=setter, name="setter"),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def sleepy() -> None:
    """Sleeps and times out on the virtual clock; records what it saw."""
    cond = threading.Condition()
    start = time.monotonic()
    time.sleep(10)
    slept = time.monotonic() - start
    with cond:
        notified = cond.wait(5)
    waited = time.monotonic() - start - slept
    SEEN.append((slept, notified, waited))


SEEN: list[tuple[float, bool, float]] = []
