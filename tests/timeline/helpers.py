"""Helpers for the timeline tests: reach a recorded wait without guessing, read traces."""

from __future__ import annotations

import time
from typing import Any

from snarl.timeline import Recording

JOIN_TIMEOUT = 10.0


def recorded_waiting(rec: Recording, obj: Any, timeout: float = JOIN_TIMEOUT) -> None:
    """Wait (a bounded poll) until some thread's wait on ``obj`` has begun in the recorder:
    a release from now on is one the recorder sees the waiter get."""
    deadline = time.monotonic() + timeout
    recorder = rec._recorder
    assert recorder is not None, "not recording"
    while not any(token[3] is obj for token in list(recorder._open.values())):
        assert time.monotonic() < deadline, f"no recorded wait on {obj!r}"
        time.sleep(0.0005)


def lane_of(rec: Recording, name: str) -> int:
    """The lane of the thread called ``name`` (exactly one)."""
    lanes = {ev[2] for ev in rec.events if ev[0] in ("thread", "exit") and ev[4] == name}
    assert len(lanes) == 1, f"lanes of {name!r}: {lanes}"
    return lanes.pop()


HANDSHAKE = "self._started"
"""The Event ``Thread.start`` waits on.  With real parallelism (a free-threaded build) the lock
inside an Event is contended too, and such a wait is recorded like any other (named after the
Event): the tests pick the waits on the object they are about."""


def waits(rec: Recording, kind: str | None = None, name: str | None = None) -> list[Any]:
    """The recorded wait events (of one kind, on the object of that name)."""
    return [
        ev
        for ev in rec.events
        if ev[0] == "wait"
        and (kind is None or ev[4] == kind)
        and (name is None or ev[5][2] == name)
        and ev[5][2] != HANDSHAKE
    ]


def slices(tl: Any, kind: str, label: str) -> list[Any]:
    """The slices of one kind of a timeline with that label (``Lock `lock```)."""
    return [s for s in tl.slices if s.kind == kind and s.label == label]
