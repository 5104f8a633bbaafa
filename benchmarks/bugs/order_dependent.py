"""An order-dependent test: it asserts on the order two threads produce their output in.

Bug: nothing orders the two appends; the assertion holds only when the first thread started
happens to run first.  Fix: assert on the content, not the order.
"""

from __future__ import annotations

from ._harness import Program

GRANULARITY = "sync"
SWITCH = "thread start"
EXPECT = "assertion"


class Output:
    def __init__(self) -> None:
        self.lines: list[str] = []


def first(o: Output) -> None:
    o.lines.append("first")


def second(o: Output) -> None:
    o.lines.append("second")


def check_order(o: Output) -> None:
    assert o.lines == ["first", "second"], f"lines = {o.lines}"


def check_content(o: Output) -> None:
    assert sorted(o.lines) == ["first", "second"], f"lines = {o.lines}"


BUGGY = Program(Output, (first, second), check_order)
FIXED = Program(Output, (first, second), check_content)


def buggy() -> None:
    BUGGY.run()


def fixed() -> None:
    FIXED.run()
