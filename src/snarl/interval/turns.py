"""Turns: the emulated GIL of a free-threaded build, a token snarl passes between threads.

Without a GIL, "offer the GIL every n bytecodes" means nothing: every thread runs at once.  On
a free-threaded build the check interval gives the GIL back its meaning with a token that only
counted code needs (Python 2's GIL, emulated):

* Every counting hook first checks that its thread holds the token; a thread that does not
  queues for it (first come, first served) and blocks until it is handed over.
* When the holder's budget of n bytecodes runs out it hands the token to the first thread in
  the queue, if any, and queues behind the others: threads take turns every n bytecodes.
* A holder that blocks outside Python (a lock, I/O, a sleep, a C call) runs no hook, so it
  cannot hand the token over.  The real GIL is released around such calls; here a waiter that
  has seen no progress of the holder (no counted event) for :attr:`Turns.patience` seconds
  (the switch interval, as long as a GIL drop request waits) takes the token itself.  The
  holder queues again at its next hook.  So the token never hangs a program: at worst a
  thread waits one switch interval longer for its turn.

Code that is not counted (snarl's own, and the library with ``user_only``) runs without the
token, as C code without the GIL does.
"""

from __future__ import annotations

import sys
from _thread import allocate_lock, get_ident
from collections import deque
from collections.abc import Callable
from typing import Any

__all__ = ["Turns"]


class Turns:
    """The token (see the module docstring): :meth:`take` from a hook of a thread that does
    not hold it, :meth:`offer` when the holder's budget runs out, :meth:`close` at the end."""

    def __init__(self, patience: float | None = None) -> None:
        self.owner: int | None = None  # ident of the thread holding the token
        self.progress = 0  # counted events of the holder: how a waiter tells it is running
        self.patience = sys.getswitchinterval() if patience is None else patience
        self.handovers = 0  # the token handed to a waiter at the end of a budget
        self.taken = 0  # the token taken from a holder that made no progress
        self.closed = False
        # Called as the token is handed over, with (giver, taker) idents: a timeline records
        # it (snarl.timeline.gil).
        self.on_handover: Callable[[int, int], Any] | None = None
        self._mutex = allocate_lock()
        self._queue: deque[tuple[int, Any]] = deque()
        self._waiters: dict[int, Any] = {}  # ident -> its lock (held: released to wake it)

    def take(self) -> None:
        """Block until the calling thread holds the token (or the emulation is closed)."""
        me = get_ident()
        while True:
            with self._mutex:
                if self.closed or self.owner is None or self.owner == me:
                    if not self.closed:
                        self.owner = me
                    return
                wake = self._waiters.get(me)
                if wake is None:
                    wake = self._waiters[me] = allocate_lock()
                    wake.acquire()
                entry = (me, wake)
                self._queue.append(entry)
                seen = self.progress
            if wake.acquire(True, self.patience):
                return  # handed over (the giver made this thread the owner)
            with self._mutex:
                if self.owner == me or self.closed:  # handed over or freed just now
                    wake.acquire(False)  # (re-armed: released by the giver)
                    return
                self._queue.remove(entry)
                if self.progress == seen:  # the holder ran no counted code: blocked outside
                    self.owner = me
                    self.taken += 1
                    return
            # The holder is running counted code: queue again, at the back.

    def offer(self) -> None:
        """The holder's budget ran out: hand the token to the first waiter, then queue."""
        me = get_ident()
        with self._mutex:
            if self.owner != me or not self._queue:
                return  # taken from this thread meanwhile (it queues at its next hook), or
                # nobody waits: go on running
            nxt, wake = self._queue.popleft()
            self.owner = nxt
            self.handovers += 1
            if self.on_handover is not None:
                self.on_handover(me, nxt)
            wake.release()
        self.take()

    def close(self) -> None:
        """Free every waiter and the token for good (the emulation stops)."""
        with self._mutex:
            self.closed = True
            self.owner = None
            while self._queue:
                _, wake = self._queue.popleft()
                wake.release()
