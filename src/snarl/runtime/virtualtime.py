"""Virtual time and the choice of who runs next: the half of the controlled runtime that the
scheduler and the clock share (:class:`VirtualTime`, a base of
:class:`~snarl.runtime.controlled.ControlledRuntime`).

Time is virtual: :meth:`VirtualTime.monotonic` starts at :data:`EPOCH` for every execution,
``sleep`` and timeouts block until the clock is moved, and the clock moves only when no thread
can run: to the earliest deadline, at once.  A timed wait may also time out early, at any
switch point, when the scheduler chooses its thread (so try-locks and sleeps used as
synchronisation are explored); :meth:`VirtualTime._choose` asks the scheduler, and ends the
execution when no thread can run (``"ok"`` or ``"blocked"``), at the step bound, or when the
scheduler fails.
"""

from __future__ import annotations

from typing import Any

from ..frames import current_frames
from .records import BLOCKED, FINISHED, RUNNABLE, BlockedOn, Managed, Outcome
from .scheduler import Choice, Scheduler
from .simlock import site_from

__all__ = ["EPOCH", "VirtualTime", "not_runnable"]

EPOCH = 1_000_000.0
"""The virtual clock's reading at the start of every execution (seconds)."""


class VirtualTime:
    """The virtual clock, and the choice of the next thread (see the module docstring)."""

    threads: list[Managed]
    choices: list[Choice]
    scheduler: Scheduler
    max_steps: int
    now: float
    timed: bool
    barred: int | None
    _runnable: tuple[int, ...] | None
    skip: Any
    by_thread: dict[int, Managed]

    def me(self) -> Managed | None:  # (the runtime's)
        raise NotImplementedError

    def end(self, outcome: Outcome) -> None:  # (the runtime's)
        raise NotImplementedError

    def switch(self, me: Managed, what: str, obj: Any = None, *, yielding: bool = False) -> None:
        raise NotImplementedError  # (the runtime's)

    def _choose(self, me: Managed | None, yielding: bool = False) -> Managed | None:
        """The next thread to run, or None when the execution has ended (and is ended).

        ``yielding`` (``time.sleep(0)``): ``me`` steps aside, so another runnable thread runs
        and it is no preemption; ``me`` goes on only if no other thread can.  A spin-wait on
        ``sleep(0)`` then always lets the thread it waits for make progress.
        """
        while True:
            runnable = self._runnable
            if runnable is None:
                runnable = self._runnable_now()
            if runnable:
                break
            if not self._advance_clock():
                if all(t.state == FINISHED for t in self.threads):
                    self.end(Outcome("ok"))
                else:
                    blocked = {
                        t.tid: t.blocked
                        for t in self.threads
                        if t.state == BLOCKED and t.blocked is not None
                    }
                    frames = current_frames()  # where each waits: read once, at the end
                    for tid, b in blocked.items():
                        ident = self.threads[tid].ident
                        b.site = site_from(frames.get(ident) if ident else None, self.skip)
                        if b.inner is not None:
                            b.holder = getattr(b.inner, "holder", None)
                            b.holder_site = getattr(b.inner, "site", None)
                        elif b.kind == "join":
                            b.holder = self.by_thread.get(id(b.obj))
                        b.holder_alive = b.holder is not None and b.holder.state != FINISHED
                    self.end(Outcome("blocked", blocked=blocked))  # type: ignore[arg-type]
                return None
        current = me.tid if me is not None and me.state == RUNNABLE else None
        if yielding and current is not None and len(runnable) > 1:
            runnable = tuple([tid for tid in runnable if tid != current])
            current = None
        step = len(self.choices)
        if step >= self.max_steps:
            self.end(Outcome("step-bound", tid=current))
            return None
        try:
            tid = self.scheduler.next_thread(runnable, current, step)
            if tid not in runnable:
                raise not_runnable(tid, runnable)
        except Exception as exc:  # a replay that diverged, a broken strategy: end, report it
            self.end(Outcome("scheduler-error", tid=current, exception=exc))
            return None
        self.choices.append(Choice(tid, runnable, current))
        chosen = self.threads[tid]
        self._chosen(chosen)
        return chosen

    def _chosen(self, chosen: Managed) -> None:
        """``chosen`` was chosen: if it waits with a timeout, its timeout fires now (the clock
        moves to its deadline, the earliest, since only those are offered, and every wait due
        then times out); any other thread chosen lifts the bar on an early timeout (see
        :meth:`_runnable_now`)."""
        if chosen.state is BLOCKED:
            early = any(t.state is RUNNABLE for t in self.threads)
            self._advance_clock()
            if early:
                self.barred = chosen.tid
                self._runnable = None
        elif self.barred is not None and self.barred != chosen.tid:
            self.barred = None
            self._runnable = None

    def _runnable_now(self) -> tuple[int, ...]:
        """The ids of the threads the scheduler may choose, ascending, kept until a thread's
        state changes: the runnable ones, and those whose timed wait is due first (choosing
        one makes its wait time out now: a timed wait may time out at any point, so a
        try-lock's failure and a sleep used as synchronisation are explored).  A thread
        whose timeout fired early is not offered an early one again until another thread
        was chosen, so a polling loop cannot starve the threads it polls for."""
        runnable = [t.tid for t in self.threads if t.state is RUNNABLE]
        due = self._due() if self.timed else None
        if due:
            barred = self.barred if runnable else None
            runnable.extend(t.tid for t in due if t.tid != barred)
            runnable.sort()
        self._runnable = tuple(runnable)
        return self._runnable

    def _due(self) -> list[Managed]:
        """The blocked threads whose deadline is the earliest."""
        timed = [
            t
            for t in self.threads
            if t.state is BLOCKED and t.blocked is not None and t.blocked.deadline is not None
        ]
        if not timed:
            return timed
        first = min(t.blocked.deadline for t in timed)  # type: ignore[union-attr]
        return [t for t in timed if t.blocked.deadline == first]  # type: ignore[union-attr]

    def _advance_clock(self) -> bool:
        """Move the virtual clock to the earliest deadline and wake who waits for it."""
        deadlines = [
            t.blocked.deadline
            for t in self.threads
            if t.state == BLOCKED and t.blocked is not None and t.blocked.deadline is not None
        ]
        if not deadlines:
            return False
        self.now = max(self.now, min(deadlines))
        for t in self.threads:
            b = t.blocked
            if (
                t.state == BLOCKED
                and b is not None
                and b.deadline is not None
                and (b.deadline <= self.now)
            ):
                t.state = RUNNABLE
                self._runnable = None
                t.timed_out = True
                t.blocked = None
                if b.inner is not None and t in b.inner.waiters:
                    b.inner.waiters.remove(t)
        return True

    # -- time ---------------------------------------------------------------------------------
    def monotonic(self) -> float:
        """The virtual clock (seconds since :data:`EPOCH`, plus EPOCH)."""
        return self.now

    def sleep(self, seconds: float) -> None:
        """Let ``seconds`` pass on the virtual clock (others run meanwhile)."""
        me = self.me()
        if me is None:
            _real_sleep(seconds)
            return
        if seconds < 0:
            raise ValueError("sleep length must be non-negative")
        if seconds == 0:
            self.switch(me, "yield", yielding=True)
            return
        self.timed = True
        me.blocked = BlockedOn("sleep", None, None, self.now + seconds, None)
        me.state = BLOCKED
        self._runnable = None
        self.switch(me, "sleep")


def not_runnable(tid: int, runnable: tuple[int, ...]) -> RuntimeError:
    """The error of a scheduler that chose a thread that cannot run."""
    return RuntimeError(f"snarl: the scheduler chose {tid}, not one of {runnable}")


_real_sleep = __import__("time").sleep
