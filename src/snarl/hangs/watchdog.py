"""The hang watchdog: a background thread that reports deadlocks, stuck threads and orphaned locks.

``snarl.watch(period=1.0, stuck=10.0)`` starts a daemon thread, ``snarl-watchdog``, that checks
the process every ``period`` seconds for:

* **deadlock cycles** in the wait-for graph (the dump's own, :mod:`snarl.analysis.waitgraph`),
  each reported once: a cycle is known by its threads and the objects they wait on;
* **threads stuck** for at least ``stuck`` seconds, each reported once per stuck wait (a thread
  that leaves the wait and later gets stuck again is reported again).  What counts as stuck,
  and what never does (idle pools, sleeping, I/O), is the rule of :mod:`snarl.hangs.rules`;
  a thread already reported in a deadlock is not reported again as stuck;
* **locks held by threads that have exited** (snarl's tracked locks, taken by a bare
  ``acquire()``), each reported once, on the second check that finds it still held (a lock
  handed to another thread to release is not an orphan).

A :class:`~snarl.hangs.report.Report` carries the findings, the full snarl dump, how long each
stuck thread has waited and on what that figure rests, whether each holder is running,
blocked or gone, and CPU time per thread (Linux), sampled twice ``min(0.1 s, period)`` apart
for the threads involved, so that a holder spinning at 100% of a core is told from one that
is blocked.  It goes to standard error, a file, a text stream or a callable, and with
``abort=True`` the watchdog then ends the process with ``os._exit(70)``
(:data:`~snarl.hangs.report.ABORT_EXIT_CODE`; ``abort=N`` picks another code,
``abort_on={"deadlock"}`` limits which findings abort).  ``os._exit`` runs no ``atexit``
handler and flushes no buffer but the report's own.

What a check costs
------------------
A full snapshot of 1,000 threads costs 10-20 ms: 1-2% of a core if taken every second.
So a check first makes a cheap pass over ``sys._current_frames()``: for each thread it
compares the innermost frame, its code and its instruction with the previous check, and
reuses the previous verdict when nothing moved.  Only a thread that moved is read again
(its frames only, no other thread's), and a full snapshot is taken only when something may
be reportable: a wait that may stick has reached ``stuck``, a lock or join wait has lasted
two checks unexamined (it may close a cycle), or an exit left a tracked lock held.  With
nothing to report, a thousand idle threads cost well under 1% of a core at ``period=1``
(``benchmarks/bench_watch.py`` measures it).

The fallback for a stuck GIL
----------------------------
A Python watchdog cannot run while a C call holds the GIL: no Python thread can.  So each
check (re-)arms ``faulthandler.dump_traceback_later(fallback_timeout)`` (default
``max(stuck, 2 * period)``), a timer in a C thread that needs no GIL: it fires only if the
watchdog could not check for that long.  What it then writes (to the report's file, or to
standard error) is faulthandler's raw dump: ``Timeout (0:00:10)!`` and, for at most 100
threads, ``Thread 0x… (most recent call first):`` with ``File "…", line N in func`` lines:
no thread names, no locks, no waits, no deadlocks, and no mark on the thread that holds the
GIL (the timer's own C thread is not listed; the thread whose top frame sits on a C call is
the suspect).  It does not exit the process and does not repeat; the next check, if
the GIL comes back, re-arms it.  faulthandler has one such timer per process: the watchdog
takes it over (a ``dump_traceback_later`` of your own is replaced and is not restored by
``stop()``, which cancels the timer), only one watchdog at a time owns it, and
``fallback=False`` leaves it alone.

**It is off by default** (``fallback=True`` turns it on), for two reasons measured, not
guessed.  It fires falsely: the timer waits on the monotonic clock, so after the process is
stopped (Ctrl-Z, ``SIGSTOP``) for longer than ``fallback_timeout`` and continued, or after a
check comes late because the process was descheduled, it fires although nothing holds the
GIL (``tests/hangs/test_fallback.py``).  And what it then does is unsafe: faulthandler
walks every thread's frames from its C thread without the GIL, while those threads run, and
can crash the process (the issue's stress setup: 4 crashes in 80 stop/continue runs).  Only
when a C call really holds the GIL are the other threads still; ``kill -USR2`` under the
dump on signal asks faulthandler for the same dump on demand.  On a build without the GIL
(3.13t) ``fallback=True`` arms nothing and says so in a :class:`~snarl.errors.SnarlWarning`: no
C call can hold the watchdog back there, and the walk would race running threads.

Fork
----
A forked child has **no watchdog**: only the forking thread survives a fork, so the
watchdog's thread is not there.  Every watchdog the parent ran reads as stopped in the child
(``stop()`` there returns at once; the report file is the child's copy), and a new
:func:`watch` in the child starts the child's own.  faulthandler's timer cannot survive a
fork either (its C thread is gone, and a child that inherited an armed timer would hang at
exit waiting for it), so the timer is cancelled just before the fork, under the lock that
arming takes, and re-armed in the parent just after (``os.register_at_fork``).

Limits, stated: a check runs Python code, so it needs the GIL like any thread (see the
fallback); a wait timed by the watchdog itself is a lower bound; threads without a Python
frame are not seen; checks are ``period`` apart plus the time a check takes.
"""

from __future__ import annotations

import contextlib
import faulthandler
import os
import sys
import threading
import warnings
import weakref
from _thread import allocate_lock, get_ident
from collections.abc import Callable, Collection
from dataclasses import replace
from types import TracebackType
from typing import Any, Literal

from ..errors import SnarlWarning
from ..frames import gil_off, held_frames
from ..threaddump.collect import snapshot
from ..threaddump.model import Deadlock, ObjectInfo, Snapshot, ThreadInfo, WaitInfo
from ..threaddump.safe import forget
from .cpu import AVAILABLE, cpu_seconds
from .report import (
    ABORT_EXIT_CODE,
    KINDS,
    HolderStatus,
    OrphanedLock,
    Report,
    ReportTarget,
    Sink,
    StuckThread,
    describe,
    write_stderr,
)
from .rules import THREAD_KINDS, Classifier, Verdict, now, recorded_wait
from .signals import installed_signal_dump

__all__ = ["Watchdog", "watch"]

_EDGE_KINDS = frozenset({"lock", "rlock", "thread-join", "future-result"})
_CPU_WINDOW = 0.1
_fallback_owner: Watchdog | None = None
_arming = allocate_lock()  # held to arm or cancel faulthandler's timer, and across a fork
_started: weakref.WeakSet[Watchdog] = weakref.WeakSet()  # read after a fork, in the child


class _Seen:
    """What the cheap pass remembers of one thread between checks."""

    __slots__ = ("checks", "examined", "key", "recheck_at", "reported", "start", "verdict")

    def __init__(self, key: tuple[int, int, int], verdict: Verdict, start: float) -> None:
        self.key = key
        self.verdict = verdict
        self.start = start if verdict.since is None else min(start, verdict.since)
        self.checks = 1
        self.examined = False  # a full snapshot has looked at this wait (for cycles)
        self.reported = False  # reported as stuck, or in a reported deadlock
        self.recheck_at = 0.0  # a join on a working thread: look again at this time


class Watchdog:
    """A hang watchdog; :func:`watch` makes and starts one.  See the module docstring.

    ``check()`` runs one check in the calling thread (and delivers its report, if any, as the
    background thread would); ``start()`` and ``stop()`` run and end the background thread;
    as a context manager it starts on entry (if not started) and stops on exit.
    """

    def __init__(
        self,
        period: float = 1.0,
        stuck: float = 10.0,
        *,
        report: ReportTarget = None,
        format: Literal["text", "json"] = "text",
        abort: bool | int = False,
        abort_on: Collection[str] = KINDS,
        strict: bool = False,
        fallback: bool = False,
        fallback_timeout: float | None = None,
        name: str = "snarl-watchdog",
    ) -> None:
        self.period = _positive("period", period)
        self.threshold = _positive("stuck", stuck)
        self.abort_code = _abort_code(abort)
        # Called (if set) just before an abort's os._exit: what must outlive the process
        # (``snarl run --timeline`` saves its recording here).
        self.before_abort: Callable[[], None] | None = None
        unknown = sorted(set(abort_on) - set(KINDS))
        if isinstance(abort_on, str) or unknown:
            bad = abort_on if isinstance(abort_on, str) else ", ".join(unknown)
            raise ValueError(
                f"snarl.hangs: abort_on takes a collection of {', '.join(KINDS)}, not {bad!r}"
            )
        self.abort_on = frozenset(abort_on)
        self.fallback_timeout = (
            max(self.threshold, 2 * self.period)
            if fallback_timeout is None
            else _positive("fallback_timeout", fallback_timeout)
        )
        self.name = name
        self._sink = Sink(report, format)  # opens a report file now: a bad path fails here
        self._fallback_wanted = bool(fallback)
        self.fallback_armed = False
        """Whether this watchdog owns and arms faulthandler's timer (see the module docstring)."""
        self._classifier = Classifier(strict=strict)
        self._seen: dict[int, _Seen] = {}
        self._cycles: set[frozenset[tuple[int, int | None]]] = set()
        self._orphans_reported: set[tuple[int, int, float]] = set()
        self._orphans_pending: dict[tuple[int, int, float], float] = {}
        self._exited_sig: tuple[Any, ...] = ()
        self._orphan_state: dict[str, Any] = {"now": 0.0, "locks": {}, "exited": {}}
        self._errors: set[str] = set()
        self._noted = False  # whether the note of a partial frame reading was said
        self._lock = allocate_lock()  # one check at a time (the thread's, or check()'s)
        self._cancel = allocate_lock()  # held while running; stop() releases it
        self._cancel.acquire()
        self._stopped = False
        self._thread: threading.Thread | None = None
        self._ident: int | None = None
        self.checks = 0
        """Checks completed so far."""
        self.snapshots = 0
        """Full snapshots taken so far (the cheap pass found something worth a look)."""
        self.last_report: Report | None = None
        """The most recent report, or None."""

    # -- life cycle ---------------------------------------------------------------------
    def start(self) -> Watchdog:
        """Start the background thread (once); returns self."""
        global _fallback_owner
        if self._stopped:
            raise RuntimeError("snarl.hangs: a stopped watchdog cannot be started again")
        if self._thread is not None:
            return self
        if self._fallback_wanted and gil_off():
            self._fallback_wanted = False
            warnings.warn(
                "snarl.hangs: no fallback timer on a build without the GIL (no C call can hold "
                "the watchdog back there, and faulthandler's walk of running threads is unsafe)",
                SnarlWarning,
                stacklevel=2,
            )
        if self._fallback_wanted and (_fallback_owner is None or _fallback_owner._stopped):
            _fallback_owner = self
            self.fallback_armed = True
            self._arm()
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()
        _started.add(self)
        return self

    def stop(self, timeout: float | None = 10.0) -> None:
        """Stop the thread promptly (it waits on a lock this releases), cancel the fallback
        timer, close a report file it opened.  Idempotent; safe from a report callback."""
        global _fallback_owner
        if not self._stopped:
            self._stopped = True
            self._cancel.release()
        thread = self._thread
        if thread is not None and thread.ident != get_ident():
            thread.join(timeout)
        with _arming:
            if _fallback_owner is self:
                _fallback_owner = None
                with contextlib.suppress(Exception):
                    faulthandler.cancel_dump_traceback_later()
            self.fallback_armed = False
        with self._lock:
            self._sink.close()

    @property
    def running(self) -> bool:
        """Whether the background thread is alive."""
        return self._thread is not None and self._thread.is_alive()

    def __enter__(self) -> Watchdog:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped" if self._stopped else "not started"
        return (
            f"<snarl.Watchdog {state} period={self.period:g}s stuck={self.threshold:g}s"
            f" checks={self.checks} snapshots={self.snapshots}>"
        )

    def _run(self) -> None:
        self._ident = get_ident()
        while True:
            self._safe_check()
            dump = installed_signal_dump()
            if dump is not None:
                dump.check_replaced()  # the program set its own handler: said once
            if self.fallback_armed:
                self._arm()
            if self._cancel.acquire(timeout=self.period):
                return

    def _arm(self) -> None:
        try:
            with _arming:  # not while a fork is under way (see the module docstring)
                if not self.fallback_armed or self._stopped or _fallback_owner is not self:
                    return
                faulthandler.dump_traceback_later(
                    self.fallback_timeout, repeat=False, file=self._sink.fallback_file(), exit=False
                )
        except Exception as exc:  # no usable file descriptor, for one
            self.fallback_armed = False
            warnings.warn(
                f"snarl.hangs: faulthandler's fallback timer could not be armed: {exc}",
                SnarlWarning,
                stacklevel=2,
            )

    def _safe_check(self) -> None:
        try:
            self.check()
        except BaseException as exc:  # a watchdog never ends (nor ends the program) by accident
            message = f"{type(exc).__name__}: {exc}"
            if message not in self._errors:
                self._errors.add(message)
                write_stderr(f"snarl watchdog: a check failed ({message}); checks go on\n")

    # -- one check ------------------------------------------------------------------------
    def check(self) -> Report | None:
        """Run one check now; deliver and return its report, or None if nothing is new."""
        with self._lock:
            try:
                report = self._check()
            finally:
                self.checks += 1
        if report is not None:
            self.last_report = report
            self._sink.deliver(report)
            if self.abort_code is not None and self.abort_on.intersection(report.kinds):
                kinds = ", ".join(k for k in report.kinds if k in self.abort_on)
                write_stderr(
                    f"snarl watchdog: {kinds} found: aborting with exit code {self.abort_code}\n"
                )
                self._sink.flush()
                if self.before_abort is not None:
                    try:
                        self.before_abort()
                    except Exception as exc:  # the abort goes ahead whatever it does
                        write_stderr(f"snarl watchdog: before_abort failed: {exc!r}\n")
                os._exit(self.abort_code)
        return report

    def _check(self) -> Report | None:
        t = now()
        look = self._scan(t)
        orphan_keys = self._orphans_due(t)
        if not look and not orphan_keys:
            return None
        self.snapshots += 1
        snap = self._snapshot()
        deadlocks = self._new_deadlocks(snap)
        stuck = self._stuck(snap, t)
        orphaned = self._orphaned(orphan_keys, snap) if orphan_keys else ()
        if not (deadlocks or stuck or orphaned):
            return None
        kinds = tuple(
            k
            for k, found in zip(KINDS, (deadlocks, stuck, orphaned), strict=True)
            if found  # type: ignore[truthy-bool]
        )
        cpu, share, window = self._cpu(snap, deadlocks, stuck, orphaned)
        return Report(
            kinds,
            snap,
            deadlocks,
            stuck,
            orphaned,
            cpu,
            share,
            window,
            self.period,
            self.threshold,
        )

    def _scan(self, t: float) -> bool:
        """The cheap pass: which threads moved, and is anything worth a full snapshot?"""
        self._classifier.begin()
        forget()
        previous = self._seen
        seen: dict[int, _Seen] = {}
        # (on a free-threaded build the other threads are parked until the block ends)
        with held_frames() as reading:
            look = self._look(reading, previous, seen, t)
        self._seen = seen
        return look

    def _look(
        self, reading: Any, previous: dict[int, _Seen], seen: dict[int, _Seen], t: float
    ) -> bool:
        """Classify each thread that moved (into ``seen``): is a full snapshot worth it?"""
        classifier = self._classifier
        threshold = self.threshold
        skip = (get_ident(), self._ident)
        look = False
        frames = reading.frames
        if reading.note is not None and not self._noted:
            # (subinterpreters: other threads' frames cannot be read safely; see frames.py)
            self._noted = True
            write_stderr(
                f"snarl watchdog: {reading.note}; hangs of other threads are not watched\n"
            )
        try:
            for ident, top in frames.items():
                if ident in skip:
                    continue
                key = (id(top), id(top.f_code), top.f_lasti)
                entry = previous.get(ident)
                if entry is None or entry.key != key:
                    entry = _Seen(key, classifier.classify(top, recorded_wait(ident)), t)
                else:
                    entry.checks += 1
                seen[ident] = entry
                verdict = entry.verdict
                if verdict.may_stick and not entry.reported:
                    due = t - entry.start >= threshold and t >= entry.recheck_at
                    # A lock or join wait two checks old, not yet in a snapshot: a cycle?
                    fresh = not entry.examined and entry.checks >= 2
                    look = look or due or (fresh and verdict.kind in _EDGE_KINDS)
        finally:
            del frames
            top = None
        return look

    def _snapshot(self) -> Snapshot:
        snap = snapshot()
        if self._ident is None:
            return snap
        threads = tuple(t for t in snap.threads if t.ident != self._ident)
        return replace(snap, threads=threads)

    def _new_deadlocks(self, snap: Snapshot) -> tuple[Deadlock, ...]:
        found = []
        for d in snap.deadlocks:
            key = frozenset(
                (s.thread, s.wait.object.id if s.wait.object is not None else None) for s in d.steps
            )
            for step in d.steps:
                entry = self._seen.get(step.thread)
                if entry is not None:
                    entry.reported = True  # a thread in a cycle is not also "stuck"
            if key not in self._cycles:
                self._cycles.add(key)
                found.append(d)
        return tuple(found)

    def _stuck(self, snap: Snapshot, t: float) -> tuple[StuckThread, ...]:
        by_ident = {th.ident: th for th in snap.threads}
        found = []
        for ident, entry in self._seen.items():
            verdict = entry.verdict
            if not verdict.may_stick or entry.reported:
                continue
            entry.examined = True
            info = by_ident.get(ident)
            wait = info.wait if info is not None else None
            if info is None or wait is None or info.state != "waiting" or wait.kind != verdict.kind:
                # It moved between the pass and the snapshot (the next pass will see), or the
                # snapshot reads it otherwise: look again after another threshold, not sooner.
                entry.recheck_at = t + self.threshold
                continue
            if wait.since is not None:
                waited, basis = wait.since, "tracked"
            else:
                waited, basis = t - entry.start, "observed"
            if t < entry.recheck_at:
                continue
            if waited < self.threshold:  # snarl's records say the wait began again since
                entry.recheck_at = t + self.threshold - waited
                continue
            holders = _statuses(wait, by_ident)
            if verdict.kind in THREAD_KINDS and any(
                h.status == "running" or h.state == "sleeping" for h in holders
            ):
                entry.recheck_at = t + self.threshold  # it waits for a thread that works
                continue
            entry.reported = True
            found.append(
                StuckThread(ident, info.name, wait, waited, basis, verdict.reason, holders)
            )
        return tuple(found)

    # -- orphaned locks -------------------------------------------------------------------
    def _orphans_due(self, t: float) -> list[tuple[int, int, float]]:
        """Orphaned locks seen on an earlier check and still held now (cheap when none)."""
        observer = sys.modules.get("snarl.runtime.observer")
        exited = observer.OBSERVER.exited if observer is not None else None
        if not exited:
            self._exited_sig = ()
            self._orphans_pending.clear()
            return []
        sig = tuple((ident, rec["at"], tuple(rec["held"])) for ident, rec in list(exited.items()))
        if sig == self._exited_sig and not self._orphans_pending:
            return []
        self._exited_sig = sig
        state = observer.tracked_state()
        held_now = {
            (lock_id, ident, rec["at"])
            for ident, rec in state["exited"].items()
            for lock_id in rec["held"]
        }
        self._orphan_state = state
        pending = {k: v for k, v in self._orphans_pending.items() if k in held_now}
        due = []
        for key in held_now - self._orphans_reported:
            first = pending.setdefault(key, t)
            if first < t:  # seen on an earlier check too
                due.append(key)
        self._orphans_pending = {k: v for k, v in pending.items() if k not in due}
        return due

    def _orphaned(
        self, keys: list[tuple[int, int, float]], snap: Snapshot
    ) -> tuple[OrphanedLock, ...]:
        state = self._orphan_state
        found = []
        for key in sorted(keys):
            lock_id, owner, at = key
            self._orphans_reported.add(key)
            facts = state["locks"].get(lock_id)
            name = state["exited"].get(owner, {}).get("name")
            waiters = tuple(
                th.ident
                for th in snap.threads
                if th.wait is not None and th.wait.object and th.wait.object.id == lock_id
            )
            found.append(
                OrphanedLock(
                    _lock_object(facts, lock_id),
                    owner,
                    name,
                    max(0.0, state["now"] - at),
                    _pair(facts.get("created")) if facts else None,
                    _pair(facts.get("acquired")) if facts else None,
                    waiters,
                )
            )
        return tuple(found)

    # -- CPU ------------------------------------------------------------------------------
    def _cpu(
        self,
        snap: Snapshot,
        deadlocks: tuple[Deadlock, ...],
        stuck: tuple[StuckThread, ...],
        orphaned: tuple[OrphanedLock, ...],
    ) -> tuple[dict[int, float] | None, dict[int, float] | None, float]:
        if not AVAILABLE:
            return None, None, 0.0
        natives = {th.ident: th.native_id for th in snap.threads}
        first = {}
        for ident, native in natives.items():
            seconds = cpu_seconds(native)
            if seconds is not None:
                first[ident] = seconds
        involved = {s.thread for d in deadlocks for s in d.steps}
        involved.update(s.ident for s in stuck)
        involved.update(h.ident for s in stuck for h in s.holders if h.status != "gone")
        involved.update(w for o in orphaned for w in o.waiters)
        involved &= first.keys()
        share: dict[int, float] = {}
        window = 0.0
        if involved:
            started = now()
            if self._cancel.acquire(timeout=min(_CPU_WINDOW, self.period)):
                self._cancel.release()  # stop() was called: leave the lock released for _run
            window = now() - started
            for ident in involved:
                later = cpu_seconds(natives[ident])
                if later is not None and window > 0:
                    share[ident] = max(0.0, (later - first[ident]) / window)
                    first[ident] = later
        return first, share, window


# -- fork -------------------------------------------------------------------------------------
def _before_fork() -> None:
    """Cancel faulthandler's timer: the child would inherit it armed, without its thread."""
    _arming.acquire()  # held across the fork: no check re-arms the timer meanwhile
    if _fallback_owner is not None and _fallback_owner.fallback_armed:
        with contextlib.suppress(Exception):
            faulthandler.cancel_dump_traceback_later()


def _after_fork_in_parent() -> None:
    owner = _fallback_owner
    _arming.release()
    if owner is not None and owner.fallback_armed and not owner._stopped:
        owner._arm()


def _after_fork_in_child() -> None:
    """The child has no watchdog: each one the parent ran reads as stopped here."""
    global _fallback_owner, _arming
    _arming = allocate_lock()
    _fallback_owner = None
    for wd in list(_started):
        wd._stopped = True
        wd.fallback_armed = False
        wd._lock = allocate_lock()  # the parent's watchdog thread may have held it


if hasattr(os, "register_at_fork"):
    os.register_at_fork(
        before=_before_fork,
        after_in_parent=_after_fork_in_parent,
        after_in_child=_after_fork_in_child,
    )


def _statuses(wait: WaitInfo, by_ident: dict[int, ThreadInfo]) -> tuple[HolderStatus, ...]:
    found = []
    for h in wait.holders:
        info = by_ident.get(h.ident)
        if not h.alive:
            status, state, doing = "gone", None, None
        elif info is None:
            status, state, doing = "unknown", None, None
        elif info.state == "running":
            status, state, doing = "running", info.state, describe(info)
        else:
            status, state, doing = "blocked", info.state, describe(info)
        found.append(HolderStatus(h.ident, h.name, status, h.basis, state, doing))
    return tuple(found)


def _lock_object(facts: dict[str, Any] | None, lock_id: int) -> ObjectInfo:
    if facts is None:
        return ObjectInfo("snarl.sync.lock.Lock", lock_id, None, None)
    return ObjectInfo(f"snarl.sync.lock.{facts['type']}", lock_id, facts["name"], facts["locked"])


def _pair(value: Any) -> tuple[str, int | None] | None:
    return (value[0], value[1]) if value else None


def _positive(what: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise ValueError(f"snarl.hangs: {what} must be a positive number of seconds, not {value!r}")
    return float(value)


def _abort_code(abort: bool | int) -> int | None:
    if abort is False or abort is None:
        return None
    if abort is True:
        return ABORT_EXIT_CODE
    if isinstance(abort, int) and 0 <= abort <= 255:
        return abort
    raise ValueError(f"snarl.hangs: abort must be True, False or an exit code 0-255, not {abort!r}")


def watch(
    period: float = 1.0,
    stuck: float = 10.0,
    *,
    report: ReportTarget = None,
    format: Literal["text", "json"] = "text",
    abort: bool | int = False,
    abort_on: Collection[str] = KINDS,
    strict: bool = False,
    fallback: bool = False,
    fallback_timeout: float | None = None,
) -> Watchdog:
    """Start a hang watchdog and return it (``stop()`` it, or use it as a context manager).

    Every ``period`` seconds it looks for new deadlock cycles, threads stuck for ``stuck``
    seconds or more (idle is not stuck: the rule is in :mod:`snarl.hangs.rules`) and locks
    held by exited threads, and reports each once.  ``report`` is None (standard error), a
    path (appended), a text stream, or a callable taking the :class:`Report`; ``format`` is
    ``"text"`` or ``"json"``.  ``abort=True`` ends the process with exit code 70 after a
    report (``abort=N``: exit code N; ``abort_on`` limits which kinds of finding abort).
    ``strict=True`` counts Event and Condition waits inside loops too (catches lost wakeups,
    reports parked pools).  ``fallback=True`` arms faulthandler's C timer for a stuck GIL,
    firing after ``fallback_timeout`` seconds (default ``max(stuck, 2 * period)``) without a
    check; off by default, as the module docstring explains (it fires after a stop/continue,
    and walks running threads' frames without the GIL).
    """
    return Watchdog(
        period,
        stuck,
        report=report,
        format=format,
        abort=abort,
        abort_on=abort_on,
        strict=strict,
        fallback=fallback,
        fallback_timeout=fallback_timeout,
    ).start()
