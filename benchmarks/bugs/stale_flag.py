"""A stale read through a flag: publish before init (``ready = True``, then ``data = 42``).

Bug: a reader that sees ``ready`` between the publisher's two lines reads ``data`` before it is
written.  Plain attribute writes on two lines: only a switch between lines shows it (``"line"``).
Fix: write the data first, then set the flag.
"""

from __future__ import annotations

from ._harness import Program

GRANULARITY = "line"
SWITCH = "between two lines (plain attribute writes, no call)"
EXPECT = "assertion"


class Published:
    def __init__(self) -> None:
        self.ready = False
        self.data: int | None = None
        self.seen: list[int | None] = []


def publish_early(p: Published) -> None:
    p.ready = True
    p.data = 42


def publish(p: Published) -> None:
    p.data = 42
    p.ready = True


def read(p: Published) -> None:
    if p.ready:
        p.seen.append(p.data)


def check(p: Published) -> None:
    assert all(x == 42 for x in p.seen), f"read {p.seen} after the flag was set"


BUGGY = Program(Published, (publish_early, read), check)
FIXED = Program(Published, (publish, read), check)


def buggy() -> None:
    BUGGY.run()


def fixed() -> None:
    FIXED.run()
