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
from _thread import RLock as _CRLock
from _thread import get_ident
from types import CodeType, TracebackType
from typing import Any

from ..identity import Site, caller_site, infer_name
from ..runtime.base import _current as _runtimes

__all__ = ["Lock", "RLock"]

_getframe = sys._getframe
_crlock_repr = _CRLock.__repr__  # C code: the interpreter's record of owner and count
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

    def _mine(self) -> bool:
        """Whether the calling thread holds it (cheap: read at every thread exit)."""
        return self._owner == get_ident() and self._inner.locked()

    def _at_fork_reinit(self) -> None:
        reinit = getattr(self._inner, "_at_fork_reinit", None)
        if reinit is not None:
            reinit()
        else:
            self._inner = self._rt.allocate_lock()
        self._owner = None
        self._acq_code = None

    def _describe(self) -> str:
        locked = self.locked()
        # (CPython's shape: "<locked _thread.lock object ... at 0x...>", with more inside)
        parts = [f"<{'locked' if locked else 'unlocked'} snarl.sync.{_public(self)} object"]
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
        if rt.hooked:
            self.__class__ = _HookedLock

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        """Acquire the lock; ``blocking`` and ``timeout`` exactly as ``threading.Lock``."""
        if not (timeout is _DEFAULT and self._inner.acquire(False)) and not self._rt.block(
            self, self._inner, blocking, timeout
        ):
            return False
        f = _getframe(1)
        self._owner = get_ident()
        self._acq_code = f.f_code
        self._acq_lasti = f.f_lasti
        bare = self._rt.bare  # held with no `with` block to show it: recorded (see hold_bare)
        (self._rt.hold_bare() if bare is None else bare).add(self)
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
        bare = self._rt.bare
        if bare is not None:
            bare.discard(self)  # before the release: no new owner can have added it yet
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
        # A wait lets the lock go and takes it back: a bare holder stays recorded as one.
        saved = (self._acq_code, self._acq_lasti)
        self._owner = None
        self._inner.release()
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
    """Lock that reports acquisitions and releases to its runtime (lock order, stacks).

    When the runtime exposes held stacks (:attr:`snarl.runtime.base.Runtime.held`), a lock
    taken while its thread holds nothing pushes itself, and a lock on top of its owner's stack
    pops itself: the common case calls no hook.
    """

    __slots__ = ()

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        """As :meth:`Lock.acquire`, then tell the runtime."""
        if not (timeout is _DEFAULT and self._inner.acquire(False)) and not self._rt.block(
            self, self._inner, blocking, timeout
        ):
            return False
        self._took(_getframe(1))
        bare = self._rt.bare
        (self._rt.hold_bare() if bare is None else bare).add(self)
        return True

    def __enter__(self, _getframe: Any = _getframe, get_ident: Any = get_ident) -> bool:
        if not self._inner.acquire(False):
            self._rt.block(self, self._inner, True, -1)
        me = self._owner = get_ident()
        table = self._rt.held
        if table is not None:
            held = table.get(me)
            if not held:  # the thread's only lock: no order to check
                self._acq_code = None
                if held is None:
                    table[me] = [self]
                else:
                    held.append(self)
                return True
        f = _getframe(1)
        self._acq_code = f.f_code
        self._acq_lasti = f.f_lasti
        try:
            self._rt.acquired(self, f)
        except BaseException:  # an instrument refuses it (lock order, raise mode): undo
            self.release()
            raise
        return True

    def _took(self, f: Any) -> None:
        """Record the acquisition at frame ``f`` and tell the runtime (undo if it refuses)."""
        me = self._owner = get_ident()
        self._acq_code = f.f_code
        self._acq_lasti = f.f_lasti
        table = self._rt.held
        if table is not None:
            held = table.get(me)
            if not held:
                if held is None:
                    table[me] = [self]
                else:
                    held.append(self)
                return
        try:
            self._rt.acquired(self, f)
        except BaseException:
            self.release()
            raise

    def _acquire_at(self, f: Any) -> bool:
        """As :meth:`Lock._acquire_at`, then tell the runtime."""
        if not self._inner.acquire(False):
            self._rt.block(self, self._inner, True, -1)
        self._took(f)
        return True

    def _untake(self) -> None:
        """Before a release: pop the lock off its owner's held stack, or tell the runtime."""
        table = self._rt.held
        held = None if table is None else table.get(self._owner)
        if held and held[-1] is self:
            held.pop()
        else:
            self._rt.released(self)

    def release(self) -> None:
        """As :meth:`Lock.release`, telling the runtime first."""
        if self._inner.locked():
            self._untake()
        Lock.release(self)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        table = self._rt.held
        if table is not None:
            held = table.get(self._owner)
            if held and held[-1] is self:
                held.pop()
                self._owner = None
                self._inner.release()
                return
        if self._inner.locked():
            self._rt.released(self)
        self._owner = None
        self._inner.release()

    def _release_save(self) -> Any:
        # As Lock._release_save (a bare holder stays recorded), telling the runtime first.
        self._untake()
        return Lock._release_save(self)

    def _acquire_restore(self, saved: Any) -> None:
        if not self._inner.acquire(False):
            self._rt.block(self, self._inner, True, -1)
        self._took(_getframe(1))
        self._acq_code, self._acq_lasti = saved

    acquire_lock = acquire
    release_lock = release


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

    def __init__(self, name: str | None = None, *, _site: Site | None = None) -> None:
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
                    table[me] = [self]
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
        if not RLock._acquire_slow(self, blocking, timeout, f):
            return False
        if not held:
            if held is None:
                table[me] = [self]
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
            held = table[me] = [self]
        else:
            self._tell_acquired(f)
        held.extend([self] * (saved[0][0] - 1))  # the re-entries the wait gave up come back
