"""Condition over any lock, written (like CPython's) on the base lock alone.

Each waiter parks on its own inner lock from the runtime, through ``runtime.block()``, so the
wait is recorded (which Condition, since when) and a controlled runtime can schedule it.  The
Condition's lock may be any lock: snarl's Lock or RLock (their ``_release_save`` keeps the
acquisition site across a wait), a native lock, or a user object with acquire/release.
Behaviour and error messages follow ``threading.Condition`` of the running Python, including
gh-92530 (a waiter released twice by a racing timeout is skipped by ``notify``).
"""

from __future__ import annotations

import contextlib
import sys
from _thread import get_ident
from collections import deque
from collections.abc import Callable
from types import TracebackType
from typing import Any, TypeVar

from ..identity import Site, caller_site, infer_name
from ..runtime.base import _current as _runtimes
from .lock import Lock, RLock

__all__ = ["Condition"]

T = TypeVar("T")
_getframe = sys._getframe


class Condition:
    """Drop-in ``threading.Condition``.  ``lock`` defaults to a new (snarl) RLock."""

    _snarl_kind = "condition"  # what a wait on it is (read by the observer)
    _snarl_type = "Condition"

    _name: str | None = None

    def __init__(self, lock: Any = None, name: str | None = None, *, _site: Site | None = None):
        self._rt = _runtimes[-1]  # current_runtime(), inlined: Futures make one Condition each
        self._site_created = _site if _site is not None else caller_site(2)
        if name is not None:
            self._name = name
        self._waiters: deque[Any] = deque()
        if lock is None:
            lock = RLock(_site=self._site_created)
            lock._part_of = id(self)
            if type(lock) is RLock:  # not hooked: `with` may take the C lock directly
                self._fast = lock._inner
            self._lock = lock
            self.acquire = lock.acquire
            self.release = lock.release
            self._release_save = lock._release_save
            self._acquire_restore = lock._acquire_restore
            self._is_owned = lock._is_owned
            return
        self._lock = lock
        self.acquire = lock.acquire
        self.release = lock.release
        if type(lock) is Lock:  # not hooked: `with` may take the C lock, then store the owner
            self._fast_lock = lock
            # (snarl's Lock has the private protocol: no need to look, on a path every
            # Event, Semaphore and Future takes)
            self._release_save = lock._release_save
            self._acquire_restore = lock._acquire_restore
            self._is_owned = lock._is_owned
            return
        # Use the lock's private protocol when it has one (as CPython does).
        with contextlib.suppress(AttributeError):
            self._release_save = lock._release_save
        with contextlib.suppress(AttributeError):
            self._acquire_restore = lock._acquire_restore
        with contextlib.suppress(AttributeError):
            self._is_owned = lock._is_owned

    @property
    def name(self) -> str | None:
        """``name=`` if given, else inferred from the creating line."""
        return self._name if self._name is not None else infer_name(self._site_created)

    def _at_fork_reinit(self) -> None:
        self._lock._at_fork_reinit()
        self._waiters.clear()

    # The uncontended ``with`` on a plain snarl lock is that lock's own uncontended ``with``,
    # inlined (a Future makes a Condition and enters it several times): the C lock is taken
    # directly and no site is read, as the dump takes the line from the ``with`` block.
    _fast: Any = None  # the C lock inside a plain snarl RLock this Condition made
    _fast_lock: Any = None  # a plain snarl Lock given as ``lock``

    def __enter__(self) -> bool:
        fast = self._fast
        if fast is not None and fast.acquire(False):
            return True
        lock = self._fast_lock
        if lock is not None and lock._inner.acquire(False):
            lock._owner = get_ident()
            lock._acq_code = None
            return True
        lock = self._lock
        enter_at = getattr(type(lock), "_acquire_at", None)
        if enter_at is not None:  # a snarl lock: record the ``with`` line, not this one
            return enter_at(lock, _getframe(1))  # type: ignore[no-any-return]
        return lock.__enter__()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> Any:
        fast = self._fast
        if fast is not None and self._lock._acq_code is None:
            fast.release()
            return None
        return self._lock.__exit__(exc_type, exc, tb)

    def __repr__(self) -> str:
        name = self.name
        label = f" {name!r}" if name else ""
        return f"<snarl.sync.Condition{label}({self._lock!r}, {len(self._waiters)})>"

    def _release_save(self) -> Any:
        self._lock.release()  # no state to save

    def _acquire_restore(self, x: Any) -> None:
        self._lock.acquire()  # ignore saved state

    def _is_owned(self) -> bool:
        # Return True if the lock is owned by *anyone* (CPython's fallback, kept exactly).
        if self._lock.acquire(False):
            self._lock.release()
            return False
        return True

    def wait(self, timeout: float | None = None) -> bool:
        """Release the lock, wait for a notify or the timeout, reacquire; False on timeout."""
        return self._wait(timeout, self)

    def _wait(self, timeout: float | None, on: Any) -> bool:
        if not self._is_owned():
            raise RuntimeError("cannot wait on un-acquired lock")
        rt = self._rt
        waiter = rt.allocate_lock()
        waiter.acquire()
        self._waiters.append(waiter)
        saved_state = self._release_save()
        gotit = False
        try:  # restore state no matter what (e.g., KeyboardInterrupt)
            if timeout is None:
                rt.block(on, waiter, True, -1)
                gotit = True
            elif timeout > 0:
                gotit = rt.block(on, waiter, True, timeout)
            else:
                gotit = waiter.acquire(False)
            return gotit
        finally:
            self._acquire_restore(saved_state)
            if not gotit:
                try:  # noqa: SIM105  (hot path: suppress() costs a call)
                    self._waiters.remove(waiter)
                except ValueError:
                    pass

    def wait_for(self, predicate: Callable[[], T], timeout: float | None = None) -> T:
        """Wait until ``predicate()`` is true (or the timeout passes); return its last value."""
        return self._wait_for(predicate, timeout, self)

    def _wait_for(self, predicate: Callable[[], T], timeout: float | None, on: Any) -> T:
        endtime = None
        waittime = timeout
        result = predicate()
        while not result:
            if waittime is not None:
                if endtime is None:
                    endtime = self._rt.monotonic() + waittime
                else:
                    waittime = endtime - self._rt.monotonic()
                    if waittime <= 0:
                        break
            self._wait(waittime, on)
            result = predicate()
        return result

    def notify(self, n: int = 1) -> None:
        """Wake up to ``n`` waiters; the lock must be held."""
        if not self._is_owned():
            raise RuntimeError("cannot notify on un-acquired lock")
        waiters = self._waiters
        while waiters and n > 0:
            waiter = waiters[0]
            try:
                waiter.release()
            except RuntimeError:
                # gh-92530: the waiter timed out and was released by a racing notify already.
                pass
            else:
                n -= 1
            try:  # noqa: SIM105  (hot path: suppress() costs a call)
                waiters.remove(waiter)
            except ValueError:
                pass

    def notify_all(self) -> None:
        """Wake every waiter; the lock must be held."""
        self.notify(len(self._waiters))

    def notifyAll(self) -> None:
        """Deprecated alias of :meth:`notify_all`, as in threading."""
        import warnings

        warnings.warn(
            "notifyAll() is deprecated, use notify_all() instead", DeprecationWarning, stacklevel=2
        )
        self.notify_all()
