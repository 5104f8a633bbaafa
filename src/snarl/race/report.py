"""Race reports: a plain model, a Go-like text renderer, and JSON from the same data.

JSON (``schema`` 1, documented in ``docs/races.md``)::

    {"schema": 1,
     "races": [{"location": str, "kind": str, "count": int,
                "access": Access, "previous": Access, "during": str | null}],
     "summary": {"races": int, "suppressed": int, "accesses_checked": int, "threads": int,
                 "instrumented": [str], "not_seen": [str]}}
    Access = {"write": bool, "thread": str, "thread_started_at": Frame | null,
              "site": Frame + {"text": str}, "stack": [Frame], "locks_held": [str]}
    Frame = {"file": str, "line": int, "function": str}

``stack`` is the accessing thread's user-code stack, innermost first; for the earlier access it
is empty unless the run kept history (``--history``: every access's stack is kept, slower).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["Access", "Frame", "Race", "Summary", "format_race", "format_summary", "to_json"]

SCHEMA = 1


@dataclass(frozen=True)
class Frame:
    """One source position."""

    file: str
    line: int
    function: str


@dataclass(frozen=True)
class Access:
    """One of the two accesses of a race."""

    write: bool
    thread: str
    thread_started_at: Frame | None
    site: Frame
    text: str
    stack: tuple[Frame, ...]
    locks_held: tuple[str, ...]


@dataclass
class Race:
    """Two unordered accesses to one location, at least one a write (a pair of sites is
    reported once; ``count`` says how often it happened)."""

    location: str
    kind: str
    access: Access
    previous: Access
    count: int = 1
    during: str | None = None  # the test (pytest node id) the threads belong to, if known


@dataclass
class Summary:
    """What a run checked and what it could not see (never a silent all-clear)."""

    races: int
    suppressed: int
    accesses_checked: int
    threads: int
    instrumented: list[str] = field(default_factory=list)
    not_seen: list[str] = field(default_factory=list)


def _frame(f: Frame, text: str = "") -> str:
    where = f"{f.file}:{f.line}"
    return f"  {where}  {f.function}" + (f"  {text}" if text else "")


def format_race(race: Race) -> list[str]:
    """The lines of one report, in the shape of Go's race detector's."""
    lines = ["==================", "WARNING: DATA RACE", f"Location: {race.location}", ""]
    for label, acc in (("", race.access), ("Previous ", race.previous)):
        verb = "write" if acc.write else "read"
        verb = verb.capitalize() if not label else verb
        lines.append(f"{label}{verb} of {acc.text} by thread {_quote(acc.thread)}:")
        frames = acc.stack or (acc.site,)
        lines.extend(_frame(f) for f in frames)
        held = ", ".join(acc.locks_held) if acc.locks_held else "none"
        lines.append(f"  locks held: {held}")
        lines.append("")
    for acc in (race.access, race.previous):
        where = acc.thread_started_at
        if where is not None:
            lines.append(f"Thread {_quote(acc.thread)} started at {_frame(where).strip()}")
        else:
            lines.append(
                f"Thread {_quote(acc.thread)}: not started under the detector"
                " (the main thread, or one started before detection)"
            )
    if race.count > 1:
        lines.append(f"(this pair of accesses raced {race.count} times)")
    lines.append("==================")
    return lines


def format_summary(s: Summary) -> list[str]:
    """The summary lines: what was found, what was checked, what could not be seen."""
    found = f"{s.races} data race{'s' if s.races != 1 else ''} found"
    if s.suppressed:
        found += f" ({s.suppressed} suppressed)"
    lines = [
        f"snarl race: {found}; {s.accesses_checked} accesses checked in {s.threads} "
        f"thread{'s' if s.threads != 1 else ''}"
    ]
    shown = ", ".join(s.instrumented[:8]) + (" ..." if len(s.instrumented) > 8 else "")
    lines.append(f"  instrumented: {shown or 'nothing (no user module was run)'}")
    for item in s.not_seen:
        lines.append(f"  not seen: {item}")
    return lines


def to_json(races: list[Race], summary: Summary) -> dict[str, Any]:
    """The JSON document of a run (schema above)."""

    def access(a: Access) -> dict[str, Any]:
        d = asdict(a)
        d["site"] = {**d["site"], "text": d.pop("text")}
        d["stack"] = list(d["stack"])
        d["locks_held"] = list(d["locks_held"])
        return d

    return {
        "schema": SCHEMA,
        "races": [
            {
                "location": r.location,
                "kind": r.kind,
                "count": r.count,
                "access": access(r.access),
                "previous": access(r.previous),
                "during": r.during,
            }
            for r in races
        ],
        "summary": asdict(summary),
    }


def _quote(name: str) -> str:
    safe = "".join(c if c.isprintable() else f"\\x{ord(c):02x}" for c in name)
    return f'"{safe}"'
