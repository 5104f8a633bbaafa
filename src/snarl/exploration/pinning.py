"""The exploring thread, and the threads it starts, on one CPU and without wake-up preemption.

Only one managed thread runs at a time, so an exploration gains nothing from a second CPU and
loses much at every switch, where the running thread wakes the chosen one and then parks.
Measured on the 2-CPU machine of ``benchmarks/RESULTS.md`` (two Python threads handing a
``_thread`` lock back and forth, CPython 3.12): about 28 µs per hand-over by default; 7 µs
with both threads on one CPU; 3 µs on one CPU under ``SCHED_BATCH``, which stops the woken
thread from preempting the waker (it would run only to find the GIL still held, and sleep
again).

:func:`pinned` sets both for the calling thread (Linux: a thread inherits its creator's CPU
mask and policy, so every thread of an execution gets them) and restores them afterwards.
The CPU is the one the thread was running on, so parallel explorations (pytest-xdist) usually
start on different CPUs; ``--jobs`` workers take one each, in turn.  Threads an execution leaves
running, and processes a test starts, keep the settings.  ``SNARL_PIN=0`` in the environment
turns this off; where the calls are missing or refused (not Linux, a restrictive container)
it does nothing.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager, suppress

__all__ = ["pinned"]


@contextmanager
def pinned(prefer: int | None = None) -> Iterator[None]:
    """The calling thread on its current CPU, under ``SCHED_BATCH``, for the block.

    ``prefer`` (``--jobs``: the worker's number) picks the CPU instead: the ``prefer``-th of
    those allowed, round the list, so forked workers start on different CPUs.
    """
    if not hasattr(os, "sched_setaffinity") or os.environ.get("SNARL_PIN") == "0":
        yield
        return
    allowed = _call(os.sched_getaffinity, 0)
    if allowed and len(allowed) > 1:
        cpu = _current_cpu() if prefer is None else sorted(allowed)[prefer % len(allowed)]
        if _call(os.sched_setaffinity, 0, {cpu if cpu in allowed else min(allowed)}) is None:
            allowed = None  # refused: nothing to restore
    else:
        allowed = None
    batch = (
        getattr(os, "SCHED_BATCH", None) is not None
        and _call(os.sched_getscheduler, 0) == os.SCHED_OTHER
        and _call(os.sched_setscheduler, 0, os.SCHED_BATCH, os.sched_param(0)) is not None
    )
    try:
        yield
    finally:
        if batch:
            _call(os.sched_setscheduler, 0, os.SCHED_OTHER, os.sched_param(0))
        if allowed:
            _call(os.sched_setaffinity, 0, allowed)


def _call(fn, *args):  # type: ignore[no-untyped-def]
    """``fn(*args)``, or None when the system refuses; a call with no result gives True."""
    with suppress(OSError):
        result = fn(*args)
        return True if result is None else result
    return None


def _current_cpu() -> int | None:
    """The CPU the calling thread last ran on (field 39 of ``/proc/thread-self/stat``)."""
    try:
        with open("/proc/thread-self/stat", "rb") as f:
            stat = f.read()
        return int(stat.rsplit(b")", 1)[1].split()[36])
    except (OSError, ValueError, IndexError):
        return None
