"""A torn pair: two fields published one after the other (``self.start``, then ``self.end``).

Bug: the writer slides a window of fixed width by setting ``start`` and then ``end``; a reader
between the two lines reads a new ``start`` with an old ``end``, a window of the wrong width.
Plain attribute writes on two lines: ``"line"``.  Fix: publish both at once, as one tuple
(``self.bounds = (start, end)``: one store).
"""

from __future__ import annotations

try:
    from ._harness import Program
except ImportError:  # loaded as a file (snarl explore benchmarks/bugs/torn_pair.py::buggy)
    from _harness import Program

GRANULARITY = "line"
SWITCH = "between the writer's two attribute stores"
EXPECT = "assertion"
CLASS = "data-race"
WIDTH = 10


class Window:
    def __init__(self) -> None:
        self.start = 0
        self.end = WIDTH
        self.bounds = (0, WIDTH)
        self.seen: list[tuple[int, int]] = []


def slide(w: Window) -> None:
    for start in (10, 20):
        w.start = start
        w.end = start + WIDTH


def observe(w: Window) -> None:
    for _ in range(2):
        w.seen.append((w.start, w.end))


def slide_atomic(w: Window) -> None:
    for start in (10, 20):
        w.bounds = (start, start + WIDTH)


def observe_atomic(w: Window) -> None:
    for _ in range(2):
        w.seen.append(w.bounds)


def check(w: Window) -> None:
    torn = [(s, e) for s, e in w.seen if e - s != WIDTH]
    assert not torn, f"read torn windows {torn}"


BUGGY = Program(Window, (slide, observe), check)
FIXED = Program(Window, (slide_atomic, observe_atomic), check)


def buggy() -> None:
    BUGGY.run()


def fixed() -> None:
    FIXED.run()
