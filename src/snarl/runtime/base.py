"""The Runtime interface every snarl primitive is written against, and the current runtime.

The interface is small and low-level, like the part of ``_thread`` that CPython's
``threading.py`` is built on (see ``docs``: DESIGN.md, "One idea at the centre"):

* **the base lock.**  :meth:`Runtime.allocate_lock` supplies the *inner lock* a primitive
  wraps: an object with ``acquire(blocking=True, timeout=-1)``, ``release()`` and ``locked()``
  whose argument checking and error messages are those of ``_thread.lock``.  A primitive's
  uncontended fast path is ``inner.acquire(False)`` followed by recording its owner; only
  when that fails does it call :meth:`Runtime.block`, which waits for the inner lock (or a
  timeout) and records who waits on what.  A controlled runtime supplies an inner lock whose
  non-blocking acquire always fails, so every acquisition reaches :meth:`block`, where it can
  schedule; the primitives do not change.
* **holds.**  A primitive keeps its owner and site in its own slots; the runtime keeps no
  registry of primitives (creating one must stay cheap: ``concurrent.futures`` makes a
  Condition per Future).  Only a lock held through a bare ``acquire()`` is put in the
  :meth:`hold_bare` set until released, since no ``with`` block on its owner's stack shows it.
  :attr:`hooked` says whether new primitives must report every acquire and release
  (:meth:`acquired`, :meth:`released`); primitives choose their hooked variant once, at
  construction, so an unhooked acquire pays nothing for hooks.
* **threads.**  :meth:`thread_starting`, :meth:`thread_start_returned`,
  :meth:`thread_started`, :meth:`thread_exited` and :meth:`join`.
* **time.**  :meth:`monotonic`, :meth:`sleep`, and :meth:`yield_point` (a place a scheduler may
  preempt; the observer ignores it).

Condition, Semaphore, Event and Barrier use only the base lock and ``monotonic``, so any runtime
that implements this interface understands them with no extra code.  Primitives bind the
runtime that is current when they are created (:func:`current_runtime`).  This module imports
nothing of snarl beyond :mod:`snarl.identity`.
"""

from __future__ import annotations

from types import FrameType
from typing import Any, Protocol

__all__ = ["Abandon", "InnerLock", "Runtime", "current_runtime", "set_runtime"]


class Abandon(BaseException):
    """Raised by a runtime in one of its threads to unwind it (``finally`` blocks run): the
    controlled runtime ends an execution this way.  Thread bootstrap swallows it."""


class InnerLock(Protocol):
    """What a runtime's base lock provides (``_thread.lock`` is one)."""

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        """Take the lock; arguments and errors exactly as ``_thread.lock.acquire``."""
        ...

    def release(self) -> None:
        """Release the lock; ``RuntimeError`` if it is not locked."""
        ...

    def locked(self) -> bool:
        """Whether the lock is taken."""
        ...


class Runtime:
    """The base class of runtimes: every hook is a no-op, blocking is real blocking.

    Subclasses override what they need.  ``hooked`` is read once per primitive, at creation.
    """

    hooked: bool = False
    held: dict[int, list[Any]] | None = None
    """The held-lock stacks of the one instrument attached, if it keeps them (the lock-order
    validator): thread ident -> the locks it holds, innermost last.  A
    hooked primitive then pushes itself when the thread holds nothing else (no order to
    check) and pops itself when it is on top, calling :meth:`acquired` / :meth:`released`
    only otherwise: the common single-lock case makes no hook call."""

    def allocate_lock(self) -> InnerLock:
        """A new, unlocked inner lock."""
        raise NotImplementedError

    def allocate_rlock(self) -> Any:
        """A new, unlocked reentrant inner lock (``_thread.RLock``'s interface, incl. the
        ``_is_owned``/``_release_save``/``_at_fork_reinit`` protocol and its repr)."""
        raise NotImplementedError

    bare: set[Any] | None = None
    """Primitives held through a bare ``acquire()`` (None until the first): see
    :meth:`hold_bare`."""

    def hold_bare(self) -> set[Any]:
        """The set a primitive adds itself to when a bare ``acquire()`` takes it, and leaves at
        its release (a ``with`` needs no record: the block is on the owner's stack)."""
        if self.bare is None:
            self.bare = set()
        return self.bare

    def block(self, prim: Any, inner: InnerLock, blocking: Any, timeout: Any) -> bool:
        """Acquire ``inner`` on behalf of ``prim`` after the fast path failed.

        ``blocking`` and ``timeout`` are the caller's arguments, unchecked: the runtime must
        check them exactly as ``_thread.lock.acquire`` does (passing them to a real lock does).
        """
        return inner.acquire(blocking, timeout)

    def acquired(self, prim: Any, frame: FrameType) -> None:
        """``prim`` was just taken by the current thread at ``frame`` (hooked primitives)."""

    def released(self, prim: Any) -> None:
        """``prim`` is about to be released by the current thread (hooked primitives)."""

    def thread_starting(self, thread: Any) -> None:
        """``thread.start()`` was called: about to start it (in the starting thread)."""

    def start_thread(self, thread: Any) -> bool:
        """Start ``thread``'s OS thread in place of ``threading``'s own ``start`` (after
        :meth:`thread_starting`); False leaves it to ``threading``."""
        return False

    def thread_start_returned(self, thread: Any) -> None:
        """``thread.start()`` returned (or raised), in the starting thread."""

    def thread_started(self, thread: Any) -> None:
        """``thread`` (a ``threading.Thread``) begins running, in its own context."""

    def thread_exited(self, thread: Any) -> None:
        """``thread`` finishes running, in its own context."""

    def join(self, thread: Any, timeout: float | None, native_join: Any) -> None:
        """Wait for ``thread`` to end; ``native_join(thread, timeout)`` really waits."""
        native_join(thread, timeout)

    def monotonic(self) -> float:
        """The runtime's clock, in seconds."""
        raise NotImplementedError

    def sleep(self, seconds: float) -> None:
        """Let ``seconds`` pass on the runtime's clock."""
        raise NotImplementedError

    def yield_point(self) -> None:
        """A point where another thread may be scheduled (no-op for free-running threads)."""


_current: list[Runtime] = []


def current_runtime() -> Runtime:
    """The runtime new primitives bind to."""
    return _current[-1]


def set_runtime(runtime: Runtime) -> Runtime | None:
    """Make ``runtime`` current; return the previous one (None if there was none)."""
    previous = _current[-1] if _current else None
    if _current:
        _current[-1] = runtime
    else:
        _current.append(runtime)
    return previous
