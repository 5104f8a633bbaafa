"""The inner locks of primitives under control: :class:`SimLock` and :class:`SimRLock`.

A primitive created under a controlled runtime (or under the exploration's runtime, which
serves every execution of an exploration) wraps one of these instead of a ``_thread`` lock.
Each is a real lock, which holds the state (so ``locked()`` and unmanaged threads work as
usual), plus the bookkeeping a scheduler needs: the managed thread holding it, where it took
it, and the managed threads waiting for it.

Every operation goes to the runtime *active now* (``self._rt.active``): the execution that is
running, or, between executions, the idle runtime whose locks block for real.  So a lock made
at import, or lazily in an earlier execution, is scheduled by whichever execution uses it.
"""

from __future__ import annotations

import linecache
import sys
from _thread import RLock as _CRLock
from _thread import allocate_lock
from collections.abc import Callable
from types import FrameType
from typing import Any

__all__ = ["SimLock", "SimRLock", "real_acquire", "site_from", "user_site"]

Site = tuple[str, int | None, str, str]


def user_site(skip: Callable[[str], bool]) -> Site | None:
    """The innermost frame of user code (not snarl's, not a library's), as a site tuple."""
    return site_from(sys._getframe(2), skip)


def site_from(frame: FrameType | None, skip: Callable[[str], bool]) -> Site | None:
    """The first frame of user code from ``frame`` outwards, as a site tuple."""
    while frame is not None:
        name = frame.f_code.co_filename
        if not skip(name):
            line = frame.f_lineno
            source = linecache.getline(name, line).strip() if line else ""
            return (name, line, frame.f_code.co_name, source)
        frame = frame.f_back
    return None


def _took(inner: Any, me: Any, rt: Any) -> None:
    """``inner`` was just taken by managed thread ``me`` (or an unmanaged thread: None)."""
    inner.holder = me
    if me is not None and rt.record_steps:
        inner.site = user_site(rt.skip)  # (snarl's own frames are passed over)


class SimLock:
    """The inner lock of a Lock (and of Condition waiters) under control.

    ``_thread.lock``'s interface.  ``rt`` is a runtime with an ``active`` attribute: the
    runtime whose ``acquire_inner`` and ``freed`` each operation calls.
    """

    __slots__ = ("_real", "_rt", "holder", "race", "site", "waiters")

    def __init__(self, rt: Any) -> None:
        self._rt = rt
        self._real = allocate_lock()
        self.holder: Any = None  # the Managed thread holding it
        self.waiters: list[Any] = []
        self.site: Site | None = None  # where the holder took it
        self.race: Any = None  # what the race detector learnt of it (snarl explore --races)

    def _try(self, me: Any, rt: Any) -> bool:
        if self._real.acquire(False):
            _took(self, me, rt)
            return True
        return False

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        """As ``_thread.lock.acquire``: a switch point, then the real lock if it is free."""
        return self._rt.active.acquire_inner(None, self, blocking, timeout)  # type: ignore[no-any-return]

    def release(self) -> None:
        """As ``_thread.lock.release``; wakes the threads waiting for it (a switch point)."""
        self._real.release()
        self.holder = None
        self._rt.active.freed(self, "release")

    def locked(self) -> bool:
        """Whether the lock is held."""
        return self._real.locked()

    def _at_fork_reinit(self) -> None:
        self._real = allocate_lock()
        self.holder = None
        self.waiters = []

    __enter__ = acquire

    def __exit__(self, *exc: object) -> None:
        self.release()


class SimRLock(_CRLock):
    """The inner lock of an RLock under control.

    A subclass of the interpreter's RLock, so owner and count stay where snarl's RLock reads
    them (its repr); acquire and release reach the active runtime first, as :class:`SimLock`
    does.
    """

    __slots__ = ("_rt", "holder", "race", "site", "waiters")

    def __new__(cls, rt: Any) -> SimRLock:
        self = super().__new__(cls)
        self._rt = rt
        self.holder = None
        self.waiters = []
        self.site = None
        self.race = None
        return self

    def __init__(self, rt: Any) -> None:
        pass

    def _try(self, me: Any, rt: Any) -> bool:
        if _CRLock.acquire(self, False):
            _took(self, me, rt)
            return True
        return False

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        """As ``_thread.RLock.acquire`` (a re-entry never waits, and is no switch point)."""
        if self._is_owned():
            return _CRLock.acquire(self, blocking, timeout)
        return self._rt.active.acquire_inner(None, self, blocking, timeout)  # type: ignore[no-any-return]

    def release(self) -> None:
        """As ``_thread.RLock.release``; the final release wakes waiters (a switch point)."""
        _CRLock.release(self)
        if not self._is_owned():
            self.holder = None
            self._rt.active.freed(self, "release")

    def _release_save(self) -> Any:
        state = _CRLock._release_save(self)
        self.holder = None
        self._rt.active.freed(self, "release")
        return state

    __enter__ = acquire

    def __exit__(self, *exc: object) -> None:
        self.release()


def real_acquire(inner: Any, blocking: Any, timeout: Any) -> bool:
    """Acquire ``inner`` (a SimLock or SimRLock) for real, blocking as a native lock does
    (for threads no scheduler manages)."""
    if isinstance(inner, SimRLock):
        return bool(_CRLock.acquire(inner, blocking, timeout))
    return bool(inner._real.acquire(blocking, timeout))
