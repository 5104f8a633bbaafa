"""Semaphore and BoundedSemaphore, built on a Condition over a snarl Lock (as CPython's are).

A wait in ``acquire`` is recorded against the Semaphore itself (kind ``semaphore``).  Arguments,
results and error messages are those of ``threading.Semaphore``.
"""

from __future__ import annotations

from types import TracebackType

from ..identity import Site, caller_site, infer_name
from .condition import Condition
from .lock import Lock

__all__ = ["BoundedSemaphore", "Semaphore"]


class Semaphore:
    """Drop-in ``threading.Semaphore``: a counter; ``acquire`` waits while it is zero."""

    _snarl_kind = "semaphore"  # what a wait on it is (read by the observer)

    _name: str | None = None

    def __init__(self, value: int = 1, name: str | None = None, *, _site: Site | None = None):
        if value < 0:
            raise ValueError("semaphore initial value must be >= 0")
        self._site_created = _site if _site is not None else caller_site(2)
        if name is not None:
            self._name = name
        lock = Lock(_site=self._site_created)
        lock._part_of = id(self)
        self._cond = Condition(lock, _site=self._site_created)
        self._snarl_lock = lock
        self._value = value

    @property
    def name(self) -> str | None:
        """``name=`` if given, else inferred from the creating line."""
        return self._name if self._name is not None else infer_name(self._site_created)

    def __repr__(self) -> str:
        name = self.name
        label = f" {name!r}" if name else ""
        # (threading's shape, "<threading.Semaphore at 0x...: value=3>", the name after the
        # address: CPython's own tests match reprs with a pattern of that shape)
        return f"<snarl.sync.{type(self).__name__} at {hex(id(self))}{label}: value={self._value}>"

    def _at_fork_reinit(self) -> None:
        self._cond._at_fork_reinit()

    def acquire(self, blocking: bool = True, timeout: float | None = None) -> bool:
        """Decrement the counter, waiting while it is zero; False on timeout or non-blocking."""
        if not blocking and timeout is not None:
            raise ValueError("can't specify timeout for non-blocking acquire")
        rc = False
        endtime = None
        with self._cond:
            while self._value == 0:
                if not blocking:
                    break
                if timeout is not None:
                    if endtime is None:
                        endtime = self._cond._rt.monotonic() + timeout
                    else:
                        timeout = endtime - self._cond._rt.monotonic()
                        if timeout <= 0:
                            break
                self._cond._wait(timeout, self)
            else:
                self._value -= 1
                rc = True
        return rc

    __enter__ = acquire

    def release(self, n: int = 1) -> None:
        """Increment the counter by ``n`` and wake up to ``n`` waiters."""
        if n < 1:
            raise ValueError("n must be one or more")
        with self._cond:
            self._value += n
            self._cond.notify(n)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()


class BoundedSemaphore(Semaphore):
    """Drop-in ``threading.BoundedSemaphore``: releasing above the initial value is an error."""

    def __init__(self, value: int = 1, name: str | None = None, *, _site: Site | None = None):
        super().__init__(value, name, _site=_site if _site is not None else caller_site(2))
        self._initial_value = value

    def __repr__(self) -> str:
        base = super().__repr__()
        return base[:-1] + f"/{self._initial_value}>"

    def release(self, n: int = 1) -> None:
        """As :meth:`Semaphore.release`; ``ValueError`` if it would exceed the initial value."""
        if n < 1:
            raise ValueError("n must be one or more")
        with self._cond:
            if self._value + n > self._initial_value:
                raise ValueError("Semaphore released too many times")
            self._value += n
            self._cond.notify(n)
