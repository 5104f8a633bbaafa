"""The controlled runtime: one managed thread runs at a time, and a Scheduler picks which.

Managed threads are real threads, each parked on its own *baton* (a ``_thread`` lock) while
another runs.  At every switch point the running thread asks the :class:`Scheduler` who runs
next, hands that thread its baton and parks on its own.  Switch points are:

* every operation on a primitive created under this runtime: the inner locks it supplies
  (:class:`SimLock`, :class:`SimRLock`) are real locks whose acquire first reaches a switch
  point, then tries the real lock without blocking; blocking is simulated (the thread is
  marked blocked and another is scheduled); a release marks the lock's waiters runnable and is
  a switch point too;
* thread start (the new thread is registered, runnable, before its OS thread starts), thread
  exit, ``join``, ``sleep``;
* :meth:`ControlledRuntime.yield_point`, called by a preemption hook (every line, bytecode, or
  check interval) in the explorer's chosen granularity.

Time is virtual (:mod:`.virtualtime`, where the next thread is also chosen):
:meth:`~ControlledRuntime.monotonic` starts at :data:`EPOCH` for every execution, ``sleep``
and timeouts block until the clock is moved, and the clock moves only when no thread can run:
to the earliest deadline, at once.  A test that sleeps 10 s runs in microseconds.

When no thread can run and no deadline is pending, the runtime only *reports* the fact
(:class:`Outcome` kind ``"blocked"``, with what each thread waits on); the explorer turns that
into a deadlock or lost-wakeup report through :mod:`snarl.analysis`.  The end of an execution,
whatever the reason, *abandons* the threads still parked: each is woken with
:class:`Abandon` raised at its switch point, so its ``finally`` blocks run and its OS thread
ends; none is left behind for the next execution.

Threads that are not managed (the explorer's own, pytest's) may touch these primitives: they
then block for real on the real lock inside, and never reach the scheduler.
"""

from __future__ import annotations

import _thread
import contextlib
import threading
from _thread import allocate_lock, get_ident
from collections.abc import Callable
from typing import Any

from .base import Abandon, Runtime
from .records import BLOCKED, FINISHED, RUNNABLE, BlockedOn, Managed, Outcome, Step
from .scheduler import Choice, Scheduler
from .simlock import SimLock, SimRLock, real_acquire, user_site
from .virtualtime import EPOCH, VirtualTime, not_runnable
from .workers import Workers

__all__ = [
    "EPOCH",
    "Abandon",
    "BlockedOn",
    "ControlledRuntime",
    "Managed",
    "Outcome",
    "Step",
]


_start_joinable_thread = getattr(_thread, "start_joinable_thread", None)  # 3.13+
_start_new_thread = _thread.start_new_thread
_new_choice = tuple.__new__  # Choice(...) without its Python-level __new__ (the hot path)


class _Started:
    """A managed Thread's ``_started`` Event once the runtime has started it: set for good.

    No one waits for it (the parent does not, see :meth:`ControlledRuntime.start_thread`);
    the new thread's ``set()`` in threading's bootstrap is then free."""

    __slots__ = ()

    def set(self) -> None:
        """Already set."""

    def is_set(self) -> bool:
        """Always."""
        return True

    def wait(self, timeout: float | None = None) -> bool:
        """Returns at once: set."""
        return True

    def _at_fork_reinit(self) -> None:
        pass


_STARTED = _Started()


class ControlledRuntime(VirtualTime, Runtime):
    """One execution's worth of managed threads, scheduled by ``scheduler``.

    ``skip(filename)`` says which code is not the user's (its frames are not reported as the
    site of a step).  ``max_steps`` bounds the switch points of an execution (then the outcome
    is ``"step-bound"``).  ``record_steps`` keeps a :class:`Step` per switch point (for the
    report of a final replay; off while exploring, where it would only cost).
    """

    hooked = False

    def __init__(
        self,
        scheduler: Scheduler,
        *,
        skip: Callable[[str], bool],
        max_steps: int = 100_000,
        record_steps: bool = False,
        switch_on_sync: bool = True,
    ) -> None:
        self.active = self  # what the inner locks it makes call (see simlock)
        self.scheduler = scheduler
        self.skip = skip
        self.max_steps = max_steps
        self.record_steps = record_steps
        self.switch_on_sync = switch_on_sync  # False: only preemption hooks and blocking switch
        self.threads: list[Managed] = []
        self.by_ident: dict[int, Managed] = {}
        self.by_thread: dict[int, Managed] = {}
        self.choices: list[Choice] = []
        self.steps: list[Step] = []
        self.now = EPOCH
        self.aborting = False
        self.outcome: Outcome | None = None
        self.done = allocate_lock()
        self.done.acquire()  # released when the execution is over
        self.starting: dict[int, Managed] = {}  # id(thread._started) -> the thread starting
        self.barred: int | None = None  # a thread whose timeout just fired early
        self.timed = False  # whether a thread has waited with a timeout in this execution
        self.workers: Workers | None = None  # kept OS threads for the threads it starts
        # The race detector's edges (``snarl explore --races``): told of every acquisition and
        # release of an inner lock, and of thread start, begin, exit and join, by managed
        # threads (see snarl.exploration.races); None: no race is looked for.
        self.races: Any = None
        # The ids of the runnable threads, ascending (None: to compute; every change of a
        # thread's state resets it)
        self._runnable: tuple[int, ...] | None = None

    # -- the base lock ----------------------------------------------------------------------
    def allocate_lock(self) -> SimLock:  # type: ignore[override]
        """A :class:`SimLock`."""
        return SimLock(self)

    def allocate_rlock(self) -> SimRLock:
        """A :class:`SimRLock`."""
        return SimRLock(self)

    def me(self) -> Managed | None:
        """The calling thread's record, or None if it is not managed."""
        return self.by_ident.get(get_ident())

    def block(self, prim: Any, inner: Any, blocking: Any, timeout: Any) -> bool:
        """Acquire ``inner`` for ``prim`` (the primitives' slow path)."""
        return self.acquire_inner(prim, inner, blocking, timeout)

    def acquire_inner(self, prim: Any, inner: Any, blocking: Any, timeout: Any) -> bool:
        """Acquire one of this runtime's inner locks: check the arguments as ``_thread``
        does, reach a switch point, take the real lock if free, else block (simulated)."""
        if timeout != -1:
            allocate_lock().acquire(blocking, timeout)  # free: raises _thread's errors, no wait
        me = self.me()
        if me is None:  # not managed: the real lock, really blocking
            return real_acquire(inner, blocking, timeout)
        if self.aborting:  # unwinding: a free lock is taken (a finally, a weakref callback
            if inner._try(me, self):  # freeing a pool), a wait is not waited
                return True
            raise Abandon
        if me.last_tried is inner:
            me.last_tried = None  # a try on it just failed at a switch point: no second one
        elif self.switch_on_sync and not me.quiet:
            self.switch(me, "acquire", prim if prim is not None else inner)
        if inner._try(me, self):
            if self.races is not None:
                self.races.acquired(me, inner, prim)
            return True
        if not blocking:
            me.last_tried = inner  # the primitive's slow path comes next: see above
            return False
        deadline = None if timeout < 0 else self.now + timeout
        if deadline is not None:
            self.timed = True
        kind = getattr(prim, "_snarl_kind", None) or (
            "rlock" if isinstance(inner, SimRLock) else "lock"
        )
        while True:
            me.blocked = BlockedOn(kind, prim, inner, deadline, None)
            me.state = BLOCKED
            self._runnable = None
            me.timed_out = False
            inner.waiters.append(me)
            self.switch(me, "block", prim if prim is not None else inner)
            if inner._try(me, self):
                if self.races is not None:
                    self.races.acquired(me, inner, prim)
                return True
            if me.timed_out:
                return False

    def freed(self, inner: Any, what: str) -> None:
        """``inner`` was released: its waiters may run again (a switch point)."""
        if self.aborting:  # threads unwinding after the end: the state is final
            return
        if self.races is not None:
            releaser = self.me()
            if releaser is not None:
                self.races.released(releaser, inner)
        if inner.waiters:
            for t in inner.waiters:
                if t.state == BLOCKED:
                    t.state = RUNNABLE
                    self._runnable = None
                    t.blocked = None
            inner.waiters.clear()
        if self.switch_on_sync:
            me = self.me()
            if me is not None and not me.quiet and not self.aborting:
                self.switch(me, what, inner)

    # -- switching ----------------------------------------------------------------------------
    def switch(self, me: Managed, what: str, obj: Any = None, *, yielding: bool = False) -> None:
        """A switch point reached by ``me``: ask the scheduler, hand over, park until chosen.

        ``me`` goes on running if it is runnable and chosen; if it is blocked or finished it
        must not be chosen, and it parks (a finished thread does not wait: it ends).
        """
        if self.aborting:
            raise Abandon
        me.last_tried = None
        if not yielding and not self.record_steps:
            # The hot path (every preemption point, most sync operations, most blocks): if
            # someone can run, the clock need not move; nothing is recorded but the choice.
            runnable = self._runnable
            if runnable is None:
                runnable = self._runnable_now()
            step = len(self.choices)
            if runnable and step < self.max_steps:
                current = me.tid if me.state is RUNNABLE else None
                me.inside = True  # a scheduler in user code must not reach a preemption point
                try:
                    tid = self.scheduler.next_thread(runnable, current, step)
                    if tid not in runnable:
                        raise not_runnable(tid, runnable)
                except Exception as exc:  # as in _choose: end the execution, report it
                    self.end(Outcome("scheduler-error", tid=current, exception=exc))
                    self._park(me)  # raises Abandon
                    return
                finally:
                    me.inside = False
                self.choices.append(_new_choice(Choice, (tid, runnable, current)))
                chosen = self.threads[tid]
                if chosen.state is not RUNNABLE or self.barred is not None:
                    self._chosen(chosen)  # a timeout fires, or a bar lifts
                if chosen is not me:
                    chosen.baton.release()
                    self._park(me)  # (blocked: until woken and chosen)
                return
        me.inside = True  # code run from here on (generated __init__s) is no preemption point
        try:
            could_go_on = me.state == RUNNABLE and not yielding
            chosen = self._choose(me, yielding)
            if chosen is not None:  # the clock may have woken ``me``: the choice says
                could_go_on = self.choices[-1].current == me.tid
            if self.record_steps:
                self.steps.append(
                    Step(
                        me.tid,
                        what,
                        self._label(obj),
                        user_site(self.skip),
                        None if chosen is None else chosen.tid,
                        could_go_on,
                    )
                )
        finally:
            me.inside = False
        if chosen is None:  # the execution is over
            if me.state != FINISHED:
                self._park(me)
            return
        if chosen is me:
            return
        chosen.baton.release()
        if me.state != FINISHED:
            self._park(me)

    def _label(self, obj: Any) -> str | None:
        starting = self.starting.get(id(obj))
        if starting is not None:  # Thread.start() waits for the new thread to run
            return f'the start of thread "{starting.name}"'
        return _label(obj)

    def _park(self, me: Managed) -> None:
        me.baton.acquire()
        if self.aborting:
            raise Abandon

    def end(self, outcome: Outcome) -> None:
        """End the execution with ``outcome`` (the first one wins) and wake every parked
        thread so it unwinds (:class:`Abandon`)."""
        if self.outcome is None:
            self.outcome = outcome
        if self.aborting:
            return
        self.aborting = True
        for t in self.threads:
            if t.state != FINISHED:
                with contextlib.suppress(RuntimeError):  # not parked: the caller, or starting
                    t.baton.release()
        with contextlib.suppress(RuntimeError):
            self.done.release()

    def fail(self, tid: int, exc: BaseException) -> None:
        """An exception escaped managed thread ``tid``: the execution ends with it."""
        self.end(Outcome("exception", tid=tid, exception=exc))

    def yield_point(self, what: str = "preempt") -> None:
        """A preemption point (granularity hooks): the scheduler may switch here."""
        me = self.by_ident.get(get_ident())
        if me is not None and me.state is RUNNABLE and not me.inside and not me.quiet:
            self.switch(me, what)

    # -- threads ------------------------------------------------------------------------------
    def adopt(self, thread: Any) -> Managed:
        """Register ``thread`` (not yet started) as managed and runnable; returns its record."""
        m = Managed(len(self.threads), thread)
        self.threads.append(m)
        self._runnable = None
        self.by_thread[id(thread)] = m
        return m

    def thread_starting(self, thread: Any) -> None:
        """``thread.start()`` is about to start it: register it (parent's context)."""
        me = self.me()
        if me is None or id(thread) in self.by_thread:
            return  # an unmanaged thread starts its own threads; or already adopted
        if self.aborting:
            raise Abandon
        m = self.adopt(thread)
        if self.races is not None:
            self.races.forked(me, m)
        started = getattr(thread, "_started", None)
        if started is not None:
            self.starting[id(started)] = m
        me.quiet = True

    def start_thread(self, thread: Any) -> bool:
        """Start a managed thread's OS thread without ``threading``'s hand-shake.

        ``Thread.start`` waits for the new thread to set its ``_started`` Event: under this
        runtime that wait is a simulated block, a switch and a Condition, about half the cost
        of a start.  Here the parent does what the new thread's first steps would make
        visible (its ident, started, alive) and goes on to the start's switch point, where
        the scheduler decides who runs.  Until the new thread first runs, its ``native_id``
        is None.
        """
        m = self.by_thread.get(id(thread))
        if m is None or self.aborting:
            return False
        if not thread._initialized:
            raise RuntimeError("thread.__init__() not called")
        if thread._started.is_set():
            raise RuntimeError("threads can only be started once")
        with threading._active_limbo_lock:  # type: ignore[attr-defined]
            threading._limbo[thread] = thread  # type: ignore[attr-defined]
        try:
            if _start_joinable_thread is not None:  # 3.13: the handle says alive, then done
                # A daemon for the interpreter's exit, whatever ``daemon`` says: a managed
                # thread stuck outside snarl's control must not hold the process for ever.
                handle = _start_joinable_thread(
                    thread._bootstrap, handle=thread._handle, daemon=True
                )
                thread._ident = handle.ident
            else:  # 3.10-3.12: alive while _tstate_lock is held; the thread sets its own
                stand_in = allocate_lock()
                stand_in.acquire()
                thread._tstate_lock = stand_in
                # On a kept OS thread if the exploration keeps them (see workers), which
                # then releases the stand-in when the thread ends.
                ident = None if self.workers is None else self.workers.start(thread, stand_in)
                if ident is None:
                    ident = _start_new_thread(thread._bootstrap, ())
                thread._ident = ident
        except Exception:
            with threading._active_limbo_lock:  # type: ignore[attr-defined]
                del threading._limbo[thread]  # type: ignore[attr-defined]
            raise
        # Started.  No one waits for the Event (the parent did not), so a set one stands in:
        # the new thread's own set() in threading's bootstrap is then a native no-op.
        thread._started = _STARTED
        return True

    def thread_start_returned(self, thread: Any) -> None:
        """``start()`` returned in the parent: the one switch point of a start."""
        me = self.me()
        if me is None or not me.quiet:
            return
        me.quiet = False
        if self.switch_on_sync and not self.aborting:
            self.switch(me, "start", thread)

    def thread_started(self, thread: Any) -> None:
        """In the new thread: bind its ident, then park until the scheduler chooses it.

        ``thread.run`` is wrapped (on the instance) so that :class:`Abandon` ends ``run()``
        quietly instead of reaching ``threading.excepthook``.
        """
        m = self.by_thread.get(id(thread))
        if m is None:
            return
        m.ident = get_ident()
        self.by_ident[m.ident] = m
        if self.races is not None:
            self.races.begin(m)
        run = thread.run

        def managed_run() -> None:
            m.quiet = False  # threading's bootstrap is done: the thread's own code begins
            # (not contextlib.suppress: a microsecond a thread, on the explorer's path)
            try:  # noqa: SIM105
                run()
            except Abandon:
                pass

        thread.run = managed_run  # (a cycle through the thread: undone at its exit)
        try:
            self._park(m)
        except Abandon:  # abandoned before threading's bootstrap ran
            thread.__dict__.pop("run", None)
            stand_in = getattr(thread, "_tstate_lock", None)
            if stand_in is not None:
                # 3.10-3.12: start_thread's stand-in (a native start sets none before the
                # bootstrap), which would keep the thread alive for ever; released, so a
                # join already waiting on it (the explorer reaping) returns at once
                thread._is_stopped = True
                thread._tstate_lock = None
                with contextlib.suppress(RuntimeError):
                    stand_in.release()
            raise
        m.quiet = True

    def run_as(self, thread: Any, fn: Callable[[], None]) -> None:
        """Run ``fn`` in the calling thread as the managed thread adopted for ``thread`` (an
        already running thread: the explorer's runner), from its park to its exit."""
        m = self.by_thread[id(thread)]
        m.ident = get_ident()
        self.by_ident[m.ident] = m
        if self.races is not None:
            self.races.begin(m)
        try:
            self._park(m)
            fn()
        except Abandon:
            pass
        finally:
            self.thread_exited(thread)

    def thread_exited(self, thread: Any) -> None:
        """In the ending thread: wake its joiners and hand over for good."""
        m = self.by_thread.get(id(thread))
        if m is None or m.state == FINISHED:
            return
        if self.races is not None and not self.aborting:
            self.races.exited(m)  # (before another thread runs: a joiner reads its clock)
        thread.__dict__.pop("run", None)  # managed_run: refcounting can free the thread now
        m.state = FINISHED
        self._runnable = None
        m.blocked = None
        for t in self.threads:
            b = t.blocked
            if t.state == BLOCKED and b is not None and b.kind == "join" and b.obj is thread:
                t.state = RUNNABLE
                self._runnable = None
                t.blocked = None
        if self.aborting:
            return
        chosen = self._choose(None)
        if self.record_steps:
            self.steps.append(
                Step(m.tid, "exit", None, None, None if chosen is None else chosen.tid, False)
            )
        if chosen is not None:
            chosen.baton.release()

    def join(self, thread: Any, timeout: float | None, native_join: Any) -> None:
        """Wait (simulated) until ``thread`` has finished, then reap it for real."""
        me = self.me()
        target = self.by_thread.get(id(thread))
        if me is None or target is None:
            native_join(thread, timeout)
            return
        if self.switch_on_sync:
            self.switch(me, "join", thread)
        if target.state != FINISHED:
            if timeout is not None and timeout <= 0:
                return
            deadline = None if timeout is None else self.now + timeout
            if deadline is not None:
                self.timed = True
            me.blocked = BlockedOn("join", thread, None, deadline, None)
            me.state = BLOCKED
            self._runnable = None
            me.timed_out = False
            self.switch(me, "block", thread)
        if target.state == FINISHED:
            if self.races is not None:
                self.races.joined(me, target)
            native_join(thread, None)  # its OS thread is ending: a short real wait


def _label(obj: Any) -> str | None:
    if obj is None:
        return None
    if isinstance(obj, threading.Thread):
        return f'thread "{obj.name}"'
    name = None
    try:
        name = obj.name if hasattr(type(obj), "name") else None
    except Exception:
        name = None
    kind = getattr(type(obj), "_snarl_type", None) or type(obj).__name__
    return f"{kind} `{name}`" if name else kind
