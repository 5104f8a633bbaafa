"""CPU time per thread, read from the kernel, to tell a spinning thread from a blocked one.

On Linux each thread has a CPU-time clock named after its kernel thread id (the ``native_id``
of a ``threading.Thread``): ``clock_gettime`` on it answers for a thread that is alive and in
this process, and fails with ``EINVAL`` for any other, so a thread that exits between being
listed and being read is skipped, never misread.

``time.pthread_getcpuclockid(ident)`` is not used: it reads the ``pthread_t`` of the thread,
and the ``pthread_t`` of a thread that has exited is undefined behaviour in POSIX (glibc may
have unmapped the memory it points into).  A watchdog reads threads that come and go.

Elsewhere (macOS, Windows) only the calling thread's own time is available
(``time.thread_time()``); every other thread's is None, shown as unknown.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Iterable

__all__ = ["AVAILABLE", "cpu_seconds", "cpu_times"]

_LINUX = sys.platform.startswith("linux") and hasattr(time, "clock_gettime")
AVAILABLE = _LINUX
"""Whether other threads' CPU times can be read on this platform."""

_CPUCLOCK_PERTHREAD_SCHED = 6  # glibc's make_thread_cpuclock(tid, CPUCLOCK_SCHED)


def cpu_seconds(native_id: int | None) -> float | None:
    """CPU seconds used so far by the thread with this kernel thread id, or None.

    None when the id is unknown (a thread started with ``_thread``), the thread has exited,
    or the platform cannot say.  Never raises.
    """
    if native_id is None:
        return None
    try:
        if native_id == threading.get_native_id():
            return time.thread_time()
        if not _LINUX:
            return None
        return time.clock_gettime((~native_id << 3) | _CPUCLOCK_PERTHREAD_SCHED)
    except (AttributeError, OSError, OverflowError, ValueError, TypeError):
        return None


def cpu_times(native_ids: Iterable[int | None]) -> dict[int, float]:
    """``{native_id: seconds}`` for each id whose CPU time can be read now (others left out)."""
    found = {}
    for native_id in native_ids:
        seconds = cpu_seconds(native_id)
        if seconds is not None and native_id is not None:
            found[native_id] = seconds
    return found
