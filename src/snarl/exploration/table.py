"""The interleaving of a failing schedule as a table: one column per thread.

Each row is one stretch of a thread running between two switches: the source lines it ran
(the sites of its switch points, in user code), and, on the last line, why the switch
happened (``preempted``, ``blocked on Lock `b```, ``finished``...).  Rows read top to bottom in
the order things happened.  The table is built from the :class:`Step` records of a final,
recorded replay.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from ..runtime.controlled import Step
from ..threaddump.render import short_path

__all__ = ["format_table"]

WIDTH = 44


def _reason(step: Step) -> str:
    if step.next is None:
        return "end" if step.what == "exit" else _why(step) + "; no thread can run"
    return _why(step)


def _why(step: Step) -> str:
    if step.what == "exit":
        return "finished"
    if step.runnable:
        return "preempted"
    if step.what == "sleep":
        return "sleeping"
    if step.what == "yield":
        return "yielded (sleep(0))"
    what = {"block": "blocked on", "join": "joining", "start": "started"}.get(step.what)
    if what and step.obj:
        return f"{what} {step.obj}"
    return "blocked"


_BEFORE = frozenset(("line", "bytecode", "gil", "preempt"))
"""Switch points a preemption hook reaches *before* its line runs: at such a point the site is
the line about to run, which belongs to the thread's next stretch, not this one."""


def _segments(steps: Sequence[Step]) -> list[tuple[int, list[str], str]]:
    segments: list[tuple[int, list[str], str]] = []
    lines: list[str] = []
    pending: dict[int, tuple[str, int | None, str, str]] = {}  # a thread's line not yet run
    last_site = None
    tid = None
    for step in steps:
        if step.tid != tid:
            tid = step.tid
            carried = pending.pop(tid, None)
            if carried is not None:
                lines.append(_line(carried))
                last_site = carried[:2]
        site = step.site
        switches = step.next != step.tid
        if site is not None and site[:2] != last_site:
            if switches and step.what in _BEFORE and step.next is not None:
                pending[step.tid] = site  # it runs when this thread runs again
            else:
                lines.append(_line(site))
                last_site = site[:2]
        if switches:
            reason = _reason(step)
            if step.tid in pending and reason == "preempted":
                reason = f"preempted before line {pending[step.tid][1]}"
            segments.append((step.tid, lines, reason))
            lines = []
            last_site = None
            tid = None
    if tid is not None and lines:  # the execution ended inside this stretch (an exception)
        segments.append((tid, lines, "end"))
    return segments


def _line(site: tuple[str, int | None, str, str]) -> str:
    file, line, _function, source = site
    return f"{short_path(file)}:{line}  {source}"


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def format_table(steps: Sequence[Step], names: Sequence[str]) -> Iterator[str]:
    """Yield the lines of the table for ``steps`` (``names``: thread names by id)."""
    tids = sorted({s.tid for s in steps})
    if not tids:
        return
    col = {tid: i for i, tid in enumerate(tids)}
    width = WIDTH if len(tids) <= 3 else max(24, 132 // len(tids))
    header = [_cut(f"T{tid} {names[tid]}", width) for tid in tids]
    yield " | ".join(h.ljust(width) for h in header).rstrip()
    yield "-+-".join("-" * width for _ in tids)
    for tid, lines, reason in _segments(steps):
        cells = [*lines, f"[{reason}]"] if reason != "end" else (lines or ["[end]"])
        for text in cells:
            row = [""] * len(tids)
            row[col[tid]] = _cut(text, width)
            yield " | ".join(c.ljust(width) for c in row).rstrip()
