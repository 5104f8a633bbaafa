"""The thread-dump entry points: :func:`dump` and :func:`wait_until_blocked`."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Collection
from typing import IO, Any, Literal

from .collect import snapshot
from .model import Snapshot, ThreadInfo, WaitKind
from .render import FORMATS, format_json, format_text

__all__ = ["Format", "dump", "format_dump", "wait_until_blocked"]

Format = Literal["text", "json"]
"""The dump formats: a type checker catches ``format="jsno"``."""


def format_dump(snapshot: Snapshot, format: Format = "text", *, group: bool = True) -> str:
    """Render a snapshot as ``"text"`` or ``"json"``; ValueError names the choices otherwise."""
    if format == "text":
        return "\n".join(format_text(snapshot, group=group)) + "\n"
    if format == "json":
        return format_json(snapshot) + "\n"
    raise ValueError(f"unknown dump format {format!r}: choose one of {', '.join(FORMATS)}")


def dump(
    file: IO[str] | None = None,
    format: Format = "text",
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


def wait_until_blocked(
    *threads: Any,
    timeout: float = 10.0,
    kinds: Collection[WaitKind] | None = None,
    poll: float = 0.001,
) -> Snapshot:
    """Wait until each given thread (a Thread, or a name) is waiting, sleeping or idle.

    With ``kinds`` (wait kinds such as ``{"lock"}``), each must also be in a wait of one of
    those kinds: a thread passing through a Barrier on its way to a lock is not there yet.
    Returns the snapshot that showed it; raises TimeoutError after ``timeout`` seconds.  This
    is how tests and examples reach a blocked state without guessing with a sleep.
    """
    wanted = [(t, None) if isinstance(t, str) else (t.name, t.ident) for t in threads]
    deadline = time.monotonic() + timeout
    while True:
        snap = snapshot()
        by_ident = {t.ident: t for t in snap.threads}
        by_name = {t.name: t for t in snap.threads}
        found = [
            by_name.get(name) if ident is None else by_ident.get(ident) for name, ident in wanted
        ]
        if all(t is not None and _parked(t, kinds) for t in found):
            return snap
        if time.monotonic() >= deadline:
            states = ", ".join(
                f"{name}={_state(t)}" for (name, _), t in zip(wanted, found, strict=True)
            )
            raise TimeoutError(f"threads not blocked after {timeout} s: {states}")
        time.sleep(poll)


def _parked(t: ThreadInfo, kinds: Collection[str] | None) -> bool:
    if t.state == "running":
        return False
    return kinds is None or (t.wait is not None and t.wait.kind in kinds)


def _state(t: ThreadInfo | None) -> str:
    if t is None:
        return "not found"
    return t.state + (f" ({t.wait.kind})" if t.wait is not None else "")
