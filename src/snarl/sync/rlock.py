"""RLock: ``threading``'s reentrant lock, with owner, count, site and name recorded.

See :mod:`snarl.sync.lock` for the structure both locks share (inner lock from the runtime,
hooked variants for the lock-order validator).
"""

from __future__ import annotations

import sys
import warnings
from _thread import RLock as _CRLock
from _thread import get_ident
from types import CodeType, TracebackType
from typing import Any

from ..identity import Site, caller_site
from ..runtime.base import _current as _runtimes
from ._base import _DEFAULT, _Base, _getframe

__all__ = ["RLock", "_HookedRLock"]

_crlock_repr = _CRLock.__repr__  # C code: the interpreter's record of owner and count


class RLock(_Base):
    """Drop-in ``threading.RLock``: reentrant, owned by one thread; owner, count, site, name.

    The inner lock is a reentrant C lock the runtime supplies
    (:meth:`~snarl.runtime.base.Runtime.allocate_rlock`): the interpreter keeps the owner and
    the recursion count, so an uncontended ``with`` is one C call each way, and snarl reads
    both back from it (``_owner``, ``_count``) only when asked.
    """

    _snarl_kind = "rlock"  # what a wait on it is (read by the observer)
    _snarl_type = "RLock"

    __slots__ = ()

    def __init__(
        self, *args: Any, name: str | None = None, _site: Site | None = None, **kwargs: Any
    ) -> None:
        if args or kwargs:  # threading.RLock ignores them: with a warning from 3.13 on
            _check_arguments(args, kwargs)
        rt = _runtimes[-1]  # as Lock.__init__
        self._rt = rt
        self._inner = rt.allocate_rlock()
        self._acq_code = None
        self._acq_lasti = 0
        if name is not None:
            self._name = name
        self._site_created = _site if _site is not None else caller_site(2)
        if rt.hooked:
            self.__class__ = _HookedRLock

    # -- owner and count, as the interpreter's RLock records them ----------------------------
    def _state(self) -> tuple[int | None, int]:
        text = _crlock_repr(self._inner)
        if not text.startswith("<locked"):
            return None, 0
        owner = text.partition(" owner=")[2].partition(" ")[0]
        count = text.partition(" count=")[2].partition(" ")[0]
        return (int(owner) if owner.isdigit() else None), (int(count) if count.isdigit() else 0)

    @property  # type: ignore[override]
    def _owner(self) -> int | None:
        return self._state()[0]

    @property
    def _count(self) -> int:
        return self._state()[1]

    def locked(self) -> bool:
        """Whether some thread holds it."""
        return _crlock_repr(self._inner).startswith("<locked")

    @property
    def owner(self) -> int | None:
        """The ident of the thread holding the lock, or None."""
        return self._state()[0]

    # -- acquire and release -----------------------------------------------------------------
    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        """Acquire, or re-enter if the calling thread owns it; arguments as ``threading.RLock``."""
        inner = self._inner
        if timeout is _DEFAULT:
            if inner._is_owned():
                return inner.acquire(blocking)  # re-entry never waits
            if inner.acquire(False):
                f = _getframe(1)
                self._acq_code = f.f_code
                self._acq_lasti = f.f_lasti
                bare = self._rt.bare  # held with no `with` block to show it (see hold_bare)
                (self._rt.hold_bare() if bare is None else bare).add(self)
                return True
        if not self._acquire_slow(blocking, timeout, _getframe(1)):
            return False
        if self._acq_code is not None:  # a first acquisition (a re-entry records no site)
            bare = self._rt.bare
            (self._rt.hold_bare() if bare is None else bare).add(self)
        return True

    # As Lock.__enter__: an uncontended `with` leaves the site to the dump (the with-block).
    def __enter__(self) -> bool:
        if self._inner.acquire(False):
            return True
        return self._acquire_slow(True, -1, _getframe(1))

    def _acquire_slow(self, blocking: Any, timeout: Any, f: Any) -> bool:
        inner = self._inner
        if inner._is_owned():
            return inner.acquire(blocking, timeout)  # re-entry: checks arguments, never waits
        if not self._rt.block(self, inner, blocking, timeout):
            return False
        self._acq_code = f.f_code
        self._acq_lasti = f.f_lasti
        return True

    def _acquire_at(self, f: Any) -> bool:
        """Block until acquired (or re-entered), recording frame ``f`` as the site."""
        inner = self._inner
        if inner._is_owned():
            return inner.acquire()
        if not inner.acquire(False):
            self._rt.block(self, inner, True, -1)
        self._acq_code = f.f_code
        self._acq_lasti = f.f_lasti
        return True

    def release(self) -> None:
        """Leave one level; the last one releases.  ``RuntimeError`` if not the owner."""
        inner = self._inner
        code = self._acq_code
        inner.release()
        if code is not None:
            self._forget_site(code)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        code = self._acq_code
        self._inner.release()
        if code is not None:
            self._forget_site(code)

    def _forget_site(self, code: CodeType) -> None:
        # After the final release the recorded site is stale: drop it, and the bare hold,
        # unless a new owner has recorded its own meanwhile (if that was the same code, it is
        # dropped too: the dump then shows no line rather than a wrong one).
        if self._acq_code is code and not self._inner._is_owned():
            self._acq_code = None
            bare = self._rt.bare
            if bare is not None:
                bare.discard(self)

    def _is_owned(self) -> bool:
        return self._inner._is_owned()

    _mine = _is_owned

    def _recursion_count(self) -> int:
        owner, count = self._state()
        return count if owner == get_ident() else 0

    def _release_save(self) -> Any:
        if not self._inner._is_owned():
            raise RuntimeError("cannot release un-acquired lock")
        saved = (self._inner._release_save(), self._acq_code, self._acq_lasti)
        self._acq_code = None
        return saved

    def _acquire_restore(self, saved: Any) -> None:
        (count, _owner), code, lasti = saved
        inner = self._inner
        if not inner.acquire(False):
            self._rt.block(self, inner, True, -1)  # a recorded wait, like any other
        for _ in range(count - 1):
            inner.acquire()  # the owner's re-entries: never wait
        self._acq_code, self._acq_lasti = code, lasti

    def _at_fork_reinit(self) -> None:
        self._inner._at_fork_reinit()
        self._acq_code = None


class _HookedRLock(RLock):
    """RLock that reports acquisitions and releases to its runtime.

    With held stacks (:attr:`snarl.runtime.base.Runtime.held`) every acquisition, first or
    re-entry, pushes the lock and every release pops it, so the stack mirrors the thread's
    acquisitions without asking the interpreter for the count.  A re-entry (the lock is already
    on the thread's stack) calls no hook.  The runtime hears of
    a first acquisition made while other locks are held, and of a release not on top.
    Without held stacks (other instruments attached) it hears of every first acquisition and
    final release.
    """

    __slots__ = ()

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        """As :meth:`RLock.acquire`, telling the runtime of a first acquisition."""
        f = _getframe(1)
        table = self._rt.held
        if table is not None:
            if not self._ordered(table, blocking, timeout, f):
                return False
        elif self._inner._is_owned():
            return RLock._acquire_slow(self, blocking, timeout, f)
        elif RLock._acquire_slow(self, blocking, timeout, f):
            self._tell_acquired(f)
        else:
            return False
        if self._acq_code is not None:  # a first acquisition: a bare hold (see hold_bare)
            bare = self._rt.bare
            (self._rt.hold_bare() if bare is None else bare).add(self)
        return True

    def __enter__(self) -> bool:
        table = self._rt.held
        if table is not None:
            me = get_ident()
            held = table.get(me)
            if not held and self._inner.acquire(False):  # the thread's only lock: no order
                if held is None:
                    self._rt.new_stack(me, self)
                else:
                    held.append(self)
                return True
        return self._acquire_at(_getframe(1))

    def _acquire_at(self, f: Any) -> bool:
        """As :meth:`RLock._acquire_at`, telling the runtime of a first acquisition."""
        table = self._rt.held
        if table is not None:
            return self._ordered(table, True, -1, f)
        reentry = self._inner._is_owned()
        RLock._acquire_at(self, f)
        if not reentry:
            self._tell_acquired(f)
        return True

    def _ordered(self, table: dict[int, list[Any]], blocking: Any, timeout: Any, f: Any) -> bool:
        """Acquire with held stacks: push a re-entry, or check a first acquisition's order."""
        me = get_ident()
        held = table.get(me)
        if held and self in held:  # re-entry: never waits, makes no edge
            if not self._inner.acquire(blocking, timeout):
                return False
            held.append(self)
            return True
        if held and blocking and (timeout is not _DEFAULT or not self._inner.acquire(False)):
            self._rt.acquiring(self, f)  # a wait while holding locks: its order first
            if not RLock._acquire_slow(self, blocking, timeout, f):
                return False
        elif held and blocking:  # taken at once, just above
            self._acq_code = f.f_code
            self._acq_lasti = f.f_lasti
        elif not RLock._acquire_slow(self, blocking, timeout, f):
            return False
        if not held:
            if held is None:
                self._rt.new_stack(me, self)
            else:
                held.append(self)
            return True
        try:
            self._rt.acquired(self, f)
        except BaseException:  # an instrument refuses it (lock order, raise mode): undo
            self._inner.release()
            raise
        return True

    def _tell_acquired(self, f: Any) -> None:
        try:
            self._rt.acquired(self, f)
        except BaseException:  # an instrument refuses it (lock order, raise mode): undo
            self._inner.release()
            raise

    def release(self) -> None:
        """As :meth:`RLock.release`, telling the runtime as the class docstring says."""
        code = self._acq_code
        inner = self._inner
        inner.release()
        table = self._rt.held
        if table is not None:
            if code is not None:
                self._forget_site(code)
            held = table.get(get_ident())
            if held and held[-1] is self:
                held.pop()
            else:
                self._rt.released(self)
        elif not inner._is_owned():
            if code is not None:
                self._forget_site(code)
            self._rt.released(self)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        table = self._rt.held
        if table is None or self._acq_code is not None:
            self.release()
            return
        self._inner.release()  # as release(), inlined for the common `with`
        held = table.get(get_ident())
        if held and held[-1] is self:
            held.pop()
        else:
            self._rt.released(self)

    def _release_save(self) -> Any:
        if self._inner._is_owned():
            table = self._rt.held
            if table is None:
                self._rt.released(self)
            else:  # every level goes: drop each of its entries
                held = table.get(get_ident()) or ()
                for _ in range(held.count(self)):
                    self._rt.released(self)
        return RLock._release_save(self)

    def _acquire_restore(self, saved: Any) -> None:
        RLock._acquire_restore(self, saved)
        f = _getframe(1)
        table = self._rt.held
        if table is None:
            self._tell_acquired(f)
            return
        me = get_ident()
        held = table.get(me)
        if not held:
            self._rt.new_stack(me, self)
            held = table[me]
        else:
            self._tell_acquired(f)
            held = table[me]  # (the validator may have given the thread a new stack)
        held.extend([self] * (saved[0][0] - 1))  # the re-entries the wait gave up come back


# Reports, dumps and type() name the class it stands for, not the hooked variant.
_HookedRLock.__name__ = _HookedRLock.__qualname__ = "RLock"


def _check_arguments(args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    """What ``threading.RLock(*args, **kwargs)`` of this Python does with arguments: a
    ``DeprecationWarning`` from 3.13 on, else whatever the C ``RLock`` does with them."""
    if sys.version_info >= (3, 13):
        warnings.warn(
            "Passing arguments to RLock is deprecated and will be removed in 3.15",
            DeprecationWarning,
            stacklevel=3,
        )
    else:
        _CRLock(*args, **kwargs)
