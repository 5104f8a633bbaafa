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


def waits(rec: Recording, kind: str | None = None) -> list[tuple[Any, ...]]:
    """The recorded wait events (of one kind)."""
    return [ev for ev in rec.events if ev[0] == "wait" and (kind is None or ev[4] == kind)]
