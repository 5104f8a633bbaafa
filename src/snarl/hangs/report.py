"""What the watchdog reports, how it reads, and where it goes.

A :class:`Report` is a frozen value: the findings of one check (new deadlock cycles, threads
stuck for at least the threshold, locks left held by threads that have exited), the full
snarl :class:`~snarl.threaddump.model.Snapshot` they were read from, and CPU times.  Every
finding says what it rests on: a holder known from snarl's records (``tracked``) or inferred
from a ``with`` block; a wait timed by snarl's records (``tracked``) or by the watchdog's own
checks (``observed``, a lower bound).

It goes to standard error (written straight to file descriptor 2, as ``snarl.dump`` does,
so a thread stuck inside ``sys.stderr.write`` cannot block it), to a file (appended), to an
open text stream, or to a callable that receives the Report itself.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import IO, Any

from ..safefile import open_append
from ..threaddump.api import format_dump
from ..threaddump.model import SCHEMA, Deadlock, ObjectInfo, Snapshot, ThreadInfo, WaitInfo
from ..threaddump.render import short_path, wait_site, wait_text

__all__ = [
    "ABORT_EXIT_CODE",
    "KINDS",
    "HolderStatus",
    "OrphanedLock",
    "Report",
    "ReportTarget",
    "StuckThread",
]

KINDS = ("deadlock", "stuck", "orphaned-lock")
"""The kinds of finding, in the order a report lists them."""

ABORT_EXIT_CODE = 70
"""The exit code of ``abort=True`` (BSD's ``EX_SOFTWARE``; no other snarl exit code uses it)."""

ReportTarget = None | str | os.PathLike | IO[str] | Callable[["Report"], object]

_STATUS = ("running", "blocked", "gone", "unknown")


@dataclass(frozen=True, slots=True)
class HolderStatus:
    """The thread that must act for a stuck wait to end, and what it is doing.

    ``status`` is ``running`` (executing: it may be spinning or computing; see its CPU share),
    ``blocked`` (itself waiting, sleeping or idle: ``doing`` says on what), ``gone`` (it has
    exited) or ``unknown`` (alive but not in the snapshot).  ``basis`` says how it is known to
    be the holder, as :class:`snarl.Holder` does (``tracked``, ``with-block``, ``joined``, ...).
    """

    ident: int
    name: str | None
    status: str
    basis: str
    state: str | None = None
    doing: str | None = None

    @property
    def label(self) -> str:
        """The quoted name, or the ident."""
        return f'"{self.name}"' if self.name else f"<thread {self.ident:#x}>"

    def to_dict(self) -> dict[str, Any]:
        """Plain data for the JSON form."""
        return {
            "ident": self.ident,
            "name": self.name,
            "status": self.status,
            "basis": self.basis,
            "state": self.state,
            "doing": self.doing,
        }


@dataclass(frozen=True, slots=True)
class StuckThread:
    """A thread in a wait that may become stuck, for at least the threshold.

    ``waited`` is in seconds; ``basis`` is ``tracked`` (snarl's records timed the wait: exact)
    or ``observed`` (the watchdog saw the thread in this same wait on every check for that
    long: a lower bound).  ``holders`` is empty when no thread is known
    to hold what it waits for (an Event has no holder; a native lock taken by a bare
    ``acquire()`` has one snarl cannot see without tracking).
    """

    ident: int
    name: str | None
    wait: WaitInfo
    waited: float
    basis: str
    reason: str
    holders: tuple[HolderStatus, ...] = ()

    @property
    def label(self) -> str:
        """The quoted name, or the ident."""
        return f'"{self.name}"' if self.name else f"<thread {self.ident:#x}>"

    def to_dict(self) -> dict[str, Any]:
        """Plain data for the JSON form."""
        return {
            "ident": self.ident,
            "name": self.name,
            "wait": self.wait.to_dict(),
            "waited": self.waited,
            "basis": self.basis,
            "reason": self.reason,
            "holders": [h.to_dict() for h in self.holders],
        }


@dataclass(frozen=True, slots=True)
class OrphanedLock:
    """A lock still held by a thread that has exited: no thread can ever release it normally.

    Known only for snarl's tracked locks taken by a bare ``acquire()`` (a ``with`` block
    cannot outlive its thread).  ``exited_ago`` is in seconds; ``created`` and ``acquired``
    are (filename, line) or None; ``waiters`` the idents of the threads waiting for it.
    """

    lock: ObjectInfo
    owner: int
    owner_name: str | None
    exited_ago: float
    created: tuple[str, int | None] | None
    acquired: tuple[str, int | None] | None
    waiters: tuple[int, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """Plain data for the JSON form."""
        return {
            "lock": self.lock.to_dict(),
            "owner": self.owner,
            "owner_name": self.owner_name,
            "exited_ago": self.exited_ago,
            "created": list(self.created) if self.created else None,
            "acquired": list(self.acquired) if self.acquired else None,
            "waiters": list(self.waiters),
        }


@dataclass(frozen=True, slots=True)
class Report:
    """The findings of one watchdog check, with the snapshot they rest on.

    ``kinds`` lists the kinds present, from :data:`KINDS`.  ``deadlocks`` are the cycles new
    at this check (``snapshot.deadlocks`` has every cycle present).  ``cpu`` maps a thread's
    ident to the CPU seconds it has used, for each thread whose time could be read;
    ``cpu_share`` maps each involved thread (stuck, holder, in a cycle) to the share of one
    core it used over the ``cpu_window`` seconds the report sampled (1.0 = a full core:
    spinning or computing; 0.0 = blocked).  ``period`` and ``threshold`` are the watchdog's.
    """

    kinds: tuple[str, ...]
    snapshot: Snapshot
    deadlocks: tuple[Deadlock, ...] = ()
    stuck: tuple[StuckThread, ...] = ()
    orphaned: tuple[OrphanedLock, ...] = ()
    cpu: Mapping[int, float] | None = None
    cpu_share: Mapping[int, float] | None = None
    cpu_window: float = 0.0
    period: float = 0.0
    threshold: float = 0.0

    def format(self, format: str = "text") -> str:
        """The report as ``"text"`` (summary, then the full dump) or ``"json"`` (one line)."""
        if format == "json":
            return json.dumps(self.to_dict()) + "\n"
        if format == "text":
            return "\n".join(self._text()) + "\n" + format_dump(self.snapshot, "text")
        raise ValueError(f"unknown report format {format!r}: choose text or json")

    def to_dict(self) -> dict[str, Any]:
        """The JSON form: ``"schema": 1``, the findings, CPU times and the snapshot's own form."""
        return {
            "schema": SCHEMA,
            "report": "snarl-watchdog",
            "kinds": list(self.kinds),
            "period": self.period,
            "threshold": self.threshold,
            "deadlocks": [d.to_dict() for d in self.deadlocks],
            "stuck": [s.to_dict() for s in self.stuck],
            "orphaned": [o.to_dict() for o in self.orphaned],
            "cpu": {str(k): v for k, v in (self.cpu or {}).items()},
            "cpu_share": {str(k): v for k, v in (self.cpu_share or {}).items()},
            "cpu_window": self.cpu_window,
            "snapshot": self.snapshot.to_dict(),
        }

    # -- text ------------------------------------------------------------------------------
    def _text(self) -> list[str]:
        parts = []
        if self.deadlocks:
            parts.append(_count(len(self.deadlocks), "deadlock"))
        if self.stuck:
            parts.append(_count(len(self.stuck), "stuck thread"))
        if self.orphaned:
            n = len(self.orphaned)
            parts.append(
                "1 lock held by an exited thread" if n == 1 else f"{n} locks held by exited threads"
            )
        lines = [
            f"snarl watchdog: {', '.join(parts)} · pid {self.snapshot.pid}"
            f" · checks every {self.period:g} s, stuck after {self.threshold:g} s"
        ]
        names = {t.ident: t.label for t in self.snapshot.threads}
        for i, d in enumerate(self.deadlocks, 1):
            lines.append("")
            certain = "" if d.certain else " (rests on with-block inference)"
            lines.append(f"Deadlock {i} of {len(self.deadlocks)}, reported once{certain}:")
            for step in d.steps:
                who = names.get(step.thread) or f"<thread {step.thread:#x}>"
                holder = step.holder
                by = f'"{holder.name}"' if holder.name else f"<thread {holder.ident:#x}>"
                lines.append(
                    f"  {who} waits for {wait_text(step.wait)} at {wait_site(step.wait)},"
                    f" held by {by} ({_basis(holder.basis)}){self._cpu_note(step.thread)}"
                )
        if self.stuck:
            lines.append("")
            lines.append(f"Stuck for at least {self.threshold:g} s (each reported once per wait):")
        for s in self.stuck:
            timed = (
                "timed by snarl's records"
                if s.basis == "tracked"
                else "seen in this wait on every check: a lower bound"
            )
            lines.append(
                f"  {s.label} has waited {s.waited:.1f} s ({timed}) for {wait_text(s.wait)}"
                f" at {wait_site(s.wait)}{self._cpu_note(s.ident)}"
            )
            if not s.holders:
                lines.append(f"      {_no_holder(s.wait)}")
            for h in s.holders:  # an exited holder's ident may be another thread's now
                note = self._cpu_note(h.ident) if h.status != "gone" else ""
                lines.append(f"      {_holder_line(h)}{note}")
        if self.orphaned:
            lines.append("")
            lines.append("Locks held by threads that have exited (no thread can release them):")
        for o in self.orphaned:
            owner = f'"{o.owner_name}"' if o.owner_name else f"<thread {o.owner:#x}>"
            made = f" created at {_site(o.created)}" if o.created else ""
            took = f", taken at {_site(o.acquired)}" if o.acquired else ""
            waiting = ", ".join(names.get(w, f"<thread {w:#x}>") for w in o.waiters)
            tail = f"; waited for by {waiting}" if waiting else "; no thread waits for it yet"
            lines.append(
                f"  {o.lock.label}{made}{took} by {owner}, which exited"
                f" {o.exited_ago:.1f} s ago{tail}"
            )
        if self.cpu is None:
            lines.append("")
            lines.append("CPU time per thread: not available on this platform")
        lines.append("")
        return lines

    def _cpu_note(self, ident: int) -> str:
        if self.cpu is None:
            return ""
        seconds = self.cpu.get(ident)
        if seconds is None:
            return " · cpu unknown"
        share = (self.cpu_share or {}).get(ident)
        rate = f", {share:.0%} of a core over {self.cpu_window:.2g} s" if share is not None else ""
        return f" · cpu {seconds:.2f} s{rate}"


def _count(n: int, word: str) -> str:
    return f"{n} {word}{'s' if n != 1 else ''}"


_BASIS = {
    "tracked": "tracked",
    "with-block": "inferred from with-block",
    "rlock-owner": "RLock owner",
    "joined": "the joined thread",
    "running-task": "running its task",
}


def _basis(basis: str) -> str:
    return _BASIS.get(basis, basis)


def _site(site: tuple[str, int | None]) -> str:
    return f"{short_path(site[0])}:{site[1]}"


def describe(t: ThreadInfo) -> str:
    """A thread's state and wait in a few words: ``idle: an item from Queue `jobs` at f.py:3``."""
    if t.wait is None:
        return t.state + (f" in C call {t.in_call}" if t.in_call else "")
    verb = "sleeps in" if t.wait.kind == "sleep" else "waits for"
    what = (t.wait.call or "sleep") if t.wait.kind == "sleep" else wait_text(t.wait)
    return f"{t.state}: {verb} {what} at {wait_site(t.wait)}"


def _holder_line(h: HolderStatus) -> str:
    verb = "joined thread" if h.basis == "joined" else "held by"
    if h.basis == "running-task":
        verb = "run by"
    head = f"{verb} {h.label} ({_basis(h.basis)}): {h.status}"
    if h.status == "blocked" and h.doing:
        return f"{head}, {h.doing}"
    if h.status == "gone":
        return f"{head}: it has exited, so only another thread releasing it by hand can help"
    if h.status == "running" and h.doing:
        return f"{head} ({h.doing})"
    return head


def _no_holder(w: WaitInfo) -> str:
    if w.kind in ("lock", "rlock"):
        return (
            "holder unknown: the lock was taken by a bare acquire() snarl cannot see"
            " (run under snarl.install() to record owners)"
        )
    if w.kind in ("thread-join", "future-result"):
        return "no thread is known to be running it"
    return "no holder: any thread may end this wait, and none is known to be about to"


# ---- delivery ---------------------------------------------------------------------------


class Sink:
    """Where reports go: stderr's file descriptor, a file (appended), a stream, or a callable.

    A path is opened (append mode) when the watchdog is made, so a bad path fails at once,
    and stays open: faulthandler's fallback writes to the same file.  It is opened by
    :func:`snarl.safefile.open_append`: a symbolic link or a FIFO there is refused (OSError).
    """

    def __init__(self, target: ReportTarget, format: str) -> None:
        if format not in ("text", "json"):
            raise ValueError(f"unknown report format {format!r}: choose text or json")
        self.format = format
        self.callback: Callable[[Report], object] | None = None
        self.stream: IO[str] | None = None
        self.owned = False
        if target is None:
            pass
        elif isinstance(target, str | os.PathLike):
            self.stream = open_append(target)  # kept open; never through a symbolic link
            self.owned = True
        elif hasattr(target, "write"):
            self.stream = target  # type: ignore[assignment]
        elif callable(target):
            self.callback = target
        else:
            raise TypeError(
                "report must be None (stderr), a path, a text stream or a callable taking the"
                f" Report, not {type(target).__name__}"
            )

    def deliver(self, report: Report) -> None:
        """Send one report; a callback that raises (even ``SystemExit``) is reported on
        stderr, never re-raised: the watchdog goes on."""
        if self.callback is not None:
            try:
                self.callback(report)
            except BaseException as exc:  # SystemExit would end the watchdog's thread silently
                write_stderr(
                    f"snarl watchdog: the report callback raised {type(exc).__name__}: {exc}\n"
                )
            return
        text = report.format(self.format)
        if self.stream is None:
            write_stderr(text)
            return
        try:
            self.stream.write(text)
            self.stream.flush()
        except Exception as exc:
            write_stderr(f"snarl watchdog: could not write the report: {exc}\n")

    def fallback_file(self) -> Any:
        """What faulthandler should write to: this sink's file when it has one, else fd 2."""
        if self.stream is not None:
            try:
                self.stream.fileno()
                return self.stream
            except Exception:
                pass
        return 2

    def flush(self) -> None:
        """Flush the stream, if any (before an abort)."""
        if self.stream is not None:
            with contextlib.suppress(Exception):
                self.stream.flush()

    def close(self) -> None:
        """Close the file this sink opened (not a stream it was given)."""
        if self.owned and self.stream is not None:
            with contextlib.suppress(Exception):
                self.stream.close()
            self.stream = None


def write_stderr(text: str) -> None:
    """Write to file descriptor 2 directly (no lock of ``sys.stderr``); never raises."""
    stream = sys.__stderr__ or sys.stderr
    encoding = getattr(stream, "encoding", None) or "utf-8"
    data = text.encode(encoding, "backslashreplace")
    try:
        while data:
            data = data[os.write(2, data) :]
    except OSError:
        pass
