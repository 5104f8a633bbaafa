"""The timeline model both exporters draw: lanes (threads), slices, flow arrows, markers.

A :class:`Timeline` is plain data, built either from a recording of real threads
(:meth:`snarl.timeline.Recording.timeline`, times in nanoseconds) or from the switch points of
a controlled execution (:func:`snarl.timeline.timeline_from_steps`, times in steps of a
virtual clock).  The Chrome trace (:mod:`snarl.timeline.chrome`) and the HTML page
(:mod:`snarl.timeline.html`) are both rendered from it, so they always show the same thing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["KINDS", "Flow", "Lane", "Marker", "Slice", "Timeline"]

KINDS: dict[str, str] = {
    "running": "running",
    "ready": "runnable, not running (preempted)",
    "lock": "waiting for a Lock",
    "rlock": "waiting for an RLock",
    "condition": "waiting on a Condition",
    "event": "waiting for an Event",
    "semaphore": "waiting on a Semaphore",
    "barrier": "waiting at a Barrier",
    "join": "joining a thread",
    "start": "waiting for a thread to start",
    "sleep": "sleeping",
    "gil": "gave the GIL away (check-interval offer)",
    "blocked": "blocked",
}
"""Slice kinds and what each one means (the HTML legend)."""


@dataclass
class Lane:
    """One thread's row: ``start``/``end`` bound what was seen of it."""

    id: int
    name: str
    start: float
    end: float
    ident: int | None = None
    exited: bool = False  # it ended inside the timeline (else: still alive at its end)
    note: str = ""  # e.g. "deadlocked"


@dataclass
class Slice:
    """A stretch of one lane: running, or waiting on something (``kind``: see :data:`KINDS`)."""

    lane: int
    kind: str
    label: str
    start: float
    end: float
    details: dict[str, Any] = field(default_factory=dict)
    flag: str = ""  # "deadlock" (part of a cycle), "unfinished" (waiting at the end)


@dataclass
class Flow:
    """An arrow from ``src_lane`` at ``src_time`` to ``dst_lane`` at ``dst_time``: a release
    that let a waiter go, or a GIL offer that another thread took."""

    src_lane: int
    src_time: float
    dst_lane: int
    dst_time: float
    label: str


@dataclass
class Marker:
    """A moment worth a vertical line across every lane (the end of a deadlocked run)."""

    time: float
    label: str
    kind: str = "end"  # "end", "deadlock"


@dataclass
class Timeline:
    """What one run looked like.  ``unit`` is ``"ns"`` (real time) or ``"step"`` (switch
    points of a controlled execution)."""

    title: str
    unit: str
    start: float
    end: float
    lanes: list[Lane] = field(default_factory=list)
    slices: list[Slice] = field(default_factory=list)
    flows: list[Flow] = field(default_factory=list)
    markers: list[Marker] = field(default_factory=list)
    dropped: int = 0
    notes: list[str] = field(default_factory=list)

    def lane(self, lane_id: int) -> Lane | None:
        """The lane with this id, or None."""
        for lane in self.lanes:
            if lane.id == lane_id:
                return lane
        return None

    def format_time(self, t: float) -> str:
        """A time of this timeline as a reader wants it, relative to its start."""
        return format_span(t - self.start, self.unit)


def format_span(value: float, unit: str) -> str:
    """``value`` (ns or steps) as text: ``1.25 ms``, ``340 µs``, ``12 steps``."""
    if unit == "step":
        n = round(value, 3)
        n_text = f"{n:g}"
        return f"{n_text} step" if n == 1 else f"{n_text} steps"
    ns = float(value)
    if abs(ns) >= 1e9:
        return f"{ns / 1e9:.3g} s"
    if abs(ns) >= 1e6:
        return f"{ns / 1e6:.3g} ms"
    if abs(ns) >= 1e3:
        return f"{ns / 1e3:.3g} µs"
    return f"{ns:.0f} ns"
