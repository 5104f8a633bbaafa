"""One execution's outcome, classified (a failure of which kind, or none), and a failing
one written as the report a user reads: what failed, the interleaving table, the replay
command."""

from __future__ import annotations

import os
import traceback
from collections.abc import Callable
from operator import itemgetter
from typing import Any

from ..runtime.controlled import ControlledRuntime
from ..runtime.scheduler import Choice, preemptions
from ..terminal import escape, escape_text
from ..threaddump.model import Deadlock
from .blocked import explain, parked_at_end
from .execution import STUCK_AFTER, is_user_file
from .result import Failure, StuckOutsideControl
from .shrink import Shrinking
from .table import format_table

__all__ = ["check", "failure_report", "interleaving", "kind_of", "signature", "source_file"]


def interleaving(choices: list[Choice]) -> int:
    """A 64-bit hash of the threads chosen, step by step: equal for equal interleavings (a set
    of these counts the distinct ones without keeping every schedule)."""
    return hash(tuple(map(_chosen, choices)))


_chosen = itemgetter(0)  # Choice.chosen, as a C function


def kind_of(rt: ControlledRuntime) -> str | None:
    o = rt.outcome
    if o is None or o.kind == "ok":
        return None
    if o.kind == "exception":
        return "assertion" if isinstance(o.exception, AssertionError) else "exception"
    if o.kind == "blocked":
        return None if parked_at_end(o.blocked, rt.threads) else "deadlock"
    if o.kind == "step-bound":
        return "livelock"
    return o.kind


def signature(rt: ControlledRuntime) -> tuple[str | None, str | None]:
    """What "the same failure" means while shrinking: the kind, and the exception type."""
    o = rt.outcome
    exc = o.exception if o is not None else None
    return kind_of(rt), (type(exc).__qualname__ if exc is not None else None)


def check(rt: ControlledRuntime, max_steps: int) -> None:
    o = rt.outcome
    if o is not None and o.kind in ("stuck", "spin"):
        if o.detail is not None:  # (the thread diagnosed, and how long it went on)
            stuck, seconds = o.detail
            why = stuck.describe(seconds)
        else:
            who = rt.threads[o.tid].name if o.tid is not None else "a thread"
            why = f'thread "{who}" reached no switch point for {STUCK_AFTER:.0f} s'
        raise StuckOutsideControl(
            f"{why}.  Exploration stopped: no verdict can be given on schedules it could not run"
        )
    if o is not None and o.kind == "scheduler-error" and o.exception is not None:
        raise o.exception


def failure_report(
    rt: ControlledRuntime,
    token: str,
    *,
    target: str | None,
    found: list[Choice],
    runs: int | None,
    fn: Callable[[], Any],
    shrinking: Shrinking | None = None,
) -> Failure:
    kind = kind_of(rt) or "ok"
    o = rt.outcome
    names = tuple(escape(t.name) for t in rt.threads)  # (a name cannot forge a line)
    lines: list[str] = []
    deadlocks: tuple[Deadlock, ...] = ()
    exc = o.exception if o is not None else None
    if o is not None and o.kind == "blocked":
        why = explain(o.blocked, rt.threads)
        deadlocks = why.deadlocks
        message = (
            f"deadlock: {len(why.deadlocks)} cycle(s) in the wait-for graph"
            if why.deadlocks
            else "lost wakeup: every thread waits, and none is left to wake them"
        )
        lines.extend(why.lines)
    elif o is not None and o.kind == "exception" and exc is not None:
        who = names[o.tid] if o.tid is not None else "?"
        message = f'{type(exc).__name__} in thread "{who}": {_one_line(exc)}'
        lines.append(f'{type(exc).__name__} in thread "{who}" (T{o.tid}):')
        lines.extend("  " + line for line in _traceback(exc))
    elif o is not None and o.kind == "race":
        from .races import race_lines

        race = o.detail[0]
        who = names[o.tid] if o.tid is not None else "?"
        message = f'data race on {race.location} in thread "{who}"'
        lines.extend(escape(line) for line in race_lines(race))
    else:
        message = f"livelock: more than {len(rt.choices)} switch points (a spin, or a livelock)"
        lines.append(message)
    n_pre = preemptions(rt.choices)
    head = f"snarl: {message}"
    if runs is not None:
        head += f" (schedule {runs})"
    body = [head, "", *lines, ""]
    found_pre = preemptions(found)
    cut = f"; {shrinking.why()}" if shrinking is not None and shrinking.reason else ""
    body.append(
        f"Interleaving: {n_pre} preemption{'s' if n_pre != 1 else ''}, "
        f"{len(rt.choices)} switch points (shrunk from {found_pre} "
        f"preemption{'s' if found_pre != 1 else ''}, "
        f"{len(found)} switch points{cut}):"
    )
    involved = set(o.blocked) if o is not None and o.kind == "blocked" else set()
    if o is not None and o.tid is not None:
        involved.add(o.tid)  # (the thread that raised, or spun, or raced)
    if o is not None and o.kind == "race" and o.detail[1] is not None:
        involved.add(o.detail[1])  # (the thread of the earlier access)
    body.extend("  " + line for line in format_table(rt.steps, names, involved=involved))
    body.append("")
    body.append("Replay it with:")
    where = target or f"{source_file(fn)}::{getattr(fn, '__name__', 'test')}"
    body.append(f"  snarl replay {token} {where}")
    return Failure(
        kind=kind,
        message=message,
        token=token,
        report=escape_text("\n".join(body)),  # control characters shown, not obeyed
        threads=names,
        steps=len(rt.choices),
        preemptions=n_pre,
        found_steps=len(found),
        found_preemptions=found_pre,
        exception=exc,
        deadlocks=deadlocks,
        schedule=tuple(c.chosen for c in rt.choices),
        trace=tuple(rt.steps),
        shrink_stopped=shrinking.reason if shrinking is not None else None,
        race=o.detail[0] if o is not None and o.kind == "race" else None,
    )


def _traceback(exc: BaseException) -> list[str]:
    """The exception's traceback without snarl's own frames (the user's code, the error)."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if is_user_file(f.filename)]
    out = ["Traceback (most recent call last):"]
    for part in traceback.format_list(frames):
        out.extend(part.rstrip("\n").splitlines())
    out.extend(line.rstrip("\n") for line in traceback.format_exception_only(type(exc), exc))
    return out


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else "(no message)"


def source_file(fn: Callable[..., Any]) -> str:
    """The file that defines ``fn``, relative to the working directory where it can be (the
    ``FILE.py`` of a printed replay command)."""
    code = getattr(fn, "__code__", None)
    if code is None:
        return "FILE.py"
    try:
        return os.path.relpath(code.co_filename)
    except ValueError:
        return code.co_filename
