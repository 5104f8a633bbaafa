"""The timeouts' watcher thread around ``fork()`` (see :mod:`snarl.pytest_timeouts`).

The watcher makes the process multi-threaded, and ``fork()`` in a multi-threaded process
warns from 3.12 on (``DeprecationWarning: This process is multi-threaded, use of fork() may
lead to deadlocks in the child``, which a suite may turn into an error).  A test that forks
has its watcher stopped just before the fork (waiting, on Linux, until its OS thread and any
earlier phase's are gone), and the rest of the phase timed again in the parent, without a
thread being started before the fork has been counted:

* 3.12 counts threads before the fork hooks run: the ``after_in_parent`` hook starts the
  new watcher (thread method);
* 3.13 counts them after: no thread may start in the hook.  The signal method times the rest
  with an itimer, whose ``SIGALRM`` starts the watcher; the thread method sets a profile
  function (``sys.setprofile``) for the forking thread that starts the watcher at the first
  event of the frame that called ``fork()`` (its next call, or its return: after the count),
  and then puts back the profile function that was there.  A frame that after its fork
  runs on without calling or returning (a bare ``while True: pass``) is not timed.
"""

from __future__ import annotations

import os
import signal
import sys
import time
import types
from _thread import allocate_lock
from typing import Any

_ARMED = "armed"  # a job's state before its timer fires (the others: pytest_timeouts)

_COUNTS_AFTER_HOOKS = sys.version_info >= (3, 13)


class _ForkPause:
    """The fork hooks of :class:`snarl.pytest_timeouts._Timeouts` (a mixin: its state)."""

    _job: Any
    _rearm: Any
    _resume: Any
    _starting: Any
    _watchers: set[int]

    def _start_watcher(self, job: Any) -> None:
        raise NotImplementedError

    def _before_fork(self) -> None:
        job = self._job
        if job is None or job.paused:
            return
        with job.mutex:
            if job.state != _ARMED:
                return  # firing: the watcher must go on
            job.paused = True
        job.cancel.release()
        job.finished.acquire(timeout=1.0)
        # An OS thread ends a little after its last Python code (longer on 3.13): wait for
        # this watcher's and the earlier phases' to be gone (Linux lists them in /proc).
        end = time.monotonic() + 1.0
        while self._starting and time.monotonic() < end:  # a watcher not yet running
            time.sleep(0.0005)
        for tid in list(self._watchers):
            while os.path.exists(f"/proc/self/task/{tid}") and time.monotonic() < end:
                time.sleep(0.0005)
            if not os.path.exists(f"/proc/self/task/{tid}"):
                self._watchers.discard(tid)

    def _after_fork_in_parent(self) -> None:
        job = self._job
        if job is None or not job.paused:
            return
        job.cancel, job.finished = allocate_lock(), allocate_lock()
        job.cancel.acquire()
        job.finished.acquire()
        if job.method == "signal":
            self._rearm = job
            signal.setitimer(signal.ITIMER_REAL, max(0.001, job.deadline - time.monotonic()))
        elif _COUNTS_AFTER_HOOKS:
            self._resume_after(sys._getframe(1), job)  # (the frame that called fork())
        else:
            job.paused = False
            self._start_watcher(job)

    def _resume_after(self, forker: types.FrameType, job: Any) -> None:
        """Start ``job``'s watcher at the first profile event of ``forker`` (see above)."""
        previous = sys.getprofile()

        def resume(frame: types.FrameType, event: str, arg: Any) -> None:
            if previous is not None:
                previous(frame, event, arg)
            if frame is not forker:
                return  # the fork hooks returning, a warning being recorded: not yet
            self._cancel_resume()
            if self._job is job and job.paused:
                job.paused = False
                self._start_watcher(job)

        self._resume = (resume, previous)
        sys.setprofile(resume)

    def _cancel_resume(self) -> None:
        """Put back the profile function that a pending resume replaced (same thread)."""
        pending, self._resume = self._resume, None
        if pending is not None and sys.getprofile() is pending[0]:
            sys.setprofile(pending[1])
