"""The runtime of an exploration: what primitives bind to, for every execution at once.

A primitive binds the runtime current at its creation (:func:`~snarl.runtime.base.current_runtime`)
and keeps it.  Each execution of an exploration has a :class:`ControlledRuntime` of its own,
so a primitive bound to one would stop being controlled when that execution ends: a lock made
lazily in the first execution, or at import while the explorer loaded the test file, would
block for real in the next one.  :data:`EXPLORATION` is bound instead: it forwards every
operation to the runtime *active now* (:attr:`ExplorationRuntime.active`), the execution that
is running or, between executions, :data:`IDLE`, under which primitives behave as native ones
(real blocking, real time).  Its inner locks (:mod:`snarl.runtime.simlock`) read ``active`` on
every operation, so the hot path pays one attribute lookup, not a call.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from .base import Runtime
from .simlock import SimLock, SimRLock, real_acquire

__all__ = ["EXPLORATION", "IDLE", "ExplorationRuntime", "IdleRuntime"]

_real_monotonic = time.monotonic  # (an execution patches the time module's functions)
_real_sleep = time.sleep


def _never(filename: str) -> bool:
    return False


class IdleRuntime(Runtime):
    """Between executions: no thread is managed, so inner locks block for real and time is
    real.  Implements the part of :class:`ControlledRuntime` that inner locks and primitives
    call."""

    record_steps = False
    skip: Callable[[str], bool] = staticmethod(_never)

    def me(self) -> None:
        """No thread is managed."""
        return None

    def acquire_inner(self, prim: Any, inner: Any, blocking: Any, timeout: Any) -> bool:
        """The real lock inside ``inner``, really blocking."""
        return real_acquire(inner, blocking, timeout)

    def block(self, prim: Any, inner: Any, blocking: Any, timeout: Any) -> bool:
        """As :meth:`acquire_inner`."""
        return real_acquire(inner, blocking, timeout)

    def freed(self, inner: Any, what: str) -> None:
        """Nothing to schedule."""
        inner.waiters.clear()

    def monotonic(self) -> float:
        """Real time."""
        return _real_monotonic()

    def sleep(self, seconds: float) -> None:
        """Real sleep."""
        _real_sleep(seconds)


IDLE = IdleRuntime()


_FORWARDED = (
    "block",
    "thread_starting",
    "start_thread",
    "thread_start_returned",
    "thread_started",
    "thread_exited",
    "join",
    "sleep",
    "yield_point",
)
"""The methods :meth:`ExplorationRuntime.activate` binds straight to the active runtime's."""


class ExplorationRuntime(Runtime):
    """Forwards the Runtime interface to :attr:`active` (see the module docstring)."""

    hooked = False

    def __init__(self) -> None:
        self.active: Any = IDLE

    def activate(self, runtime: Any) -> None:
        """Make ``runtime`` the active one.  Its methods of :data:`_FORWARDED` are bound onto
        this object, so a call through it is the active runtime's own call, with no frame of
        forwarding in between (thread starts and blocks are on the explorer's hot path); the
        class's forwarding methods stand behind them."""
        self.active = runtime
        for name in _FORWARDED:
            setattr(self, name, getattr(runtime, name))

    def allocate_lock(self) -> SimLock:  # type: ignore[override]
        """A :class:`SimLock` that any execution controls."""
        return SimLock(self)

    def allocate_rlock(self) -> SimRLock:
        """A :class:`SimRLock` that any execution controls."""
        return SimRLock(self)

    def me(self) -> Any:
        """The calling thread's record in the active execution, or None."""
        return self.active.me()

    def block(self, prim: Any, inner: Any, blocking: Any, timeout: Any) -> bool:
        """Acquire ``inner`` for ``prim`` under the active runtime."""
        return self.active.block(prim, inner, blocking, timeout)  # type: ignore[no-any-return]

    def thread_starting(self, thread: Any) -> None:
        """Forwarded."""
        self.active.thread_starting(thread)

    def start_thread(self, thread: Any) -> bool:
        """Forwarded."""
        return self.active.start_thread(thread)  # type: ignore[no-any-return]

    def thread_start_returned(self, thread: Any) -> None:
        """Forwarded."""
        self.active.thread_start_returned(thread)

    def thread_started(self, thread: Any) -> None:
        """Forwarded."""
        self.active.thread_started(thread)

    def thread_exited(self, thread: Any) -> None:
        """Forwarded."""
        self.active.thread_exited(thread)

    def join(self, thread: Any, timeout: float | None, native_join: Any) -> None:
        """Forwarded."""
        self.active.join(thread, timeout, native_join)

    def monotonic(self) -> float:
        """The active execution's clock for its threads; real time for any other thread."""
        active = self.active
        return active.monotonic() if active.me() is not None else _real_monotonic()

    def sleep(self, seconds: float) -> None:
        """Forwarded."""
        self.active.sleep(seconds)

    def yield_point(self) -> None:
        """Forwarded."""
        self.active.yield_point()


EXPLORATION = ExplorationRuntime()
"""The one exploration runtime of the process (explorations do not nest in time: an inner one
runs inside an outer one's setup, and shares it)."""
