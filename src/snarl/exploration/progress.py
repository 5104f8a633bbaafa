"""The progress line of ``snarl explore``, and its Ctrl-C.

:class:`Progress` draws one status line on a terminal (stderr): while exploring, the
schedules done of the total, the failing ones, schedules per second and the time left; while
shrinking, the runs so far and the smallest failing schedule's preemptions and switch points.
A callback may come after every schedule (thousands a second), so the line is redrawn at most
every :data:`INTERVAL` seconds of its clock (injectable: the tests drive a fake one), and
cleared at the end.  Without a stream it draws nothing, and still handles Ctrl-C:

Used as a context manager, it owns SIGINT for the exploration.  The first Ctrl-C is
remembered and raised as ``KeyboardInterrupt`` from the next callback, that is between two
executions, where :func:`~snarl.exploration.runner.explore` stops cleanly and reports what it
has; one in the middle of an execution would tear it down half-way.  A second Ctrl-C raises
``KeyboardInterrupt`` at once (an execution that does not end).
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable
from time import monotonic
from types import FrameType
from typing import Any, TextIO

__all__ = ["INTERVAL", "Progress", "duration"]

INTERVAL = 0.25
"""Seconds between two redraws of the line, at least."""

_CLEAR = "\r\033[K"  # to the line's start, erase to its end


class Progress:
    """The status line on ``stream`` (None: not drawn), redrawn at most every ``interval``
    seconds of ``clock``.  Pass :meth:`schedules` as ``explore(progress=)`` and
    :meth:`shrinking` as ``explore(shrink_progress=)``."""

    def __init__(
        self,
        stream: TextIO | None,
        *,
        clock: Callable[[], float] = monotonic,
        interval: float = INTERVAL,
        name: str = "snarl explore",
    ) -> None:
        self.stream = stream
        self.clock = clock
        self.interval = interval
        self.name = name
        self.interrupts = 0  # Ctrl-C presses seen (while entered)
        self._raised = False
        self._drawn: tuple[str, float] | None = None  # the phase and time of the last draw
        self._first: tuple[int, float] | None = None  # the first count, when: for the rate
        self._shown = False  # a line is on the terminal
        self._previous: Any = None  # SIGINT's handler before __enter__
        self._owned = False

    def schedules(self, done: int, total: int, failing: int) -> None:
        """Exploring: ``done`` of ``total`` schedules run, ``failing`` of them failed."""
        self._interrupt()
        now = self.clock()
        if self._first is None:  # the rate is measured from here: setting up is not exploring
            self._first = (done, now)
        if not self._due("explore", now):
            return
        text = f"{done}/{total} schedules, {failing} failing"
        elapsed = now - self._first[1]
        if elapsed > 0 and done > self._first[0]:
            rate = (done - self._first[0]) / elapsed
            text += f", {rate:.0f} schedules/s, ETA {duration((total - done) / rate)}"
        self._draw(text)

    def shrinking(self, runs: int, preemptions: int, steps: int) -> None:
        """Shrinking: ``runs`` so far; the smallest failing schedule's size."""
        self._interrupt()
        if self._due("shrink", self.clock()):
            self._draw(
                f"shrinking: run {runs}, {preemptions} preemption{'s' if preemptions != 1 else ''}"
                f", {steps} switch points"
            )

    def clear(self) -> None:
        """Erase the line, if one is shown."""
        if self._shown and self.stream is not None:
            self.stream.write(_CLEAR)
            self.stream.flush()
        self._shown = False

    def __enter__(self) -> Progress:
        if threading.current_thread() is threading.main_thread():  # else: no signals here
            self._previous = signal.signal(signal.SIGINT, self._on_sigint)
            self._owned = True
        return self

    def __exit__(self, *exc: object) -> None:
        self.clear()
        if self._owned:
            previous = self._previous
            signal.signal(signal.SIGINT, signal.SIG_DFL if previous is None else previous)
            self._owned = False

    def _on_sigint(self, signum: int, frame: FrameType | None) -> None:
        self.interrupts += 1
        if self.interrupts > 1:
            raise KeyboardInterrupt

    def _interrupt(self) -> None:
        if self.interrupts and not self._raised:
            self._raised = True
            raise KeyboardInterrupt

    def _due(self, phase: str, now: float) -> bool:
        last = self._drawn
        if last is not None and last[0] == phase and now - last[1] < self.interval:
            return False
        self._drawn = (phase, now)
        return True

    def _draw(self, text: str) -> None:
        stream = self.stream
        if stream is None:
            return
        line = f"  {self.name}: {text}"
        try:
            width = os.get_terminal_size(stream.fileno()).columns
        except (AttributeError, OSError, ValueError):  # not a terminal: no width to keep to
            width = 0
        if width > 1:
            line = line[: width - 1]  # a wrapped line would not be redrawn in place
        stream.write(_CLEAR + line)
        stream.flush()
        self._shown = True


def duration(seconds: float) -> str:
    """``seconds`` for a person: ``"7 s"``, ``"3 min 20 s"``, ``"2 h 05 min"``."""
    s = max(0, round(seconds))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60:02d} s"
    return f"{s // 3600} h {s % 3600 // 60:02d} min"
