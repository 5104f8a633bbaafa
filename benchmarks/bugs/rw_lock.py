"""A writer-preferring reader-writer lock, and a reader that takes the read lock twice.

Bug: the reader holds a read lock and (in a helper) asks for it again; a writer that arrived in
between waits for the reader, and the writer preference makes the nested read wait for the
writer: deadlock.  Fix: the helper reads under the read lock its caller already holds.
"""

from __future__ import annotations

import threading

from ._harness import Program

GRANULARITY = "sync"
SWITCH = "Condition operations"
EXPECT = "deadlock"


class RWLock:
    """Readers share, writers exclude; waiting writers block new readers (writer preference)."""

    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.readers = 0
        self.writer = False
        self.waiting_writers = 0

    def acquire_read(self) -> None:
        with self.cond:
            while self.writer or self.waiting_writers:
                self.cond.wait()
            self.readers += 1

    def release_read(self) -> None:
        with self.cond:
            self.readers -= 1
            if not self.readers:
                self.cond.notify_all()

    def acquire_write(self) -> None:
        with self.cond:
            self.waiting_writers += 1
            while self.writer or self.readers:
                self.cond.wait()
            self.waiting_writers -= 1
            self.writer = True

    def release_write(self) -> None:
        with self.cond:
            self.writer = False
            self.cond.notify_all()


class Table:
    def __init__(self) -> None:
        self.rw = RWLock()
        self.a = 0
        self.b = 0
        self.seen: tuple[int, int] | None = None


def read_b(t: Table) -> int:
    t.rw.acquire_read()  # nested: the caller holds a read lock already
    try:
        return t.b
    finally:
        t.rw.release_read()


def reader_nested(t: Table) -> None:
    t.rw.acquire_read()
    try:
        a = t.a
        t.seen = (a, read_b(t))
    finally:
        t.rw.release_read()


def reader(t: Table) -> None:
    t.rw.acquire_read()
    try:
        t.seen = (t.a, t.b)
    finally:
        t.rw.release_read()


def writer(t: Table) -> None:
    t.rw.acquire_write()
    try:
        t.a += 1
        t.b += 1
    finally:
        t.rw.release_write()


def check(t: Table) -> None:
    assert t.seen is not None and t.seen[0] == t.seen[1], f"torn read {t.seen}"


BUGGY = Program(Table, (reader_nested, writer), check)
FIXED = Program(Table, (reader, writer), check)


def buggy() -> None:
    BUGGY.run()


def fixed() -> None:
    FIXED.run()
