"""An execution that stops reaching switch points: which thread, where, and whether it spins.

Exactly one managed thread runs at a time; the others are parked on their batons.  When no
switch point comes for a while, the one that is not parked is the culprit, and its frames say
where it is.  Its CPU time says what it is doing there: a thread whose CPU clock moves is
*spinning* (a busy loop with no synchronisation operation: at ``"sync"`` granularity nothing
in it is a switch point); one whose clock stands still is *blocked* outside snarl's control
(a native lock, real I/O, a C call).  Linux and most Unixes give a thread's CPU clock
(``time.pthread_getcpuclockid``); where none is given, the state is said to be unknown.
"""

from __future__ import annotations

import linecache
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import FrameType
from typing import Any

from ..frames import current_frames
from ..runtime.controlled import ControlledRuntime
from ..runtime.simlock import site_from

__all__ = ["Stuck", "cpu_seconds", "diagnose", "interrupt", "with_busy"]

_PARK = ControlledRuntime._park.__code__


@dataclass(frozen=True)
class Stuck:
    """The thread that runs without reaching a switch point."""

    tid: int
    name: str
    call: tuple[str, int | None, str, str] | None  # the innermost frame (file, line, ...)
    site: tuple[str, int | None, str, str] | None  # the innermost frame of user code
    busy: bool | None  # its CPU clock moved (a spin), stood still (blocked), or unknown
    ident: int | None

    def describe(self, seconds: float) -> str:
        """One line: who, where, doing what, for how long."""
        where = _where(self.site or self.call)
        call = ""
        if self.call is not None and self.call != self.site and self.call[3]:
            call = f", inside {_where(self.call)}"
        if self.busy:
            what = (
                f"ran {seconds:.0f} s without reaching a switch point (a busy loop with no"
                " synchronisation in it: explore it with --granularity shared, where its reads"
                " of shared state are switch points)"
            )
        elif self.busy is False:
            what = (
                f"has been blocked for {seconds:.0f} s outside snarl's control (a native lock"
                " snarl could not take over, real I/O, or a C call)"
            )
        else:
            what = f"reached no switch point for {seconds:.0f} s (blocked or spinning: unknown)"
        return f'thread "{self.name}" {what}, at {where}{call}'


def _where(site: tuple[str, int | None, str, str] | None) -> str:
    if site is None:
        return "an unknown place"
    file, line, function, source = site
    text = f"{file}:{line} in {function}"
    return f"{text}: {source}" if source else text


def cpu_seconds(ident: int | None) -> float | None:
    """The CPU time thread ``ident`` has used, or None where it cannot be read."""
    if ident is None:
        return None
    try:
        return time.clock_gettime(time.pthread_getcpuclockid(ident))
    except (AttributeError, OSError, OverflowError, ValueError):
        return None


def diagnose(rt: ControlledRuntime, skip: Callable[[str], bool]) -> Stuck | None:
    """The managed thread that is not parked (the one running), or None if every thread is
    parked or not started."""
    frames = current_frames()
    for t in rt.threads:
        if t.state == "finished" or t.ident is None:
            continue
        frame: FrameType | None = frames.get(t.ident)
        if frame is None or frame.f_code is _PARK:
            continue
        return Stuck(
            tid=t.tid,
            name=t.name,
            call=_frame_site(_innermost_outside(frame)),
            site=site_from(frame, skip),
            busy=None,
            ident=t.ident,
        )
    return None


def with_busy(stuck: Stuck, busy: bool | None) -> Stuck:
    """``stuck`` with what its CPU clock said."""
    return Stuck(stuck.tid, stuck.name, stuck.call, stuck.site, busy, stuck.ident)


def _innermost_outside(frame: FrameType) -> FrameType:
    """The innermost frame that is not snarl's machinery (the program's or a library's)."""
    from .execution import is_snarl_file

    f: FrameType | None = frame
    while f is not None and is_snarl_file(f.f_code.co_filename):
        f = f.f_back
    return f if f is not None else frame


def _frame_site(frame: Any) -> tuple[str, int | None, str, str] | None:
    if frame is None:
        return None
    name = frame.f_code.co_filename
    line = frame.f_lineno
    source = linecache.getline(name, line).strip() if line else ""
    return (name, line, frame.f_code.co_name, source)


def interrupt(ident: int, exc: type[BaseException]) -> bool:
    """Raise ``exc`` in thread ``ident`` when it next runs Python code (CPython's
    ``PyThreadState_SetAsyncExc``): how a spinning thread, which reaches no switch point, is
    unwound.  False where it cannot be done."""
    try:
        import ctypes

        set_async = ctypes.pythonapi.PyThreadState_SetAsyncExc
        set_async.argtypes = (ctypes.c_ulong, ctypes.py_object)
        return bool(set_async(ident, exc) == 1)
    except Exception:  # no ctypes, another interpreter: the thread spins on, as a daemon
        return False
