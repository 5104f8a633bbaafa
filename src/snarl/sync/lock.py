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

from _thread import get_ident
from types import TracebackType
from typing import Any

from ..identity import Site, caller_site
from ..runtime.base import _current as _runtimes
from ._base import _DEFAULT, _Base, _getframe
from .rlock import RLock, _HookedRLock

__all__ = ["Lock", "RLock", "_HookedLock", "_HookedRLock"]


class Lock(_Base):
    """Drop-in ``threading.Lock``: the same behaviour, plus owner, site and name.

    ``name`` overrides the inferred name.  Unlike a native lock, ``repr()`` shows the owner
    thread and where it took the lock.
    """

    _snarl_kind = "lock"  # what a wait on it is (read by the observer)
    _snarl_type = "Lock"

    __slots__ = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        # threading.Lock cannot be subclassed (a function before 3.13, a final type since):
        # neither can this one, outside snarl's own variants.
        if not cls.__module__.startswith("snarl."):
            raise TypeError("type 'snarl.sync.Lock' is not an acceptable base type")
        super().__init_subclass__(**kwargs)

    def __init__(self, *, name: str | None = None, _site: Site | None = None) -> None:
        # ``name`` is keyword-only: ``threading.Lock`` takes no argument, and ``Lock(1)`` must
        # fail as it does.  Construction is on the hot path of code that makes a lock per
        # object (every concurrent.futures.Future): optional slots (_name, _part_of, _stack)
        # stay unset and are read with getattr(..., None); the runtime lookup is inlined.
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
    taken while its thread holds nothing pushes itself, and a lock on top of its own thread's
    stack pops itself: the common case calls no hook.  A thread's first stack is made by the
    runtime (``new_stack``), which drops it when the thread ends.  A wait that must block
    while other locks are held is announced first (``acquiring``): the order it would make is
    checked before the wait, so a real deadlock is reported while it forms.  A release by
    another thread than the owner always goes through the runtime (the owner's stack may be
    changing under it).
    """

    __slots__ = ()

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        """As :meth:`Lock.acquire`, then tell the runtime."""
        if not (timeout is _DEFAULT and self._inner.acquire(False)) and not self._wait(
            blocking, timeout, _getframe(1)
        ):
            return False
        self._took(_getframe(1))
        bare = self._rt.bare
        (self._rt.hold_bare() if bare is None else bare).add(self)
        return True

    def _wait(self, blocking: Any, timeout: Any, f: Any) -> bool:
        """The contended path: announce the wait (its order is checked), then block."""
        rt = self._rt
        table = rt.held
        if blocking and table is not None and table.get(get_ident()):
            rt.acquiring(self, f)  # may refuse (raise): nothing to undo yet
        return rt.block(self, self._inner, blocking, timeout)

    def __enter__(self, _getframe: Any = _getframe, get_ident: Any = get_ident) -> bool:
        if not self._inner.acquire(False):
            self._wait(True, -1, _getframe(1))
        me = self._owner = get_ident()
        table = self._rt.held
        if table is not None:
            held = table.get(me)
            if not held:  # the thread's only lock: no order to check
                self._acq_code = None
                if held is None:
                    self._rt.new_stack(me, self)
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
                    self._rt.new_stack(me, self)
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
            self._wait(True, -1, f)
        self._took(f)
        return True

    def _untake(self) -> None:
        """Before a release: pop the lock off its owner's held stack, or tell the runtime."""
        table = self._rt.held
        owner = self._owner
        held = None if table is None or owner != get_ident() else table.get(owner)
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
            # (a `with` is left by the thread that entered it, the owner: no ident check on
            # this hot path; a hand-over between threads is a bare release(), see _untake)
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
            self._wait(True, -1, _getframe(1))
        self._took(_getframe(1))
        self._acq_code, self._acq_lasti = saved

    acquire_lock = acquire
    release_lock = release


# Reports, dumps and type() name the class it stands for, not the hooked variant.
_HookedLock.__name__ = _HookedLock.__qualname__ = "Lock"
