"""The thread-dump entry points: :func:`dump` and :func:`wait_until_blocked`."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterable
from typing import IO, Any

from .collect import snapshot
from .model import Snapshot
from .render import FORMATS, format_json, format_text

__all__ = ["dump", "format_dump", "wait_until_blocked"]


def format_dump(snapshot: Snapshot, format: str = "text", *, group: bool = True) -> str:
    """Render a snapshot as ``"text"`` or ``"json"``; ValueError names the choices otherwise."""
    if format == "text":
        return "\n".join(format_text(snapshot, group=group)) + "\n"
    if format == "json":
        return format_json(snapshot) + "\n"
    raise ValueError(f"unknown dump format {format!r}: choose one of {', '.join(FORMATS)}")


def dump(
    file: IO[str] | None = None,
    format: str = "text",
    locals: bool = False,
    *,
    group: bool = True,
) -> Snapshot:
    """Write a dump of every thread and return the :class:`Snapshot` it was made from.

    ``file`` defaults to standard error, written straight to its file descriptor (as
    faulthandler does) so that a thread stuck inside ``sys.stderr.write`` cannot block the
    dump.  ``format`` is ``"text"`` or ``"json"``.  ``locals=True`` adds bounded reprs of each
    frame's locals (the only case where user code runs).  ``group=False`` shows every thread
    on its own instead of grouping threads with identical stacks and waits.
    """
    if format not in FORMATS:
        raise ValueError(f"unknown dump format {format!r}: choose one of {', '.join(FORMATS)}")
    snap = snapshot(locals=locals)
    _write(file, format_dump(snap, format, group=group))
    return snap


def _write(file: IO[str] | None, text: str) -> None:
    if file is None:
        stream = sys.stderr
        fd = _fileno(stream)
        if fd is not None:
            data = text.encode(getattr(stream, "encoding", None) or "utf-8", "backslashreplace")
            while data:
                data = data[os.write(fd, data) :]
            return
        file = stream
    if file is not None:
        file.write(text)


def _fileno(stream: Any) -> int | None:
    try:
        return int(stream.fileno())
    except Exception:
        return None


def wait_until_blocked(*threads: Any, timeout: float = 10.0, poll: float = 0.001) -> Snapshot:
    """Wait until each given thread (a Thread or a name) is waiting, sleeping or idle.

    Returns the snapshot that showed it; raises TimeoutError after ``timeout`` seconds.  This
    is how tests and examples reach a blocked state without guessing with a sleep.
    """
    wanted = {t if isinstance(t, str) else t.name for t in threads}
    deadline = time.monotonic() + timeout
    while True:
        snap = snapshot()
        states = {t.name: t.state for t in snap.threads if t.name in wanted}
        if len(states) == len(wanted) and all(s != "running" for s in states.values()):
            return snap
        if time.monotonic() >= deadline:
            raise TimeoutError(
                f"threads not blocked after {timeout} s: {_describe(wanted, states)}"
            )
        time.sleep(poll)


def _describe(wanted: Iterable[str], states: dict[str, str]) -> str:
    return ", ".join(f"{name}={states.get(name, 'not found')}" for name in sorted(wanted))
