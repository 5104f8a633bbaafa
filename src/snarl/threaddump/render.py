"""Turning a :class:`Snapshot` into text or JSON.  Renderers yield lines; they never print.

The text form reads like a JVM ``jstack`` or a Go goroutine dump: a header, the deadlocks
found, then one section per thread (or per group of threads with identical stacks and waits):

    "Thread-3 (block)"  ident=0x7f3a…  native=5123  daemon  WAITING
        waits for Lock `blocker` at seed_blocked.py:26 (locked; holder not known without tracking)
        seed_blocked.py:26  block               blocker.acquire()
        threading.py:1010   run                 self._target(*self._args, **self._kwargs)
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Iterable, Iterator

from ..terminal import escape
from .model import Deadlock, FrameInfo, HeldLock, Holder, Snapshot, ThreadInfo, WaitInfo

__all__ = [
    "FORMATS",
    "format_deadlock",
    "format_json",
    "format_text",
    "short_path",
    "wait_site",
    "wait_text",
]

FORMATS = ("text", "json")

_STDLIB = os.path.dirname(os.__file__) + os.sep
_MAX_NAMES = 8

_BASIS = {
    "with-block": "inferred from with-block",
    "rlock-owner": "RLock owner",
    "tracked": "tracked",
    "joined": "joined thread",
    "running-task": "running its task",
    "pool-worker": "a worker of the pool that queued it, every one busy",
}


def short_path(filename: str) -> str:
    """A path as a reader wants it: stdlib and site-packages relative, others relative to cwd."""
    return _short_path(filename, os.getcwd())


@functools.lru_cache(maxsize=4096)
def _short_path(filename: str, cwd: str) -> str:
    marker = os.sep + "site-packages" + os.sep
    if marker in filename:
        return filename.split(marker, 1)[1]
    if filename.startswith(_STDLIB):
        return filename[len(_STDLIB) :]
    try:
        rel = os.path.relpath(filename, cwd)
    except ValueError:
        return filename
    return rel if not rel.startswith(".." + os.sep + "..") else filename


def format_json(snapshot: Snapshot, indent: int | None = None) -> str:
    """The snapshot's JSON form (``"schema": 1``; see docs/json-schema.md).

    One line by default: ``json`` only has a C encoder for that, five times faster than an
    indented dump on a thousand threads.  Pass ``indent=2`` for a readable one.
    """
    return json.dumps(snapshot.to_dict(), indent=indent)


def format_text(snapshot: Snapshot, *, group: bool = True) -> Iterator[str]:
    """The text dump, line by line.  ``group=False`` shows every thread on its own.

    Every line is passed through :func:`snarl.terminal.escape`: control characters in thread
    names, file and function names, source lines and reprs are shown as ``\\xNN``, never sent
    to the reader's terminal raw, and no name can forge a line.
    """
    for line in _text_lines(snapshot, group):
        yield escape(line)


def _text_lines(snapshot: Snapshot, group: bool) -> Iterator[str]:
    yield _header(snapshot)
    for note in snapshot.notes:
        yield f"note: {note}"
    if snapshot.deadlocks:
        yield ""
        n = len(snapshot.deadlocks)
        yield f"Found {n} deadlock{'s' if n != 1 else ''}:"
        for deadlock in snapshot.deadlocks:
            yield from format_deadlock(deadlock)
    elif snapshot.deadlocks_checked:
        yield ""
        yield "No deadlock: no cycle among the threads' waits."
    else:
        yield ""
        yield "Deadlocks not checked: the threads' waits could not be read."
    stranded = snapshot.stranded
    if stranded:
        yield ""
        n = len(stranded)
        yield f"Found {n} wait{'s' if n != 1 else ''} no one can end (the holder has exited):"
        for t in stranded:
            w = t.wait
            assert w is not None
            held = _held_by(w.holders[0])
            yield f"  {t.label} waits for {wait_text(w)} at {wait_site(w)}, {held}"
    for members in _groups(snapshot.threads, group):
        yield ""
        yield from _thread_section(members)


def _header(s: Snapshot) -> str:
    gil = "GIL on" if s.gil_enabled else "GIL off"
    build = f" ({s.build})" if s.build != "default" else ""
    n = len(s.threads)
    return (
        f"snarl dump of pid {s.pid} · {s.implementation} {s.python}{build} · {gil}"
        f" · switch interval {s.switch_interval * 1000:g} ms · {n} thread{'s' if n != 1 else ''}"
        f" · {'tracked' if s.tracked else 'untracked'} · took {s.duration * 1000:.1f} ms"
    )


def format_deadlock(d: Deadlock) -> Iterator[str]:
    """The lines of one deadlock cycle, as the dump shows them (the explorer uses them too)."""
    for step in d.steps:
        waiter = f'"{step.thread_name}"' if step.thread_name else f"<thread {step.thread:#x}>"
        what, where = wait_text(step.wait), wait_site(step.wait)
        # (escaped here too: the explorer prints these lines outside format_text)
        yield escape(f"  {waiter} waits for {what} at {where}, {_held_by(step.holder)}")
    if not d.certain:
        yield "  (inferred from with-blocks: a lock released by hand inside one would fool it)"


def wait_text(w: WaitInfo) -> str:
    """What a wait waits for, in words (``Lock `b```, ``an item from Queue `jobs```)."""
    label = w.object.label if w.object else None
    kind = w.kind
    if kind in ("lock", "rlock", "semaphore", "barrier", "condition"):
        return label or f"an unresolved {kind}"
    if kind == "event":
        return f"{label or 'an Event'} to be set"
    if kind == "queue-get":
        return f"an item from {label or 'a queue'}"
    if kind == "queue-put":
        return f"room in {label or 'a queue'}"
    if kind == "queue-join":
        left = ""
        if w.unfinished is not None:
            left = f" ({w.unfinished} unfinished task{'s' if w.unfinished != 1 else ''})"
        return f"{label or 'a queue'} to be drained{left}"
    if kind == "thread-join":
        target = w.holders[0] if w.holders else None
        named = f'"{target.name}"' if target and target.name else label or "a thread"
        return f"thread {named} to finish"
    if kind == "future-result":
        where = f" in pool `{w.pool}`" if w.pool else ""
        state = f" ({w.future_state}{where})" if w.future_state else ""
        return f"the result of {label or 'a future'}{state}"
    if kind == "sleep":
        return f"time to pass in {w.call or 'sleep'}"
    if kind == "io":
        return f"I/O in {w.call or 'a system call'}"
    return f"an object snarl could not read ({w.call or 'unknown call'})"


def wait_site(w: WaitInfo) -> str:
    """The waiting line, as ``file:line`` (the file shortened)."""
    return f"{short_path(w.filename)}:{w.lineno}"


def _held_by(h: Holder) -> str:
    who = f'"{h.name}"' if h.name else f"<thread {h.ident:#x}>"
    if h.basis == "joined":
        return f"thread {who} {'is alive' if h.alive else 'has exited'}"
    if h.basis == "pool-worker":
        return f"which a worker must take, and {who} waits too"
    verb = "run by" if h.basis == "running-task" else "held by"
    gone = " (exited)" if not h.alive else ""
    doing = f"; {h.state}" if h.alive and h.state else ""
    place = f"{short_path(h.filename)}:{h.lineno}" if h.filename else None
    if h.basis == "tracked":  # recorded by snarl's primitives: a fact, not an inference
        doing = f" ({h.state})" if h.alive and h.state else ""
        return f"{verb} {who}{gone}" + (f" since {place}" if place else "") + doing
    site = f" at {place}" if place else ""
    return f"{verb} {who}{gone} ({_BASIS.get(h.basis, h.basis)}{site}{doing})"


def _group_key(t: ThreadInfo) -> tuple:
    w = t.wait
    if w is None:
        return (t.state, None, t.held, t.in_call, t.frames)
    name = w.object.name if w.object else None
    # (the holders are part of the key: the same wait, held by another thread or in another
    # state, is another group; so are another future's state and another queue's count)
    wkey = (w.kind, w.call, name, w.lineno, w.holders, w.future_state, w.pool, w.unfinished)
    return (t.state, wkey, t.held, t.in_call, t.frames)


def _groups(threads: Iterable[ThreadInfo], group: bool) -> list[list[ThreadInfo]]:
    if not group:
        return [[t] for t in threads]
    groups: dict[tuple, list[ThreadInfo]] = {}
    for t in threads:
        if t.current or t.main:
            groups[("solo", t.ident)] = [t]
        else:
            groups.setdefault(_group_key(t), []).append(t)
    return list(groups.values())


def _thread_section(members: list[ThreadInfo]) -> Iterator[str]:
    t = members[0]
    if len(members) == 1:
        yield _thread_header(t)
    else:
        yield _group_header(members)
    if t.wait is not None:
        yield from _wait_lines(t.wait)
    elif t.in_call:
        yield f"    in C call {t.in_call} (not a known wait: may be computing or blocked in C)"
    for held in t.held:
        yield f"    holds {_held(held)}"
    yield from _frame_lines(t.frames)


def _thread_header(t: ThreadInfo) -> str:
    parts = [t.label, f"ident={t.ident:#x}"]
    parts.append(f"native={t.native_id}" if t.native_id is not None else "native=?")
    if t.daemon:
        parts.append("daemon")
    if t.main:
        parts.append("main")
    if t.origin != "threading":
        parts.append({"_thread": "_thread.start_new_thread", "dummy": "dummy"}[t.origin])
    if t.current:
        parts.append("(current thread)")
    parts.append(t.state.upper())
    return "  ".join(parts)


def _group_header(members: list[ThreadInfo]) -> str:
    t = members[0]
    names = [m.label for m in members]
    shown = ", ".join(names[:_MAX_NAMES])
    if len(names) > _MAX_NAMES:
        shown += f" … {names[-1]} ({len(names) - _MAX_NAMES} more)"
    where = ""
    if t.wait is not None:
        where = f" in {t.wait.call or t.wait.kind} at {wait_site(t.wait)}"
    elif t.frames:
        where = f" at {short_path(t.frames[0].filename)}:{t.frames[0].lineno}"
    return f"{len(members)} threads {t.state.upper()}{where}: {shown}"


def _wait_lines(w: WaitInfo) -> Iterator[str]:
    detail = []
    if w.object is not None and w.kind in ("lock", "rlock"):
        if w.object.locked is False:
            detail.append("unlocked now: about to be granted")
        elif not w.holders:
            detail.append(
                "locked; its holder is not known without tracking: run the program under"
                " `snarl run`, or call snarl.install() first"
            )
    holders = [_held_by(h) for h in w.holders]
    waited = f" {w.since:.1f} s" if w.since is not None else ""
    if w.kind == "sleep":
        text = f"    sleeps{waited} in {w.call or 'sleep'} at {wait_site(w)}"
    else:
        text = f"    waits{waited} for {wait_text(w)} at {wait_site(w)}"
    if holders:
        text += ", " + "; ".join(holders)
    if detail:
        text += f" ({'; '.join(detail)})"
    yield text


def _held(h: HeldLock) -> str:
    place = f"{short_path(h.filename)}:{h.lineno}" if h.filename else None
    if h.basis == "tracked":
        return h.object.label + (f" (acquired at {place})" if place else "")
    site = f" at {place}" if place else ""
    return f"{h.object.label} ({_BASIS.get(h.basis, h.basis)}{site})"


def _frame_lines(frames: tuple[FrameInfo, ...]) -> Iterator[str]:
    if not frames:
        yield "    <no Python frame>"
        return
    places = [f"{short_path(f.filename)}:{f.lineno}" for f in frames]
    pw = max(len(p) for p in places)
    fw = max(len(f.function) for f in frames)
    for place, f in zip(places, frames, strict=True):
        yield f"    {place:<{pw}}  {f.function:<{fw}}  {f.source}".rstrip()
        if f.locals:
            for name, value in f.locals:
                yield f"        {name} = {value}"
