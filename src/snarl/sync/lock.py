"""Lock and RLock: ``threading``'s base locks, with owner, acquisition site and name recorded.

Structure (the hot path, and why it serves any runtime):

* Each primitive wraps an *inner lock* supplied by the runtime current at construction
  (:meth:`snarl.runtime.base.Runtime.allocate_lock`).  The uncontended path is
  ``self._inner.acquire(False)`` then two slot stores (owner ident; acquiring code and offset,
  read from the caller's frame).  Only when that fails, or when the call passes a timeout,
  does the primitive call ``runtime.block()``, which checks the arguments exactly as
  ``_thread.lock.acquire`` does, waits, and records the waiter.  A controlled runtime's inner
  lock refuses every non-blocking acquire, so every acquisition reaches ``block()``.
* When the runtime is *hooked* (the lock-order validator, full stacks), a new primitive
  switches its class to a hooked subclass that also reports each first acquire and final
  release; unhooked primitives pay nothing for hooks.  The choice is made once, at creation.
* Owner state lives in the primitive's own slots, so reading it back takes no lock.

Stdlib behaviour is kept exactly: argument checking and error messages (those of the inner
``_thread`` lock), ``release()`` of an unlocked Lock (``RuntimeError: release unlocked lock``),
of an un-owned RLock (``cannot release un-acquired lock``), RLock recursion, and the private
protocol ``Condition`` and ``threading`` use: ``_is_owned``, ``_release_save``,
``_acquire_restore``, ``_recursion_count``, ``_at_fork_reinit``.
"""

from __future__ import annotations

import sys
from _thread import get_ident
from types import CodeType, TracebackType
from typing import Any

from ..identity import Site, caller_site, infer_name
from ..runtime.base import _current as _runtimes

__all__ = ["Lock", "RLock"]

_getframe = sys._getframe
_DEFAULT = -1  # the default timeout; an ``is`` test against it keeps the fast path cheap


class _Base:
    """Slots and reporting shared by Lock and RLock."""

    __slots__ = (
        "__weakref__",
        "_acq_code",
        "_acq_lasti",
        "_inner",
        "_name",
        "_owner",
        "_part_of",
        "_rt",
        "_since",
        "_site_created",
        "_stack",
    )

    _acq_code: CodeType | None
    _acq_lasti: int
    _owner: int | None
    _part_of: int

    @property
    def name(self) -> str | None:
        """``name=`` if given, else the name the creating line stores it under, else None."""
        name = getattr(self, "_name", None)
        return name if name is not None else infer_name(self._site_created)

    @property
    def _site(self) -> Site | None:
        """Where the current owner took the lock (None when unknown or unlocked)."""
        code = self._acq_code
        return None if code is None else Site(code, self._acq_lasti)

    @property
    def owner(self) -> int | None:
        """The ident of the thread holding the lock, or None."""
        return self._owner if self._inner.locked() else None

    def locked(self) -> bool:
        """Whether the lock is held by some thread."""
        return self._inner.locked()

    def _at_fork_reinit(self) -> None:
        reinit = getattr(self._inner, "_at_fork_reinit", None)
        if reinit is not None:
            reinit()
        else:
            self._inner = self._rt.allocate_lock()
        self._owner = None
        self._acq_code = None

    def _describe(self) -> str:
        locked = self._inner.locked()
        parts = [f"<{'locked' if locked else 'unlocked'} snarl.sync.{_public(self)}"]
        name = self.name
        if name:
            parts.append(f"{name!r}")
        if locked and self._owner is not None:
            import threading

            thread = threading._active.get(self._owner)  # type: ignore[attr-defined]
            who = f" ({thread.name!r})" if thread is not None else ""
            parts.append(f"owner={self._owner}{who}")
            extra = getattr(self, "_count", None)
            if extra is not None:
                parts.append(f"count={extra}")
            site = self._site
            parts.append(f"acquired at {site}" if site is not None else "acquired in a with block")
        elif hasattr(self, "_count"):
            parts.append("owner=0 count=0")
        parts.append(f"created at {self._site_created} at {hex(id(self))}>")
        return " ".join(parts)

    def __repr__(self) -> str:
        return self._describe()


def _public(obj: object) -> str:
    return type(obj).__name__.lstrip("_").replace("Hooked", "")


class Lock(_Base):
    """Drop-in ``threading.Lock``: the same behaviour, plus owner, site and name.

    ``name`` overrides the inferred name.  Unlike a native lock, ``repr()`` shows the owner
    thread and where it took the lock.
    """

    _snarl_kind = "lock"  # what a wait on it is (read by the observer)
    _snarl_type = "Lock"

    __slots__ = ()

    def __init__(self, name: str | None = None, *, _site: Site | None = None) -> None:
        # Construction is on the hot path of code that makes a lock per object (every
        # concurrent.futures.Future): optional slots (_name, _part_of, _stack) stay unset
        # and are read with getattr(..., None); the runtime lookup is inlined.
        rt = _runtimes[-1]
        self._rt = rt
        self._inner = rt.allocate_lock()
        self._owner = None
        self._acq_code = None
        self._acq_lasti = 0
        if name is not None:
            self._name = name
        self._site_created = _site if _site is not None else caller_site(2)
        rt.register(self)
        if rt.hooked:
            self.__class__ = _HookedLock

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        """Acquire the lock; ``blocking`` and ``timeout`` exactly as ``threading.Lock``."""
        if timeout is _DEFAULT and self._inner.acquire(False):
            f = _getframe(1)
            self._owner = get_ident()
            self._acq_code = f.f_code
            self._acq_lasti = f.f_lasti
            return True
        if not self._rt.block(self, self._inner, blocking, timeout):
            return False
        f = _getframe(1)
        self._owner = get_ident()
        self._acq_code = f.f_code
        self._acq_lasti = f.f_lasti
        return True

    # ``with`` passes no arguments, so the defaults below are never overridden: they only turn
    # global lookups into local ones on the hottest path.  The uncontended ``with`` records
    # the owner but not the site: while the lock is held that way, the owner's frame is inside
    # the ``with`` block, and a dump reads the line from there (reading the caller's frame
    # here would cost more than the rest of the method).
    def __enter__(self, _getframe: Any = _getframe, get_ident: Any = get_ident) -> bool:
        if self._inner.acquire(False):
            self._owner = get_ident()
            self._acq_code = None
            return True
        self._rt.block(self, self._inner, True, -1)
        f = _getframe(1)
        self._owner = get_ident()
        self._acq_code = f.f_code
        self._acq_lasti = f.f_lasti
        return True

    def _acquire_at(self, f: Any) -> bool:
        """Block until acquired, recording frame ``f`` as the site (for ``with condition:``)."""
        if not self._inner.acquire(False):
            self._rt.block(self, self._inner, True, -1)
        self._owner = get_ident()
        self._acq_code = f.f_code
        self._acq_lasti = f.f_lasti
        return True

    def release(self) -> None:
        """Release the lock (any thread may); ``RuntimeError`` if it is not locked."""
        self._owner = None
        self._inner.release()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._owner = None
        self._inner.release()

    def _is_owned(self) -> bool:
        # threading.Condition's fallback for a plain lock says "owned" when acquire(False)
        # fails, i.e. when *anyone* holds it.  This is the same answer without the probe.
        return self._inner.locked()

    def _release_save(self) -> Any:
        saved = (self._acq_code, self._acq_lasti)
        self.release()
        return saved

    def _acquire_restore(self, saved: Any) -> None:
        if not self._inner.acquire(False):
            self._rt.block(self, self._inner, True, -1)
        self._owner = get_ident()
        self._acq_code, self._acq_lasti = saved

    acquire_lock = acquire
    release_lock = release
    locked_lock = _Base.locked


class _HookedLock(Lock):
    """Lock that reports acquisitions and releases to its runtime (lock order, stacks)."""

    __slots__ = ()

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        """As :meth:`Lock.acquire`, then tell the runtime."""
        if not (timeout is _DEFAULT and self._inner.acquire(False)) and not self._rt.block(
            self, self._inner, blocking, timeout
        ):
            return False
        f = _getframe(1)
        self._owner = get_ident()
        self._acq_code = f.f_code
        self._acq_lasti = f.f_lasti
        try:
            self._rt.acquired(self, f)
        except BaseException:  # an instrument refuses it (lock order, raise mode): undo
            self.release()
            raise
        return True

    def __enter__(self, _getframe: Any = _getframe, get_ident: Any = get_ident) -> bool:
        if not self._inner.acquire(False):
            self._rt.block(self, self._inner, True, -1)
        f = _getframe(1)
        self._owner = get_ident()
        self._acq_code = f.f_code
        self._acq_lasti = f.f_lasti
        try:
            self._rt.acquired(self, f)
        except BaseException:
            self.release()
            raise
        return True

    def _acquire_at(self, f: Any) -> bool:
        """As :meth:`Lock._acquire_at`, then tell the runtime."""
        Lock._acquire_at(self, f)
        try:
            self._rt.acquired(self, f)
        except BaseException:
            self.release()
            raise
        return True

    def release(self) -> None:
        """As :meth:`Lock.release`, telling the runtime first."""
        if self._inner.locked():
            self._rt.released(self)
        self._owner = None
        self._inner.release()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._inner.locked():
            self._rt.released(self)
        self._owner = None
        self._inner.release()

    def _acquire_restore(self, saved: Any) -> None:
        if not self._inner.acquire(False):
            self._rt.block(self, self._inner, True, -1)
        self._owner = get_ident()
        self._acq_code, self._acq_lasti = saved
        self._rt.acquired(self, _getframe(1))

    acquire_lock = acquire
    release_lock = release


class RLock(_Base):
    """Drop-in ``threading.RLock``: reentrant, owned by one thread; owner, count, site, name."""

    _snarl_kind = "rlock"  # what a wait on it is (read by the observer)
    _snarl_type = "RLock"

    __slots__ = ("_count",)

    def __init__(self, name: str | None = None, *, _site: Site | None = None) -> None:
        rt = _runtimes[-1]  # as Lock.__init__
        self._rt = rt
        self._inner = rt.allocate_lock()
        self._owner = None
        self._count = 0
        self._acq_code = None
        self._acq_lasti = 0
        if name is not None:
            self._name = name
        self._site_created = _site if _site is not None else caller_site(2)
        rt.register(self)
        if rt.hooked:
            self.__class__ = _HookedRLock

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        """Acquire, or re-enter if the calling thread owns it; arguments as ``threading.RLock``."""
        if timeout is _DEFAULT:
            me = get_ident()
            if self._owner == me:
                self._count += 1
                return True
            if self._inner.acquire(False):
                f = _getframe(1)
                self._owner = me
                self._count = 1
                self._acq_code = f.f_code
                self._acq_lasti = f.f_lasti
                return True
        return self._acquire_slow(blocking, timeout, _getframe(1))

    def __enter__(self, _getframe: Any = _getframe, get_ident: Any = get_ident) -> bool:
        me = get_ident()
        if self._owner == me:
            self._count += 1
            return True
        if self._inner.acquire(False):  # the site: as Lock.__enter__, read from the with-block
            self._owner = me
            self._count = 1
            self._acq_code = None
            return True
        f = _getframe(1)
        self._rt.block(self, self._inner, True, -1)
        self._owner = me
        self._count = 1
        self._acq_code = f.f_code
        self._acq_lasti = f.f_lasti
        return True

    def _acquire_at(self, f: Any) -> bool:
        """Block until acquired (or re-entered), recording frame ``f`` as the site."""
        me = get_ident()
        if self._owner == me:
            self._count += 1
            return True
        if not self._inner.acquire(False):
            self._rt.block(self, self._inner, True, -1)
        self._owner = me
        self._count = 1
        self._acq_code = f.f_code
        self._acq_lasti = f.f_lasti
        return True

    def _acquire_slow(self, blocking: Any, timeout: Any, f: Any) -> bool:
        me = get_ident()
        if self._owner == me:
            # The native RLock checks its arguments before re-entering: so do we.
            probe = self._rt.allocate_lock()
            if probe.acquire(blocking, timeout):
                probe.release()
            self._count += 1
            return True
        if not self._rt.block(self, self._inner, blocking, timeout):
            return False
        self._owner = me
        self._count = 1
        self._acq_code = f.f_code
        self._acq_lasti = f.f_lasti
        return True

    def release(self) -> None:
        """Leave one level; the last one releases.  ``RuntimeError`` if not the owner."""
        if self._owner != get_ident() or not self._count:
            raise RuntimeError("cannot release un-acquired lock")
        count = self._count - 1
        if count:
            self._count = count
            return
        self._count = 0
        self._owner = None
        self._inner.release()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
        get_ident: Any = get_ident,  # never passed: a local lookup on the hot path
    ) -> None:
        if self._count == 1 and self._owner == get_ident():
            self._count = 0
            self._owner = None
            self._inner.release()
            return
        self.release()

    def _is_owned(self) -> bool:
        return self._count > 0 and self._owner == get_ident()

    def _recursion_count(self) -> int:
        return self._count if self._owner == get_ident() else 0

    def _release_save(self) -> Any:
        if not self._count:
            raise RuntimeError("cannot release un-acquired lock")
        saved = (self._count, self._owner, self._acq_code, self._acq_lasti)
        self._count = 0
        self._owner = None
        self._inner.release()
        return saved

    def _acquire_restore(self, saved: Any) -> None:
        if not self._inner.acquire(False):
            self._rt.block(self, self._inner, True, -1)
        self._count, self._owner, self._acq_code, self._acq_lasti = saved

    def _at_fork_reinit(self) -> None:
        super()._at_fork_reinit()
        self._count = 0


class _HookedRLock(RLock):
    """RLock that reports first acquisitions and final releases to its runtime."""

    __slots__ = ()

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        """As :meth:`RLock.acquire`, telling the runtime of a first acquisition."""
        f = _getframe(1)
        if timeout is _DEFAULT:
            me = get_ident()
            if self._owner == me:
                self._count += 1
                return True
            if not self._inner.acquire(False):
                return self._acquire_slow(blocking, timeout, f)
            self._owner = me
            self._count = 1
            self._acq_code = f.f_code
            self._acq_lasti = f.f_lasti
            self._tell_acquired(f)
            return True
        return self._acquire_slow(blocking, timeout, f)

    def __enter__(self, _getframe: Any = _getframe, get_ident: Any = get_ident) -> bool:
        me = get_ident()
        if self._owner == me:
            self._count += 1
            return True
        f = _getframe(1)
        if not self._inner.acquire(False):
            self._rt.block(self, self._inner, True, -1)
        self._owner = me
        self._count = 1
        self._acq_code = f.f_code
        self._acq_lasti = f.f_lasti
        try:
            self._rt.acquired(self, f)
        except BaseException:  # an instrument refuses it (lock order, raise mode): undo
            self._count = 0
            self._owner = None
            self._inner.release()
            raise
        return True

    def _acquire_at(self, f: Any) -> bool:
        """As :meth:`RLock._acquire_at`, telling the runtime of a first acquisition."""
        reentry = self._owner == get_ident()
        RLock._acquire_at(self, f)
        if not reentry:
            self._tell_acquired(f)
        return True

    def _tell_acquired(self, f: Any) -> None:
        try:
            self._rt.acquired(self, f)
        except BaseException:  # an instrument refuses it (lock order, raise mode): undo
            self._count = 1
            self.release()
            raise

    def _acquire_slow(self, blocking: Any, timeout: Any, f: Any) -> bool:
        reentry = self._owner == get_ident()
        if not RLock._acquire_slow(self, blocking, timeout, f):
            return False
        if not reentry:
            self._tell_acquired(f)
        return True

    def release(self) -> None:
        """As :meth:`RLock.release`, telling the runtime before the final release."""
        if self._count == 1 and self._owner == get_ident():
            self._rt.released(self)
        RLock.release(self)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
        get_ident: Any = get_ident,  # never passed: a local lookup on the hot path
    ) -> None:
        if self._count == 1 and self._owner == get_ident():
            self._rt.released(self)
            self._count = 0
            self._owner = None
            self._inner.release()
            return
        RLock.release(self)

    def _release_save(self) -> Any:
        if self._count:
            self._rt.released(self)
        return RLock._release_save(self)

    def _acquire_restore(self, saved: Any) -> None:
        RLock._acquire_restore(self, saved)
        self._rt.acquired(self, _getframe(1))
