"""The timeline of a controlled execution, from its :class:`~snarl.runtime.controlled.Step` records.

Under the controlled runtime one thread runs at a time and every switch point is recorded
(``record_steps=True``: the explorer's final replay, ``snarl replay``).  The timeline's clock
is virtual: each switch point is one tick.  Step ``i`` was reached by the thread running
during tick ``i``; when a step hands over to another thread (``next``), the thread's running
stretch ends, and what it does until it runs again is the step's reason:

* ``runnable`` (it could have gone on): preempted, drawn as *ready*;
* ``block``/``join``: blocked, labelled with what it waits on (the step's object);
* ``sleep``: sleeping on the virtual clock;
* ``exit``: its lane ends.

When the last step hands over to no one (``next`` is None) the execution is over; threads
still blocked then are drawn blocked to the end, and those in a deadlock cycle are flagged.
"""

from __future__ import annotations

import os
from collections.abc import Collection, Sequence
from typing import Any

from ..runtime.controlled import Step
from ..threaddump.render import short_path
from .model import Lane, Marker, Slice, Timeline

__all__ = ["timeline_from_failure", "timeline_from_steps"]

_PREFIX_KINDS = (
    ("the start of thread", "start"),
    ("thread ", "join"),
    ("RLock", "rlock"),
    ("Lock", "lock"),
    ("Condition", "condition"),
    ("Event", "event"),
    ("BoundedSemaphore", "semaphore"),
    ("Semaphore", "semaphore"),
    ("Barrier", "barrier"),
)


def _kind_of(label: str | None) -> str:
    for prefix, kind in _PREFIX_KINDS:
        if label and label.startswith(prefix):
            return kind
    return "blocked"


def _after(step: Step) -> tuple[str, str]:
    """(kind, label) of what the thread of ``step`` does until it runs again."""
    if step.runnable:
        return "ready", "preempted"
    if step.what == "sleep":
        return "sleep", "sleeping"
    kind = _kind_of(step.obj)
    if step.obj is None:
        return "blocked", "blocked"
    if kind == "start":
        return kind, f"waits for {step.obj}"
    if kind == "join" or step.what == "join":
        return "join", f"joins {step.obj}"
    return kind, f"blocked on {step.obj}"


def _site_line(site: tuple[str, int | None, str, str]) -> str:
    file, line, _function, source = site
    return f"{short_path(file)}:{line}  {source}".rstrip()


def timeline_from_steps(
    steps: Sequence[Step],
    names: Sequence[str],
    *,
    title: str = "controlled execution",
    ending: str | None = None,
    deadlocked: Collection[int] = (),
) -> Timeline:
    """The timeline of one controlled execution (see the module docstring).

    ``names`` are the thread names by thread id; ``ending`` labels the end of the run (the
    failure's message), and ``deadlocked`` lists the thread ids in a deadlock cycle.
    """
    n = len(steps)
    pad = max(3.0, round(n * 0.3)) if ending or deadlocked else 0.0  # room for the end
    end = n + pad
    lanes: dict[int, Lane] = {}
    slices: list[Slice] = []
    pending: dict[int, tuple[str, str, float, dict[str, Any]]] = {}
    run_start: float | None = None  # None: the next step begins a running stretch
    lines: list[str] = []
    last_site: Any = None

    def name(tid: int) -> str:
        return names[tid] if 0 <= tid < len(names) else f"T{tid}"

    for i, step in enumerate(steps):
        tid = step.tid
        if tid not in lanes:
            lanes[tid] = Lane(tid, f"T{tid} {name(tid)}", i, end)
        if run_start is None:
            waiting = pending.pop(tid, None)
            if waiting is not None:
                kind, label, since, details = waiting
                slices.append(Slice(tid, kind, label, since, i, details))
            run_start, lines, last_site = i, [], None
        site = step.site
        if site is not None and site[:2] != last_site:
            lines.append(_site_line(site))
            last_site = site[:2]
        if step.next == tid:
            continue
        if step.what == "exit":
            reason = "finished"
        elif step.next is None:
            reason = _after(step)[1] + "; no thread can run"
        else:
            reason = _after(step)[1]
        details: dict[str, Any] = {"steps": f"{run_start}-{i}", "then": reason}
        if lines:
            details["ran"] = "\n".join(lines)
        label = os.path.basename(lines[-1].split("  ", 1)[0]) if lines else "running"
        slices.append(Slice(tid, "running", label, run_start, i + 1, details))
        if step.what == "exit":
            lanes[tid].end = i + 1
            lanes[tid].exited = True
        else:
            kind, label = _after(step)
            info: dict[str, Any] = {}
            if step.site is not None:
                info["at"] = _site_line(step.site)
            pending[tid] = (kind, label, i + 1, info)
        run_start = None
    for tid, (kind, label, since, details) in sorted(pending.items()):
        flag = "deadlock" if tid in deadlocked else "unfinished"
        details = dict(details)
        details["when the run ended"] = (
            "in a deadlock cycle" if flag == "deadlock" else "still waiting"
        )
        slices.append(Slice(tid, kind, label, since, end, details, flag))
        if flag == "deadlock":
            lanes[tid].note = "deadlocked"
    timeline = Timeline(title, "step", 0, end, sorted(lanes.values(), key=lambda ln: ln.id), slices)
    if ending:
        timeline.markers.append(Marker(n, ending, "deadlock" if deadlocked else "end"))
    return timeline


def timeline_from_failure(failure: Any, *, title: str | None = None) -> Timeline:
    """The timeline of a :class:`snarl.Failure`'s final replay.

    It needs the failure's switch points: ``failure.trace``, the ``Step`` list of the final,
    recorded replay (``ValueError`` if it has none).
    """
    steps = getattr(failure, "trace", None)
    if not steps:
        raise ValueError(
            "snarl: this failure carries no switch points (Failure.trace) to draw a timeline from"
        )
    deadlocked = {s.thread for d in getattr(failure, "deadlocks", ()) for s in d.steps}
    message = str(getattr(failure, "message", "")) or None
    return timeline_from_steps(
        steps,
        tuple(getattr(failure, "threads", ())),
        title=title or (f"snarl: {message}" if message else "snarl: failing schedule"),
        ending=message,
        deadlocked=deadlocked,
    )
