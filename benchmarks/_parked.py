"""Shared benchmark fixture: N threads parked D frames deep on one shared Event.

Imported by the scripts in this directory (it is not a test module).  ``repo_src()`` puts the
source tree's ``src`` directory first on ``sys.path``, located relative to this file, so the
scripts run snarl from the checkout without installing it.
"""

from __future__ import annotations

import inspect
import os
import sys
import threading
import time

DEPTH = 12
"""Frames of the recursive ``park`` function in each parked thread (above Thread.run)."""

STACK_SIZE = 256 * 1024
"""Thread stack size while the parked threads start: 12 frames need far less than this."""


def repo_src() -> str:
    """The checkout's ``src`` directory, inserted first on ``sys.path``."""
    src = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "src")
    if src not in sys.path:
        sys.path.insert(0, src)
    return src


def park(depth: int, arrived: threading.Semaphore, release: threading.Event) -> None:
    """Recurse to ``depth`` frames of ``park``, report arrival, then wait on ``release``."""
    if depth > 1:
        park(depth - 1, arrived, release)
        return
    arrived.release()
    release.wait()


def _blocking_acquire_line() -> int | None:
    """The line of ``waiter.acquire()`` where Condition.wait(None) blocks (the last one).

    The first ``waiter.acquire()`` in Condition.wait takes a fresh lock and never blocks; the
    last one is the wait itself.  None (accept any line of Condition.wait) if not found.
    """
    try:
        lines, start = inspect.getsourcelines(threading.Condition.wait)
    except (OSError, TypeError):
        return None
    found = [start + i for i, text in enumerate(lines) if text.strip() == "waiter.acquire()"]
    return found[-1] if found else None


class Parked:
    """A context manager: ``n`` threads parked ``depth`` frames deep in ``Event.wait``.

    On entry it starts the threads, takes the semaphore once per thread (each releases it just
    before ``release.wait()``), then checks with ``sys._current_frames()`` that every thread's
    innermost frame is ``threading.Condition.wait`` at the line of its blocking
    ``waiter.acquire()``, i.e. that it is blocked in C on the Event's waiter lock.  No fixed
    sleep is used: the check is polled until true (with a timeout).  On exit the Event is set
    and every thread joined.
    """

    def __init__(self, n: int, depth: int = DEPTH, timeout: float = 60.0) -> None:
        self.n, self.depth, self.timeout = n, depth, timeout
        self.release = threading.Event()
        self.threads: list[threading.Thread] = []

    def __enter__(self) -> Parked:
        arrived = threading.Semaphore(0)
        try:
            old = threading.stack_size(STACK_SIZE)
            try:
                for i in range(self.n):
                    t = threading.Thread(
                        target=park,
                        args=(self.depth, arrived, self.release),
                        name=f"parked-{i}",
                        daemon=True,
                    )
                    t.start()
                    self.threads.append(t)
            finally:
                threading.stack_size(old)
            deadline = time.monotonic() + self.timeout
            for _ in range(self.n):
                if not arrived.acquire(timeout=max(0.0, deadline - time.monotonic())):
                    raise TimeoutError(f"parked threads did not all arrive in {self.timeout} s")
            self._wait_blocked(deadline)
        except BaseException:
            self.__exit__()  # release and join whatever started
            raise
        return self

    def _wait_blocked(self, deadline: float) -> None:
        """Poll until every parked thread sits on Condition.wait's blocking acquire line."""
        cond_wait = threading.Condition.wait.__code__
        line = _blocking_acquire_line()
        idents = {t.ident for t in self.threads}
        while True:
            frames = sys._current_frames()
            pending = 0
            for ident in idents:
                f = frames.get(ident)
                blocked = f is not None and f.f_code is cond_wait
                if not blocked or (line is not None and f.f_lineno != line):
                    pending += 1
            frames = f = None  # keep no frame alive while timing
            if not pending:
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"{pending} parked threads never blocked")
            time.sleep(0.001)  # a poll interval, not a guess: the loop re-checks the frames

    def __exit__(self, *exc: object) -> None:
        self.release.set()
        for t in self.threads:
            t.join()
