"""Recording thread timelines: who waited on what, for how long, and who let it go.

:func:`record` attaches a :class:`Recorder` to the observer runtime
(:attr:`snarl.runtime.observer.ObserverRuntime.recorder`).  It hears only the observer's slow
paths: a wait that must block (:meth:`~snarl.runtime.observer.ObserverRuntime.block`), a join,
a thread's start and exit.  An uncontended ``with lock:`` runs exactly the code it runs without
a recording, so the cost of recording grows with contention, not with lock traffic.

Events
------
Events are small tuples kept in a ring buffer (``collections.deque(maxlen=size)``); when it is
full the oldest go, and :attr:`Recording.dropped` says how many.  Times are
``time.perf_counter_ns()``; a *lane* is one thread's row in the timeline, numbered in the order
threads were first seen (a new thread reusing an ident gets a new lane)::

    ("thread", ts, lane, ident, name, how)   how: "start" (it started while recording) or
                                             "seen" (running already; first seen at ts)
    ("exit", ts, lane, ident, name)
    ("wait", t0, t1, lane, kind, obj, site, outcome, by)
        kind     "lock", "rlock", "condition", "semaphore", "event", "barrier", "join"
        obj      (id, type name, name or None) of what it waited on (a Thread for "join")
        site     (filename, line, function) of the code that waited, or None
        outcome  "done" (got it), "timeout", or "unfinished" (still waiting at the stop)
        by       (lane, ts): who released it to this thread, and when; None if not known
    ("gil", t0, t1, lane, by)                with record(gil=True): a check-interval GIL
                                             offer; by = (lane, ts) of the thread that took it
    ("interval", ts, on)                     with record(gil=True): the check interval's
                                             offers began (on True) or ended

Who released it
---------------
"Released to this thread" is recorded, not guessed:

* a lock: the first time a thread waits on a Lock, the recorder puts a thin wrapper around
  its inner ``_thread`` lock whose ``release()`` notes the releasing thread and time before
  releasing, so every later release is seen, a ``with`` block entered before the watch
  began included.  An RLock's inner lock is the interpreter's own RLock, which snarl reads
  its owner from and cannot wrap: the RLock's class is swapped instead for a subclass whose
  releases note (same slots, same name), which a ``with`` block entered before the swap does
  not reach.  A waiter that gets the lock reads the last release noted since the watch
  began.  Only locks that had a waiter pay for this, and only while the recording lasts.
* a Condition, or the Condition inside an Event, Semaphore or Barrier: while recording,
  ``Condition.notify`` is wrapped to note which waiters each call wakes, and by whom.
* a join: the joined thread's exit.

What stays unknown (``by`` is None): a release in the instant between a waiter's failed
attempt and the start of watching (the first wait on each lock only); for an RLock, the
release ending a ``with`` block entered before the watch, and a release through a bound
method taken before it (a Condition over an RLock re-binds its own, and leaves its C-lock
fast path, when a waiter waits to reacquire the RLock after a wait on the Condition).

GIL offers
----------
``gil=True`` wraps the check interval's GIL offer (:class:`snarl.interval.offer.Handoff`; on
a free-threaded build the token of :class:`snarl.interval.turns.Turns`) for emulations started
during the recording (start the recording first; see :mod:`snarl.timeline.gil`): each offer
that another thread took becomes a ``"gil"`` event, from the offer until the thread has the
GIL back, with the thread that took it; ``"interval"`` events say when the offers began and
ended.  While they are on, a thread
holds the GIL between its offers and its waits (the interpreter's own switching is pushed out
to a second), and the timeline draws those stretches as running.
"""

from __future__ import annotations

import itertools
import logging
import os
import sys
import threading
import weakref
from _thread import LockType, get_ident
from collections import deque
from collections.abc import Callable
from time import perf_counter_ns
from types import FrameType
from typing import Any

from ..identity import infer_name
from ..interval.emulation import is_library_file
from ..runtime.instruments import WaitRecorder
from ..runtime.observer import OBSERVER
from ..sync.condition import Condition
from ..sync.lock import Lock, RLock, _HookedLock, _HookedRLock
from .gil import wrap_offers

__all__ = ["LOCK_KINDS", "Recorder"]

_log = logging.getLogger("snarl.timeline")

LOCK_KINDS = frozenset({"lock", "rlock"})
"""Wait kinds whose releaser is a lock's release (the others are woken by a notify)."""

_SNARL = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "")
_EXAMPLES = os.path.join(_SNARL, "examples", "")  # an installed snarl's bundled examples
_library: dict[str, bool] = {}


# -- locks whose releases are noted ------------------------------------------------------------
_noting: list[Recorder | None] = [None]  # the recorder watched locks report to, if any


def _note(lock: Any) -> None:
    recorder = _noting[0]  # one read: the recording may stop meanwhile
    if recorder is not None:
        recorder.note_release(lock)


def _watching_class(base: type) -> type:
    """A subclass of ``base`` (same slots, same name) whose releases are noted first."""
    release, exit_, release_save = base.release, base.__exit__, base._release_save  # type: ignore[attr-defined]

    def watched_release(self: Any) -> None:
        _note(self)
        release(self)

    def watched_exit(self: Any, exc_type: Any, exc: Any, tb: Any) -> None:
        _note(self)
        exit_(self, exc_type, exc, tb)

    def watched_release_save(self: Any) -> Any:
        _note(self)
        return release_save(self)

    namespace = {
        "__slots__": (),
        "__module__": base.__module__,
        "__qualname__": base.__qualname__,
        "__doc__": base.__doc__,
        "release": watched_release,
        "__exit__": watched_exit,
        "_release_save": watched_release_save,
    }
    if hasattr(base, "release_lock"):
        namespace["release_lock"] = watched_release
    return type(base.__name__, (base,), namespace)


_WATCHING: dict[type, type] = {cls: _watching_class(cls) for cls in (RLock, _HookedRLock)}
_WRAPPED = (Lock, _HookedLock)  # their inner lock is a plain _thread lock: wrapped instead


class _NotingLock:
    """A watched Lock's inner lock: ``_thread.lock``'s interface, noting each release.

    ``acquire`` and ``locked`` are the real lock's own bound methods (slots), so taking the
    lock costs no Python call; ``release`` notes the releasing thread and time first.
    """

    __slots__ = ("acquire", "acquire_lock", "key", "locked", "locked_lock", "real")

    def __init__(self, real: Any, lock: Any) -> None:
        self.real = real
        self.key = id(lock)
        self.acquire = self.acquire_lock = real.acquire
        self.locked = self.locked_lock = real.locked

    def release(self) -> None:
        """Note the release (while recording), then release."""
        recorder = _noting[0]
        if recorder is not None:
            now = perf_counter_ns()
            ident = get_ident()
            lane = recorder._lanes.get(ident)
            if lane is None:
                lane = recorder._lane(ident, now)
            recorder._released[self.key] = (lane, now)
        self.real.release()

    release_lock = release

    def _at_fork_reinit(self) -> None:
        self.real._at_fork_reinit()

    def __enter__(self) -> bool:
        return self.real.acquire()  # type: ignore[no-any-return]

    def __exit__(self, *exc: object) -> None:
        self.release()

    def __repr__(self) -> str:
        return repr(self.real)


_WATCHED_TYPES = frozenset(_WATCHING.values())
_CONDITION_METHODS = ("release", "_release_save")  # bound to the lock at Condition()


class Recorder(WaitRecorder):
    """The observer's wait recorder for one :class:`~snarl.timeline.Recording`."""

    def __init__(self, size: int, gil: bool) -> None:
        self.ring: deque[tuple[Any, ...]] = deque(maxlen=size)
        self._count = itertools.count()  # one tick per event appended (C: thread-safe)
        self.gil = gil
        self.active = False
        self.began = 0
        self.ended: int | None = None
        self.appended = 0
        self.error: str | None = None
        self._lanes: dict[int, int] = {}  # ident -> lane of the thread last run under it
        self._names: dict[int, str] = {}  # lane -> name, for lanes alive
        self._unnamed: dict[int, int] = {}  # ident -> lane first seen before threading knew it
        self._after_wait: dict[int, Any] = {}  # lane -> the Condition it last waited on
        self._lane_numbers = itertools.count()
        self._open: dict[int, list[Any]] = {}  # id(token) -> token of a wait in progress
        self._released: dict[int, tuple[int, int]] = {}  # id(lock) -> (lane, ts) last release
        self._since: dict[int, int] = {}  # id(lock) -> when its releases began to be noted
        # id -> (weak reference, what to restore): entries go when their object does
        self._watched: dict[int, tuple[weakref.ref[Any], type | None]] = {}
        self._conditions: dict[int, tuple[weakref.ref[Any], dict[str, Any]]] = {}
        self._notify: Any = None  # Condition.notify, while it is wrapped
        self._woken: dict[int, tuple[int, int, int]] = {}  # id(waiter) -> (id(cond), lane, ts)
        self._exits: weakref.WeakKeyDictionary[Any, tuple[int, int]] = weakref.WeakKeyDictionary()
        self._acks: dict[int, tuple[int, int]] = {}  # offering ident -> (lane, ts) of taker
        self._handoff: Callable[[], None] | None = None  # undoes wrap_offers
        self.sites: dict[int, Any] = {}  # Site.key -> Site, for the names of waited objects
        self._locks: dict[int, tuple[Any, ...]] = {}  # id(lock) -> its _raw(), while watched

    # -- life ------------------------------------------------------------------------------
    def start(self) -> None:
        """Attach to the observer (and wrap the GIL offer with ``gil``)."""
        if OBSERVER.recorder is not None or _noting[0] is not None:
            raise RuntimeError("snarl: a timeline recording is already running")
        self.began = perf_counter_ns()
        self.active = True
        _noting[0] = self
        self._wrap_notify()
        if self.gil:
            self._handoff = wrap_offers(self)
        OBSERVER.recorder = self

    def stop(self) -> None:
        """Detach; waits still in progress become ``"unfinished"`` events; undo every watch."""
        if not self.active:
            return
        if OBSERVER.recorder is self:
            OBSERVER.recorder = None
        self.active = False
        self.ended = now = perf_counter_ns()
        for token in list(self._open.values()):
            self._emit_wait(token, now, "unfinished")
        self._open.clear()
        if self._handoff is not None:
            self._handoff()  # the offers' own methods back
            self._handoff = None
        if self._notify is not None:
            Condition.notify = self._notify  # type: ignore[method-assign]
            self._notify = None
        if _noting[0] is self:
            _noting[0] = None
        for ref, original in list(self._watched.values()):
            lock = ref()
            if lock is None:
                continue
            if original is None:
                inner = lock._inner
                if type(inner) is _NotingLock:
                    lock._inner = inner.real
            elif type(lock) in _WATCHED_TYPES:
                lock.__class__ = original
        for ref, saved in list(self._conditions.values()):
            cond = ref()
            if cond is None:
                continue
            cond.__dict__.update(saved)
        self._watched.clear()
        self._conditions.clear()
        self._released.clear()
        self._since.clear()
        self._locks.clear()
        self._woken.clear()
        self._acks.clear()
        self._after_wait.clear()
        self.appended = next(self._count)

    def alive_names(self) -> dict[int, str]:
        """Lane -> name of the threads still running (names may change while they run)."""
        out = dict(self._names)
        for ident, lane in list(self._lanes.items()):
            thread = threading._active.get(ident)  # type: ignore[attr-defined]
            if thread is not None:
                out[lane] = thread.name
        return out

    def _failed(self, exc: BaseException) -> None:
        """A bug in the recorder must not break the program: stop recording, say why."""
        if self.error is None:
            self.error = f"{type(exc).__name__}: {exc}"
            _log.error("snarl timeline recorder failed and stopped recording", exc_info=exc)
        if OBSERVER.recorder is self:
            OBSERVER.recorder = None

    # -- lanes -----------------------------------------------------------------------------
    def _lane(self, ident: int, now: int) -> int:
        lane = self._lanes.get(ident)
        if lane is None:
            lane = next(self._lane_numbers)
            self._lanes[ident] = lane
            thread = threading._active.get(ident)  # type: ignore[attr-defined]
            if thread is not None:
                name = thread.name
            else:  # a thread still starting (threading's bootstrap), or not threading's
                name = f"thread {ident}"
                self._unnamed[ident] = lane
            self._names[lane] = name
            self._add(("thread", now, lane, ident, name, "seen"))
        return lane

    def _add(self, event: tuple[Any, ...]) -> None:
        self.ring.append(event)
        next(self._count)

    # -- the observer's hooks --------------------------------------------------------------
    def thread_started(self, thread: Any) -> None:
        """A new lane for the thread (its ident may be a dead thread's), or the lane its
        bootstrap was already seen in."""
        try:
            now = perf_counter_ns()
            ident = get_ident()
            lane = self._unnamed.pop(ident, None)
            if lane is None:
                lane = next(self._lane_numbers)
            self._lanes[ident] = lane
            name = str(thread.name)
            self._names[lane] = name
            self._add(("thread", now, lane, ident, name, "start"))
        except Exception as exc:
            self._failed(exc)

    def thread_exited(self, thread: Any) -> None:
        """Close the thread's lane; its joiners will name it as their releaser."""
        try:
            now = perf_counter_ns()
            ident = get_ident()
            lane = self._lane(ident, now)
            self._add(("exit", now, lane, ident, str(thread.name)))
            self._exits[thread] = (lane, now)
            self._unnamed.pop(ident, None)
            # The ident keeps its lane: threading's own cleanup still runs after this (and may
            # make a GIL offer); a new thread reusing the ident gets a new lane when it starts.
            self._names.pop(lane, None)
        except Exception as exc:
            self._failed(exc)

    def wait_begin(self, prim: Any, inner: Any) -> Any:
        """Start watching ``prim``'s releases; return the wait's token."""
        try:
            site = _wait_site(sys._getframe(1).f_back)  # first: it may run library code, once
            now = perf_counter_ns()
            ident = get_ident()
            lane = self._lanes.get(ident)
            if lane is None:
                lane = self._lane(ident, now)
            kind = getattr(prim, "_snarl_kind", None) or "lock"
            if kind in LOCK_KINDS:
                self._watch_lock(prim)
                if kind == "rlock":
                    after = self._after_wait.get(lane)
                    if after is not None and after._lock is prim:
                        self._watch_condition(after)  # reacquiring after a wait on it
            locked = getattr(type(inner), "locked", None)  # no locked(): an RLock before 3.14
            busy = True if locked is None else bool(inner.locked())
            token = [lane, now, kind, prim, inner, site, busy]
            self._open[id(token)] = token
            return token
        except Exception as exc:
            self._failed(exc)
            return None

    def wait_end(self, token: Any, acquired: bool) -> None:
        """Record the wait (a wait on a free lock with a timeout never waited: left out)."""
        if token is None:
            return
        try:
            now = perf_counter_ns()
            self._open.pop(id(token), None)
            if not token[6] and acquired:
                return
            self._emit_wait(token, now, "done" if acquired else "timeout")
        except Exception as exc:
            self._failed(exc)

    def join_begin(self, thread: Any) -> Any:
        """A join: its token."""
        try:
            site = _wait_site(sys._getframe(1).f_back)
            now = perf_counter_ns()
            lane = self._lane(get_ident(), now)
            token = [lane, now, "join", thread, None, site, True]
            self._open[id(token)] = token
            return token
        except Exception as exc:
            self._failed(exc)
            return None

    def join_end(self, token: Any, thread: Any) -> None:
        """Record the join (left out if the thread had ended before it began)."""
        if token is None:
            return
        try:
            now = perf_counter_ns()
            self._open.pop(id(token), None)
            exit_ = self._exits.get(thread)
            if exit_ is not None and exit_[1] <= token[1]:
                return  # it had ended already: the join did not wait
            self._emit_wait(token, now, "timeout" if thread.is_alive() else "done")
        except Exception as exc:
            self._failed(exc)

    def _emit_wait(self, token: list[Any], now: int, outcome: str) -> None:
        lane, t0, kind, prim, inner, site, _busy = token
        by = None
        if kind in LOCK_KINDS:
            if outcome == "done":
                note = self._released.get(id(prim))
                since = self._since.get(id(prim))
                if note is not None and since is not None and note[1] >= since:
                    by = note
        elif kind == "join":
            if outcome == "done":
                by = self._exits.get(prim)
        else:  # woken by a notify; the Condition's lock is reacquired next
            cond = _condition_of(prim)
            note3 = self._woken.pop(id(inner), None)
            if outcome == "done" and note3 is not None and note3[0] == id(cond):
                by = (note3[1], note3[2])
            self._after_wait[lane] = cond
        self._add(("wait", t0, now, lane, kind, self._raw(prim, kind), site, outcome, by))

    def _raw(self, obj: Any, kind: str) -> tuple[Any, ...]:
        """What names a waited-on object, taken cheaply while recording (the name is inferred
        once, by :func:`finish`): (id, type name, name or None, creation site key or None).
        Only ints and strings: the ring's tuples are then no work for the garbage collector."""
        if kind == "join":
            name = obj.__dict__.get("_name") if hasattr(obj, "__dict__") else None
            return id(obj), "Thread", name if isinstance(name, str) else None, None
        if kind in LOCK_KINDS:
            known = self._locks.get(id(obj))  # taken when the lock began to be watched
            if known is not None:
                return known
        cls = type(obj)
        name = getattr(obj, "_name", None)
        site = getattr(obj, "_site_created", None)
        key = None
        if site is not None:
            key = site.key
            self.sites[key] = site  # one per line that creates primitives: bounded
        return (
            id(obj),
            getattr(cls, "_snarl_type", None) or cls.__name__,
            name if isinstance(name, str) else None,
            key,
        )

    # -- watching releases -----------------------------------------------------------------
    def _ref(self, obj: Any) -> weakref.ref[Any]:
        """A weak reference whose death drops every entry kept for ``obj``."""
        key = id(obj)

        def gone(_ref: Any, key: int = key, recorder: Recorder = self) -> None:
            recorder._watched.pop(key, None)
            recorder._conditions.pop(key, None)
            recorder._since.pop(key, None)
            recorder._released.pop(key, None)
            recorder._locks.pop(key, None)

        return weakref.ref(obj, gone)

    def _watch_lock(self, lock: Any) -> None:
        cls = type(lock)
        if cls in _WRAPPED:
            if type(lock._inner) is not LockType:
                return  # watched already, or another runtime's inner lock
            lock._inner = _NotingLock(lock._inner, lock)
            self._watched[id(lock)] = (self._ref(lock), None)
        else:
            watching = _WATCHING.get(cls)
            if watching is None:
                return  # watched already, or not a snarl lock
            lock.__class__ = watching
            self._watched[id(lock)] = (self._ref(lock), cls)
        self._since[id(lock)] = perf_counter_ns()
        self._locks[id(lock)] = self._raw(lock, "")  # a lock's name= slot is dear to probe

    def _watch_condition(self, cond: Any) -> None:
        """A Condition over an RLock (watched already) whose waiter now waits to reacquire
        it: make the Condition release its RLock through the watched class (its bound
        methods, and its C-lock fast path, which a ``with`` block reads at its exit, would
        not).  Done then, not at every Condition wait: a Future makes a Condition each."""
        if not isinstance(cond, Condition) or id(cond) in self._conditions:
            return
        lock = cond._lock
        if type(lock) not in _WATCHING and type(lock) not in _WATCHED_TYPES:
            return  # a Lock's releases are all seen through its inner lock
        self._watch_lock(lock)
        ns = cond.__dict__
        saved: dict[str, Any] = {}
        for name in _CONDITION_METHODS:  # bound before the watch: bind them anew
            bound = ns.get(name)
            if getattr(bound, "__self__", None) is lock:
                saved[name] = bound
                ns[name] = getattr(lock, name)
        if ns.get("_fast") is not None:
            saved["_fast"] = ns["_fast"]
            ns["_fast"] = None
        self._conditions[id(cond)] = (self._ref(cond), saved)

    def _wrap_notify(self) -> None:
        """Wrap ``Condition.notify`` (class-wide, while recording): each call notes which
        waiters it wakes, and who woke them, before waking them."""
        notify = self._notify = Condition.notify
        woken = self._woken
        recorder = self

        def recorded_notify(cond: Condition, n: int = 1) -> None:
            waiters = cond._waiters
            if waiters and recorder.active:
                try:
                    now = perf_counter_ns()
                    note = (id(cond), recorder._lane(get_ident(), now), now)
                    for waiter in itertools.islice(waiters, n):
                        woken[id(waiter)] = note
                except Exception as exc:
                    recorder._failed(exc)
            notify(cond, n)

        recorded_notify.__doc__ = notify.__doc__
        recorded_notify.__qualname__ = notify.__qualname__
        Condition.notify = recorded_notify  # type: ignore[method-assign]

    def note_release(self, lock: Any) -> None:
        """``lock`` (watched) is being released by the current thread."""
        try:
            now = perf_counter_ns()
            self._released[id(lock)] = (self._lane(get_ident(), now), now)
        except Exception as exc:
            self._failed(exc)

    # -- GIL offers (see timeline/gil.py) ------------------------------------------------
    def gil_taken(self, offerer: int) -> None:
        """The current thread takes the GIL ``offerer`` offered."""
        try:
            now = perf_counter_ns()
            self._acks[offerer] = (self._lane(get_ident(), now), now)
        except Exception as exc:
            self._failed(exc)

    def gil_given(self, giver: int, taker: int) -> None:
        """The token of a free-threaded build's check interval went from ``giver`` to
        ``taker`` (called in the giver's thread, as it hands it over)."""
        try:
            now = perf_counter_ns()
            self._acks[giver] = (self._lane(taker, now), now)
        except Exception as exc:
            self._failed(exc)

    def gil_offered(self, t0: int, t1: int) -> None:
        """The current thread offered the GIL at ``t0`` and had it back at ``t1``."""
        try:
            me = get_ident()
            lane = self._lane(me, t0)
            by = self._acks.pop(me, None)
            if by is not None and not t0 <= by[1] <= t1:
                by = None
            self._add(("gil", t0, t1, lane, by))
        except Exception as exc:
            self._failed(exc)


def _condition_of(prim: Any) -> Any:
    return prim if isinstance(prim, Condition) else getattr(prim, "_cond", None)


def finish(event: tuple[Any, ...], sites: dict[int, Any]) -> tuple[Any, ...]:
    """The event as documented: a wait's object becomes (id, type name, name), its name
    inferred from its creation site (``sites``: key -> Site) if it was given none."""
    if event[0] != "wait" or len(event[5]) != 4:
        return event
    key, type_name, name, site_key = event[5]
    if name is None and site_key is not None:
        site = sites.get(site_key)
        name = infer_name(site) if site is not None else None
    return (*event[:5], (key, type_name, name), *event[6:])


def _is_library(filename: str) -> bool:
    found = _library.get(filename)
    if found is None:
        found = _library[filename] = is_library_file(filename)
    return found


def _wait_site(frame: FrameType | None) -> tuple[str, int, str] | None:
    """Where the program waits: the innermost frame of its own code, else of any code that is
    not snarl's (a thread waiting in ``Queue.get`` shows the line that called ``get``)."""
    fallback = None
    depth = 0
    while frame is not None and depth < 32:
        name = frame.f_code.co_filename
        if name.startswith(_EXAMPLES):  # snarl's bundled examples are a program's own code
            return (name, frame.f_lineno, frame.f_code.co_name)
        if not name.startswith(_SNARL):
            here = (name, frame.f_lineno, frame.f_code.co_name)
            if not _is_library(name):
                return here
            if fallback is None:
                fallback = here
        frame = frame.f_back
        depth += 1
    return fallback
