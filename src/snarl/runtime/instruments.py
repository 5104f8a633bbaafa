"""Instruments: optional observers of primitive events, dispatched by the observer runtime.

An :class:`Instrument` overrides the hooks it cares about; the others are no-ops.  The
:class:`Instruments` registry calls each hook on every instrument that overrides it.  A hook
that raises is disabled (for that instrument) and the failure logged to ``snarl.instruments``:
an instrument can never break the program it observes.  The one exception is an error the
instrument *means* to raise into the program (its class is listed in ``Instrument.passthrough``),
such as the lock-order validator's ``LockOrderViolation`` when configured to raise.

A :class:`WaitRecorder` is a different kind of observer: it hears only the observer's slow
paths (a wait that must block, a join, a thread's start and exit), never an uncontended
acquire or release, so attaching one (:attr:`snarl.runtime.observer.ObserverRuntime.recorder`)
leaves the hot paths as they are.  ``snarl.timeline`` records thread timelines with one.
"""

from __future__ import annotations

import logging
import time
import traceback
from types import FrameType
from typing import Any, ClassVar

__all__ = ["Instrument", "Instruments", "StackRecorder", "WaitRecorder"]

_log = logging.getLogger("snarl.instruments")
_HOOKS = ("acquired", "released")


class Instrument:
    """Base class: every hook is a no-op.  Hooks run in the thread that caused the event."""

    passthrough: ClassVar[tuple[type[BaseException], ...]] = ()
    trusted: ClassVar[bool] = False
    """snarl's own instruments set this: their hooks may be called without the safety net."""
    held: dict[int, list[Any]] | None = None
    """A trusted instrument's per-thread held-lock stacks, which primitives may push and pop
    themselves (see :attr:`snarl.runtime.base.Runtime.held`); None: always call the hooks.
    An instrument with held stacks also provides ``new_stack(ident, prim)`` (a thread's first
    stack: the instrument drops it when the thread ends, before its ident can be reused) and
    ``acquiring(prim, frame)`` (a wait that must block while the thread holds locks, heard
    before it begins; it may raise to refuse the wait)."""

    def acquired(self, prim: Any, frame: FrameType) -> None:
        """``prim`` was just taken by the current thread; ``frame`` is the acquiring frame."""

    def released(self, prim: Any) -> None:
        """``prim`` is about to be released by the current thread (or handed back by a wait)."""


class Instruments:
    """Per-hook lists of the instruments that implement each hook."""

    def __init__(self) -> None:
        self.all: list[Instrument] = []
        self.acquired: list[Any] = []
        self.released: list[Any] = []

    def add(self, inst: Instrument) -> None:
        """Start dispatching to ``inst``."""
        self.all.append(inst)
        self._rebuild()

    def remove(self, inst: Instrument) -> None:
        """Stop dispatching to ``inst`` (no error if it was not added)."""
        if inst in self.all:
            self.all.remove(inst)
        self._rebuild()

    def _rebuild(self) -> None:
        for hook in _HOOKS:
            setattr(
                self,
                hook,
                [
                    getattr(i, hook)
                    for i in self.all
                    if getattr(type(i), hook) is not getattr(Instrument, hook)
                ],
            )

    def failed(self, fn: Any, hook: str, exc: BaseException) -> None:
        """Handle ``exc`` raised by hook ``fn``: re-raise it if its instrument means it to
        reach the program, else log it and disable that instrument."""
        inst = fn.__self__
        if isinstance(exc, inst.passthrough):
            raise exc
        _log.error(
            "snarl instrument %r failed in %s and is disabled:\n%s",
            inst,
            hook,
            "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)),
        )
        self.remove(inst)


class StackRecorder(Instrument):
    """Keeps the full stack and the time of each lock's current acquisition.

    In ``prim._stack`` (a ``traceback.StackSummary``) and ``prim._since`` (monotonic seconds).
    """

    trusted = True

    def acquired(self, prim: Any, frame: FrameType) -> None:
        """Record the acquiring stack and time."""
        prim._since = time.monotonic()
        prim._stack = traceback.extract_stack(frame)

    def released(self, prim: Any) -> None:
        """Forget the stack of a lock that is being fully released."""
        prim._stack = None


class WaitRecorder:
    """Base class of the observer's wait recorder: every hook is a no-op.

    Hooks run in the thread concerned, on the observer's slow paths only, and must never
    raise (a recorder catches its own errors).  ``wait_begin`` returns a token that the
    matching ``wait_end`` gets back, so nested waits need no bookkeeping here.
    """

    def wait_begin(self, prim: Any, inner: Any) -> Any:
        """The current thread is about to block on ``inner`` for ``prim`` (a Lock, RLock,
        Condition, Semaphore, Event or Barrier); returns a token for :meth:`wait_end`."""
        return None

    def wait_end(self, token: Any, acquired: bool) -> None:
        """The wait begun with ``token`` is over: ``acquired`` False on a timeout or error."""

    def join_begin(self, thread: Any) -> Any:
        """The current thread is about to wait for ``thread`` to end; returns a token."""
        return None

    def join_end(self, token: Any, thread: Any) -> None:
        """The join begun with ``token`` returned (``thread`` may still be alive: timeout)."""

    def thread_started(self, thread: Any) -> None:
        """``thread`` (a ``threading.Thread``) begins running, in its own context."""

    def thread_exited(self, thread: Any) -> None:
        """``thread`` finishes running, in its own context."""
