"""Small threaded programs the race tests run under the detector (instrumented in place).

Each function starts its threads and joins them; ``synced`` chooses the correctly synchronised
twin.  None relies on timing: the detector orders accesses by happens-before, not by when they
ran, so a race is found in every run and a twin is clean in every run.
"""

from __future__ import annotations

import threading
from collections import deque


def both(*fns, names=("A", "B")):
    """Run each function in its own thread, started together, then join them all."""
    ts = [threading.Thread(target=fn, name=name) for fn, name in zip(fns, names, strict=False)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()


class Account:
    rate = 1

    def __init__(self):
        self.balance = 0


def attribute(synced: bool) -> int:
    acct = Account()
    lock = threading.Lock()

    def deposit():
        if synced:
            with lock:
                acct.balance += 1
        else:
            acct.balance += 1

    both(deposit, deposit)
    return acct.balance


def class_attribute(synced: bool) -> None:
    lock = threading.Lock()

    def bump():
        with lock if synced else _nothing():
            Account.rate = Account.rate + 1

    both(bump, bump)


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *a):
        return False


hits = 0


def module_global(synced: bool) -> None:
    lock = threading.Lock()

    def hit():
        global hits
        with lock if synced else _nothing():
            hits += 1

    both(hit, hit)


def closure_cell(synced: bool) -> int:
    total = 0
    lock = threading.Lock()

    def add():
        nonlocal total
        with lock if synced else _nothing():
            total += 1

    both(add, add)
    return total


def dict_value(synced: bool) -> None:
    d = {"k": 0}
    lock = threading.Lock()

    def write():
        with lock if synced else _nothing():
            d["k"] = d["k"] + 1

    both(write, write)


def dict_check_then_act(synced: bool) -> None:
    cache: dict[str, int] = {}
    lock = threading.Lock()

    def fill():
        with lock if synced else _nothing():
            if "x" not in cache:
                cache["x"] = 1

    both(fill, fill)


def dict_distinct_keys() -> None:
    d: dict[str, int] = {}

    def a():
        d["a"] = 1

    def b():
        d["b"] = 2

    both(a, b)


def list_element(synced: bool) -> None:
    items = [0, 0]
    lock = threading.Lock()

    def write():
        with lock if synced else _nothing():
            items[1] = items[1] + 1

    both(write, write)


def bytearray_element() -> None:
    buf = bytearray(4)

    def write():
        buf[0] = buf[0] + 1

    both(write, write)


def deque_element() -> None:
    dq = deque([0, 0])

    def write():
        dq[-1] = 5

    both(write, write)


def two_appends() -> None:
    items: list[int] = []

    def add():
        items.append(1)

    both(add, add)


def iterate_vs_append(synced: bool) -> None:
    items = [1, 2, 3]
    lock = threading.Lock()

    def reader():
        with lock if synced else _nothing():
            for _ in items:
                pass

    def writer():
        with lock if synced else _nothing():
            items.append(4)

    both(reader, writer)


def len_vs_pop() -> None:
    items = [1, 2, 3]

    def reader():
        return len(items)

    def writer():
        items.pop()

    both(reader, writer)


def set_membership_vs_add() -> None:
    seen: set[int] = set()

    def reader():
        return 1 in seen

    def writer():
        seen.add(1)

    both(reader, writer)


def generator_execution(synced: bool) -> None:
    gen = (i for i in range(10))
    lock = threading.Lock()

    def pull():
        with lock if synced else _nothing():
            next(gen)

    both(pull, pull)


def thread_local() -> None:
    local = threading.local()

    def use():
        local.x = 1
        local.x += 1

    both(use, use)


def immutable_tuple() -> None:
    shared = (1, 2, 3)

    def read():
        return shared[0] + len(shared)

    both(read, read)


def reads_only() -> None:
    acct = Account()

    def read():
        return acct.balance

    both(read, read, read, names=("A", "B", "C"))


def read_then_insert_vs_insert() -> None:
    """A reads the structure and inserts; B inserts: A's read races with B's insert (the
    structure's writes do not conflict with each other, so A's own insert must not hide it)."""
    seen: set[int] = set()

    def a():
        if 1 not in seen:
            seen.add(1)

    def b():
        seen.add(2)

    both(a, b)


def read_then_write_around_another(other_writes: bool) -> None:
    """A reads ``acct.balance``, then B writes (or reads) it, then A writes it: A's write must
    be checked against B's access, although A read the location just before.  The three
    steps are sequenced with raw ``_thread`` locks, which give the detector no order."""
    import _thread

    acct = Account()
    a_read, b_done = _thread.allocate_lock(), _thread.allocate_lock()
    a_read.acquire()
    b_done.acquire()

    def a():
        seen = acct.balance
        a_read.release()
        b_done.acquire()
        acct.balance = seen + 1

    def b():
        a_read.acquire()
        if other_writes:
            acct.balance = 10
        else:
            print(acct.balance, end="")
        b_done.release()

    both(a, b)


class Savings(Account):
    pass


def class_attribute_through_instance(synced: bool, reader: str) -> None:
    """One thread raises the class's ``rate``; another reads it through an instance (or a
    subclass, or a subclass's instance) that has no ``rate`` of its own: one location."""
    lock = threading.Lock()
    acct, savings = Account(), Savings()

    def raise_rate():
        with lock if synced else _nothing():
            Account.rate = 2

    def read_rate():
        with lock if synced else _nothing():
            if reader == "instance":
                return acct.rate
            if reader == "subclass":
                return Savings.rate
            return savings.rate

    both(raise_rate, read_rate)


def instance_attribute_shadowing_the_class() -> None:
    """An instance with its own ``rate`` is read while the class's ``rate`` changes: the
    instance's attribute is another location (no race)."""
    acct = Account()
    acct.rate = 5

    def raise_rate():
        Account.rate = 3

    def read_rate():
        return acct.rate

    both(raise_rate, read_rate)
