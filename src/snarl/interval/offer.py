"""The GIL offer: let a thread that waits for the GIL run now, and cost little when none does.

Measured (``benchmarks/bench_offer.py``, RESULTS.md): ``time.sleep(0)`` hands over almost
every time but costs ~100 µs even alone (the kernel's timer slack); ``os.sched_yield()`` costs
~1 µs but a waiter gets the GIL only 3-8 % of the time (it is still waking when the offering
thread takes the GIL back).  snarl's offer is a *handoff*:

* The offering thread publishes a pending offer and releases the GIL by blocking on its own
  lock for at most :data:`PROBE` seconds.  A thread waiting for the GIL now gets it (the
  offerer is blocked, not competing); the first counting hook that runs in another thread
  *acknowledges* the offer by releasing that lock, so the offerer only waits as long as the
  handover takes, then queues for the GIL like any waiter.
* When a probe times out (no thread wanted the GIL) the thread backs off: its next offers
  are a plain ``os.sched_yield()`` for a number of offers that doubles after each empty probe
  (up to :data:`MAX_SKIP`), and drops back to zero as soon as another thread has run Python
  code since the last offer.  A single-threaded program pays about one ``sched_yield`` per
  offer; competing threads hand over at every offer.
* With no other thread alive (``_thread._count()`` is 0: only the thread that offers), an
  offer does nothing at all: there is no one to hand the GIL to.  Threads made outside
  ``_thread`` (a C library's own, calling ``PyGILState_Ensure``) are not counted; they get
  the GIL at the switch interval, as they would without the emulation.
"""

from __future__ import annotations

import contextlib
import os
from _thread import _count as _other_threads
from _thread import allocate_lock, get_ident
from typing import Any

__all__ = ["MAX_SKIP", "PROBE", "Handoff"]

PROBE = 0.0005
"""Seconds an offer waits for another thread to take the GIL before deciding none wants it."""
MAX_SKIP = 4096
"""The longest run of cheap offers (``sched_yield``) between two probes."""


class _ThreadState:
    __slots__ = ("backoff", "lock", "skip")

    def __init__(self) -> None:
        self.lock = allocate_lock()
        self.lock.acquire()  # held: waiting on it blocks until another thread releases it
        self.skip = 0
        self.backoff = 1


class Handoff:
    """One emulation's offers: :meth:`offer` from a thread whose budget ran out, :meth:`ack`
    from the counting hook of whichever thread runs next."""

    def __init__(self) -> None:
        self.pending: tuple[int, Any] | None = None  # (ident, lock) of a thread mid-offer
        self.offers = 0
        self.handovers = 0
        self._states: dict[int, _ThreadState] = {}
        self._last = 0  # ident of the thread that made the last offer
        # Called when an offer is published and when it is settled: a hook can check for
        # offers only while one is pending (sys.monitoring swaps its callbacks).
        self.on_pending: Any = None
        self.on_settled: Any = None

    def ack(self) -> None:
        """Called by a hook while an offer is pending: if another thread made it, release it."""
        pending = self.pending
        if pending is not None and pending[0] != get_ident():
            self.pending = None
            if self.on_settled is not None:
                self.on_settled()
            pending[1].release()

    def offer(self) -> None:
        """Let a thread waiting for the GIL run (see the module docstring)."""
        if not _other_threads() and self.pending is None:
            return  # no thread but this one: there is no one to hand the GIL to
        me = get_ident()
        state = self._states.get(me)
        if state is None:
            state = self._states[me] = _ThreadState()
        self.offers += 1
        if self._last != me:  # another thread ran since the last offer: competition
            state.skip = 0
            state.backoff = 1
            self._last = me
        if state.skip > 0:
            state.skip -= 1
            os.sched_yield()
            return
        if self.pending is not None:
            # Another thread's offer is pending and this thread runs: it has its answer
            # (with a short switch interval the interpreter may switch before the hooks that
            # acknowledge are in).  Answer it before making ours, or it would be lost.
            self.ack()
        mine = (me, state.lock)
        self.pending = mine
        if self.on_pending is not None:
            self.on_pending()
        got = state.lock.acquire(True, PROBE)  # the GIL is released while this waits
        if got:
            self.handovers += 1
            return
        if self.pending is mine:  # nobody ran: back off
            self.pending = None
            if self.on_settled is not None:
                self.on_settled()
            state.skip = state.backoff
            state.backoff = min(MAX_SKIP, state.backoff * 2)
        elif state.lock.acquire(False):  # acknowledged just after the timeout: re-armed
            self.handovers += 1
        # else: another thread settled this offer without acknowledging it (it was replaced
        # while this one waited): the lock is still held, nothing to re-arm.

    def forget(self) -> None:
        """Drop per-thread state (the emulation is off); a pending offer is released."""
        pending = self.pending
        self.pending = None
        if pending is not None:
            with contextlib.suppress(RuntimeError):  # already released
                pending[1].release()
        self._states.clear()
