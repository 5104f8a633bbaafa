"""Event and Barrier, built on a Condition over a snarl Lock (as CPython's are).

Waits are recorded against the Event or Barrier itself (kinds ``event`` and ``barrier``).
``BrokenBarrierError`` is ``threading``'s own class, so existing ``except`` clauses work.
Behaviour follows ``threading`` of the running Python (``Barrier(0)`` raises
``ValueError: parties must be > 0`` from 3.13 on, as the stdlib does).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from ..identity import Site, caller_site, infer_name
from .condition import Condition
from .lock import Lock

__all__ = ["Barrier", "BrokenBarrierError", "Event"]


def _parties_error() -> str | None:
    """What ``threading.Barrier(0)`` of this Python says (3.13 refuses it, with a message that
    changed within 3.13), or None if it accepts it (3.10-3.12)."""
    try:
        threading.Barrier(0)  # (snarl's classes are not installed while this module loads)
    except ValueError as exc:
        return str(exc)
    return None


_PARTIES_ERROR = _parties_error()

BrokenBarrierError = threading.BrokenBarrierError


def _cond_for(owner: Any, site: Site) -> Condition:
    lock = Lock(_site=site)
    lock._part_of = id(owner)
    owner._snarl_lock = lock
    return Condition(lock, _site=site)


class Event:
    """Drop-in ``threading.Event``: a flag threads can wait for."""

    _snarl_kind = "event"  # what a wait on it is (read by the observer)
    _snarl_type = "Event"

    def __init__(self, name: str | None = None, *, _site: Site | None = None) -> None:
        self._site_created = _site if _site is not None else caller_site(2)
        self._name = name
        self._cond = _cond_for(self, self._site_created)
        self._flag = False

    @property
    def name(self) -> str | None:
        """``name=`` if given, else inferred from the creating line."""
        return self._name if self._name is not None else infer_name(self._site_created)

    def __repr__(self) -> str:
        name = self.name
        label = f" {name!r}" if name else ""
        status = "set" if self._flag else "unset"
        return f"<snarl.sync.Event at {hex(id(self))}{label}: {status}>"

    def _at_fork_reinit(self) -> None:
        self._cond._at_fork_reinit()

    def is_set(self) -> bool:
        """Whether the flag is set."""
        return self._flag

    def isSet(self) -> bool:
        """Deprecated alias of :meth:`is_set`, as in threading."""
        import warnings

        warnings.warn("isSet() is deprecated, use is_set() instead", DeprecationWarning, 2)
        return self.is_set()

    def set(self) -> None:
        """Set the flag and wake every waiter."""
        with self._cond:
            self._flag = True
            self._cond.notify_all()

    def clear(self) -> None:
        """Reset the flag."""
        with self._cond:
            self._flag = False

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until the flag is set or the timeout passes; return the flag."""
        with self._cond:
            signaled = self._flag
            if not signaled:
                signaled = self._cond._wait(timeout, self)
            return signaled


class Barrier:
    """Drop-in ``threading.Barrier``: ``parties`` threads wait until all have arrived."""

    _snarl_kind = "barrier"  # what a wait on it is (read by the observer)
    _snarl_type = "Barrier"

    def __init__(
        self,
        parties: int,
        action: Callable[[], Any] | None = None,
        timeout: float | None = None,
        name: str | None = None,
        *,
        _site: Site | None = None,
    ) -> None:
        if parties < 1 and _PARTIES_ERROR is not None:
            raise ValueError(_PARTIES_ERROR)
        self._site_created = _site if _site is not None else caller_site(2)
        self._name = name
        self._cond = _cond_for(self, self._site_created)
        self._action = action
        self._timeout = timeout
        self._parties = parties
        self._state = 0  # 0 filling, 1 draining, -1 resetting, -2 broken
        self._count = 0

    @property
    def name(self) -> str | None:
        """``name=`` if given, else inferred from the creating line."""
        return self._name if self._name is not None else infer_name(self._site_created)

    def __repr__(self) -> str:
        name = self.name
        label = f" {name!r}" if name else ""
        if self.broken:
            return f"<snarl.sync.Barrier at {hex(id(self))}{label}: broken>"
        return (
            f"<snarl.sync.Barrier at {hex(id(self))}{label}: "
            f"waiters={self.n_waiting}/{self.parties}>"
        )

    def wait(self, timeout: float | None = None) -> int:
        """Wait for the other parties; return this thread's arrival index (0 .. parties-1)."""
        if timeout is None:
            timeout = self._timeout
        with self._cond:
            self._enter()
            index = self._count
            self._count += 1
            try:
                if index + 1 == self._parties:
                    self._release()
                else:
                    self._wait_drain(timeout)
                return index
            finally:
                self._count -= 1
                self._exit()

    def _enter(self) -> None:
        while self._state in (-1, 1):
            self._cond._wait(None, self)
        if self._state < 0:
            raise BrokenBarrierError
        assert self._state == 0

    def _release(self) -> None:
        try:
            if self._action:
                self._action()
            self._state = 1
            self._cond.notify_all()
        except BaseException:
            self._break()
            raise

    def _wait_drain(self, timeout: float | None) -> None:
        if not self._cond._wait_for(lambda: self._state != 0, timeout, self):
            self._break()
            raise BrokenBarrierError
        if self._state < 0:
            raise BrokenBarrierError
        assert self._state == 1

    def _exit(self) -> None:
        if self._count == 0 and self._state in (-1, 1):
            self._state = 0
            self._cond.notify_all()

    def reset(self) -> None:
        """Return to the empty state; threads waiting now get ``BrokenBarrierError``."""
        with self._cond:
            if self._count > 0:
                if self._state == 0 or self._state == -2:
                    self._state = -1
            else:
                self._state = 0
            self._cond.notify_all()

    def abort(self) -> None:
        """Break the barrier: current and future waits raise ``BrokenBarrierError``."""
        with self._cond:
            self._break()

    def _break(self) -> None:
        self._state = -2
        self._cond.notify_all()

    @property
    def parties(self) -> int:
        """The number of threads needed to pass the barrier."""
        return self._parties

    @property
    def n_waiting(self) -> int:
        """The number of threads waiting now."""
        if self._state == 0:
            return self._count
        return 0

    @property
    def broken(self) -> bool:
        """Whether the barrier is broken."""
        return self._state == -2
