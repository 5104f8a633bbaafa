"""One controlled execution of a test function: set up, run, wait, tear down.

:func:`execute` runs ``test_fn`` once under a fresh :class:`ControlledRuntime` driven by the
given scheduler, and returns the runtime (its ``outcome``, ``choices`` and, when asked,
``steps``).  Everything it changes is restored before it returns: the current runtime,
``threading.excepthook``, the patched clock functions (``time.sleep``, ``time.monotonic``,
``time.perf_counter``, ``time.time`` and ``queue``'s bound ``time``) and the preemption hooks.

While it runs, the exploration's runtime (:data:`~snarl.runtime.exploration.EXPLORATION`)
forwards to it, so every primitive bound there, whenever it was made, is controlled by it;
the cyclic garbage collector is off (it would run ``__del__``s and weakref callbacks at switch
points nobody chose), and thread numbering restarts (:mod:`snarl.exploration.fresh`).  A
thread that stops reaching switch points is diagnosed (:mod:`snarl.exploration.stuck`).

:func:`controlling` puts primitives under the exploration's control: installed, new ones
bound to :data:`~snarl.runtime.exploration.EXPLORATION`, those made before taken over
(:mod:`snarl.exploration.takeover`).  :class:`Exploring` sets up, once for all the executions
of one exploration, what they share: that control, the calling thread pinned to one CPU
(:func:`~snarl.exploration.pinning.pinned`), and the preemption hooks of its granularity.
Starting hooks anew for every execution cost more than the executions themselves (on 3.12
every code object is instrumented again, and every library location disabled again): 0.45 ms
an execution at line granularity and 0.8 ms at bytecode, against 0.07 ms for a test that
starts no thread at all.

The test function runs in managed thread 0, named after it: within an :class:`Exploring`
one thread (its runner) for every execution, else a new ``threading.Thread``; the threads it
starts are new in every execution and managed from their first instruction.  snarl's
primitives must be installed (:func:`snarl.install`) for the threads and primitives it creates
to be controlled: :func:`execute` expects the caller to have done it (an :class:`Exploring`
does, once for all executions).  Where the program keeps a ``threading.local``, thread 0 is a
new thread every execution (see :class:`_Runner`).
"""

from __future__ import annotations

import contextvars
import gc
import importlib.util
import logging
import os
import queue
import sys
import threading
import time
from _thread import allocate_lock
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from typing import Any

from ..interval.emulation import is_library_file
from ..runtime.base import Abandon, current_runtime, set_runtime
from ..runtime.controlled import ControlledRuntime, Outcome
from ..runtime.exploration import EXPLORATION, IDLE
from ..runtime.scheduler import Scheduler
from ..runtime.workers import Workers, forget_thread_locals
from ..runtime.workers import available as workers_available
from ..sync.patch import install, installed
from ..sync.thread import thread_originals
from .fresh import ThreadNumbers
from .granularity import PreemptionHooks
from .pinning import pinned
from .stuck import Stuck, cpu_seconds, diagnose, interrupt, with_busy
from .takeover import Takeover

__all__ = ["STUCK_AFTER", "Exploring", "controlling", "execute", "is_user_file"]

STUCK_AFTER = 10.0
"""Seconds of real time without a switch point after which an execution is declared stuck
(a thread blocked outside snarl's control: a native lock, I/O, a C call)."""

_SNARL_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "")
_SNARL_EXAMPLES = os.path.join(_SNARL_DIR, "examples", "")
_real = {
    "sleep": time.sleep,
    "monotonic": time.monotonic,
    "perf_counter": time.perf_counter,
    "time": time.time,
}


def is_user_file(filename: str) -> bool:
    """Whether ``filename`` is user code: not snarl's, not the stdlib's or site-packages',
    and not generated (``<string>``: dataclass and namedtuple methods, ``exec``); or in a
    package an exploration includes (:func:`package_folders`)."""
    if filename.startswith(_SNARL_DIR):
        return not is_snarl_file(filename)  # the bundled examples are programs
    if _included and filename.startswith(_included):
        return True
    return not is_library_file(filename)


_included: tuple[str, ...] = ()  # the folders and files of included packages


def package_folders(names: Sequence[str]) -> tuple[str, ...]:
    """The source folders (or files) of the importable packages or modules ``names``;
    ValueError naming the first that cannot be found (it is imported, as ``import`` would)."""
    found = []
    for name in names:
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError) as exc:
            raise ValueError(f"cannot include {name!r}: {exc}") from None
        if spec is None:
            raise ValueError(f"cannot include {name!r}: no such package or module")
        places = list(spec.submodule_search_locations or ())
        if not places and spec.origin:
            places = [spec.origin]
        for place in places:  # (as named, and resolved: code objects may carry either)
            for path in dict.fromkeys((place, os.path.realpath(place))):
                found.append(os.path.join(path, "") if os.path.isdir(path) else path)
    return tuple(found)


def is_snarl_file(filename: str) -> bool:
    """Whether ``filename`` is snarl's own code (not its bundled examples)."""
    return filename.startswith(_SNARL_DIR) and not filename.startswith(_SNARL_EXAMPLES)


def _not_user(filename: str) -> bool:
    return not is_user_file(filename)


class _Clock:
    """The clock functions managed threads see while an execution runs (others: real)."""

    def __init__(self, rt: ControlledRuntime) -> None:
        self.rt = rt
        self.wall0 = _real["time"]()

    def sleep(self, seconds: float) -> None:
        self.rt.sleep(seconds)

    def monotonic(self) -> float:
        rt = self.rt
        return rt.now if rt.me() is not None else _real["monotonic"]()

    def perf_counter(self) -> float:
        rt = self.rt
        return rt.now if rt.me() is not None else _real["perf_counter"]()

    def time(self) -> float:
        rt = self.rt
        if rt.me() is None:
            return _real["time"]()
        return self.wall0 + (rt.now - 1_000_000.0)

    def install(self) -> None:
        time.sleep = self.sleep
        time.monotonic = self.monotonic
        time.perf_counter = self.perf_counter
        time.time = self.time
        queue.time = self.monotonic  # type: ignore[attr-defined]  (bound at import: monotonic)

    @staticmethod
    def uninstall() -> None:
        for name, fn in _real.items():
            setattr(time, name, fn)
        queue.time = _real["monotonic"]  # type: ignore[attr-defined]


def _nothing(what: str) -> None:
    """The shared hooks' target between executions."""


_shared: dict[str, PreemptionHooks] = {}  # granularity -> the hooks an Exploring started


class _Runner:
    """Thread 0 of the executions of one :class:`Exploring`: one OS thread that calls the
    test function once per execution, instead of a new thread each time (creating, starting
    and reaping one cost about a tenth of a short execution).

    The threads a test starts are new in every execution; the test function's own thread is
    the same one.  What it kept in a ``threading.local`` would then carry over into the next
    execution.  On 3.10-3.12 the runner clears them after every execution (as a new thread
    would have none: see :mod:`snarl.runtime.workers`).  On 3.13 they are out of reach, so where
    the takeover's scan found a ``threading.local`` kept by the program (in a module, class,
    object or closure it scans) when the exploration began, every execution gets a new thread 0
    instead.  (There, one made lazily by an execution and kept in a global is not seen: the
    limit of this rule.)  Context variables start empty in every execution.
    """

    def __init__(self) -> None:
        self.job = allocate_lock()
        self.job.acquire()  # released to hand the runner an execution (or None: stop)
        self.idle = allocate_lock()  # held while an execution's body runs or unwinds
        self.task: tuple[ControlledRuntime, Callable[[], None]] | None = None
        self.thread = threading.Thread(target=self._loop, name="snarl runner", daemon=True)
        self.thread.start()
        self.pid = os.getpid()  # a forked child has no such thread: it starts its own thread 0

    def _loop(self) -> None:
        while True:
            self.job.acquire()
            task, self.task = self.task, None
            if task is None:
                return
            rt, body = task
            # 3.10, 3.11: a trace function that raised (Abandon, at a preemption point of the
            # last execution) was removed from this thread; the hooks' one comes back.
            hook = threading.gettrace()
            if hook is not None and sys.gettrace() is not hook:
                sys.settrace(hook)
            try:
                # As a new thread would: an empty context, and (3.10-3.12) no thread-locals
                # left from the last execution (see runtime.workers).
                contextvars.Context().run(rt.run_as, self.thread, body)
            finally:
                forget_thread_locals()
                self.idle.release()

    def run(self, rt: ControlledRuntime, body: Callable[[], None]) -> None:
        """Start ``body`` as ``rt``'s thread 0 (adopted by the caller) and return."""
        self.idle.acquire()
        self.task = (rt, body)
        self.job.release()

    def wait_idle(self, timeout: float) -> bool:
        """Wait until the body has returned or unwound; False if it did not in time."""
        if not self.idle.acquire(True, timeout):
            return False
        self.idle.release()
        return True

    def stop(self) -> None:
        """End the runner's thread: an idle one at once (it is joined: nothing of the
        exploration is left running); a stuck one stays, as a daemon."""
        self.task = None
        idle = self.idle.acquire(False)
        self.job.release()
        if idle:
            self.idle.release()
            join = thread_originals().get("join", threading.Thread.join)
            join(self.thread, 5.0)


def _restore_included(previous: tuple[str, ...]) -> None:
    global _included
    _included = previous


_runners: list[_Runner] = []  # the runner of the outermost Exploring, while one is active
_workers: list[Workers] = []  # the kept OS threads of the outermost Exploring (3.10-3.12)


@contextmanager
def controlling() -> Iterator[Takeover]:
    """snarl's primitives installed; those made from now on (by a test file as it loads,
    lazily in an execution) bound to the exploration's runtime, which any execution
    controls; and those made before brought under it (:class:`Takeover`).  Undone at exit."""
    with ExitStack() as undo:
        if not installed():
            undo.enter_context(install())
        previous = set_runtime(EXPLORATION)
        if previous is not None:
            undo.callback(set_runtime, previous)
        numbers = ThreadNumbers()  # every execution numbers its threads from here
        undo.callback(numbers.restore)
        _numbers.append(numbers)
        undo.callback(_numbers.pop)
        pool_log = logging.getLogger("concurrent.futures")
        pool_log.addFilter(_not_abandoned)
        undo.callback(pool_log.removeFilter, _not_abandoned)
        takeover = undo.enter_context(Takeover(is_user_file))
        _takeovers.append(takeover)
        undo.callback(_takeovers.pop)
        yield takeover


def _not_abandoned(record: logging.LogRecord) -> bool:
    """A pool worker logs whatever ends it ("Exception in worker"): not snarl's unwinding
    of it at the end of an execution."""
    exc = record.exc_info[0] if record.exc_info else None
    return not (isinstance(exc, type) and issubclass(exc, Abandon))


_numbers: list[ThreadNumbers] = []  # the thread numbering of each controlling(), innermost last
_takeovers: list[Takeover] = []  # ... and its takeover


class Exploring:
    """What the executions of one exploration share, for the duration (see the module
    docstring); left as found, also when setting up fails half-way.  Nested ones add only
    what is missing."""

    def __init__(
        self, granularity: str = "sync", *, cpu: int | None = None, include: Sequence[str] = ()
    ) -> None:
        self.granularity = granularity
        self.include = tuple(include)  # packages whose code is treated as the user's
        self.cpu = cpu  # see pinning.pinned(prefer=)
        self.hooks: PreemptionHooks | None = None
        self.takeover: Takeover | None = None
        self._undo = ExitStack()

    def __enter__(self) -> Exploring:
        with ExitStack() as undo:  # undone at once if a step below raises
            if self.include:
                global _included
                previous_included = _included
                _included = previous_included + package_folders(self.include)
                undo.callback(_restore_included, previous_included)
            self.takeover = undo.enter_context(controlling())
            undo.enter_context(pinned(self.cpu))
            g = "shared" if self.granularity == "auto" else self.granularity  # (see portfolio)
            if g not in ("sync", "interval") and g not in _shared:
                hooks = PreemptionHooks(g, _nothing, _not_user)
                hooks.start()
                undo.callback(hooks.stop)
                _shared[g] = self.hooks = hooks
                undo.callback(_shared.pop, g)
            if not _runners:  # after the hooks: a settrace hook (3.10, 3.11) reaches its thread
                _runners.append(_Runner())
                undo.callback(lambda: _runners.pop().stop())  # (_reap may have replaced it)
            if not _workers and workers_available():
                _workers.append(Workers())
                undo.callback(lambda: _workers.pop().close())
            self._undo = undo.pop_all()
        return self

    def __exit__(self, *exc: object) -> None:
        self._undo.close()

    def uncontrolled(self) -> list[str]:
        """What stayed outside control (see :class:`Takeover`), each once."""
        seen = [line for t in _takeovers for line in t.uncontrolled]
        if self.takeover is not None:
            seen.extend(self.takeover.uncontrolled)
        return list(dict.fromkeys(seen))


def execute(
    test_fn: Callable[[], Any],
    scheduler: Scheduler,
    *,
    granularity: str = "sync",
    max_steps: int = 100_000,
    record_steps: bool = False,
    stuck_after: float = STUCK_AFTER,
    interval: int | None = None,
    races: Any = None,
) -> ControlledRuntime:
    """Run ``test_fn`` once under ``scheduler``; see the module docstring.

    ``interval`` (granularity ``"interval"``): switch only every ``interval`` instructions
    (the deterministic check interval) and where a thread blocks or ends.  ``races`` (a
    :class:`snarl.exploration.races.RaceSession`): the execution runs under a new race
    detector of its own, and its first data race ends it (outcome ``"race"``).
    """
    by_interval = granularity == "interval"
    rt = ControlledRuntime(
        scheduler,
        skip=_not_user,
        max_steps=max_steps,
        record_steps=record_steps,
        switch_on_sync=not by_interval,
    )
    name = getattr(test_fn, "__name__", "test")

    def body() -> None:
        # Thread 0 stands for the program's main thread: the threads it starts are not
        # daemons unless asked (its own OS thread is one, so a stuck one never blocks exit).
        threading.current_thread()._daemonic = False  # type: ignore[attr-defined]
        try:
            test_fn()
        except Abandon:
            raise
        except BaseException as exc:  # the test's own failure: the execution's outcome
            rt.fail(0, exc)

    # Thread 0: the Exploring's runner, where its hooks reach it (not the check interval's
    # emulation, which starts per execution), else a new thread.
    runner = None
    # (3.13: not where thread-locals exist, what the runner kept in them would carry over;
    # 3.10-3.12 clear them after every execution)
    locals_seen = not workers_available() and bool(_takeovers) and _takeovers[-1].locals
    if (
        _runners
        and _runners[0].pid == os.getpid()
        and not by_interval
        and not locals_seen
        and (granularity == "sync" or granularity in _shared)
    ):
        runner = _runners[0]
        main = runner.thread
        main.name = name
    else:
        main = threading.Thread(target=body, name=name, daemon=True)  # bound to the old runtime
    if _workers:
        rt.workers = _workers[0]
    rt.adopt(main).baton.release()  # thread 0 runs first
    previous_hook = threading.excepthook

    own_hook = _is_own_hook(previous_hook)

    def excepthook(args: Any) -> None:
        m = rt.by_thread.get(id(args.thread))
        if m is None or own_hook:  # (the program's own hook deals with it, as in a plain run)
            previous_hook(args)
        else:
            rt.fail(m.tid, args.exc_value)

    hooks = shared = None
    emulation = None
    if by_interval:
        from ..interval.emulation import Emulation

        # User code only: a switch inside the stdlib could park a thread holding one of
        # threading's own native locks, which another thread would then wait for for real.
        emulation = Emulation(interval or 100, on_interval=rt.yield_point, skip=_not_user)
    elif granularity != "sync":
        hooks = _shared.get(granularity)
        if hooks is None:  # no Exploring around: hooks for this execution only
            hooks = PreemptionHooks(granularity, rt.yield_point, _not_user)
        else:
            shared, hooks = hooks, None
            shared.target = rt.yield_point
    # A sync execution of an "auto" exploration has the shared hooks to escape a spin
    escape = _shared.get("shared") if granularity == "sync" else None
    clock = _Clock(rt)
    detector = races.detector(rt) if races is not None else None
    if _numbers:
        _numbers[-1].reset()
    # No cyclic garbage collection inside an execution: it runs weakref callbacks and
    # __del__s (a ThreadPoolExecutor's puts to its queue) at allocation counts, in whichever
    # thread allocates, a switch point nobody scheduled.  Between executions it runs in the
    # explorer's own thread, as usual.
    collecting = gc.isenabled()
    gc.disable()
    EXPLORATION.activate(rt)  # primitives bound to the exploration (any made before) obey rt
    previous = set_runtime(EXPLORATION)
    threading.excepthook = excepthook
    clock.install()
    try:
        if hooks is not None:
            hooks.start()
        if emulation is not None:
            emulation.start()
        if detector is not None:
            detector.start()
        if runner is not None:
            runner.run(rt, body)
        else:
            main.start()
        _wait(rt, stuck_after, escape)
    finally:
        if emulation is not None:
            emulation.stop()
        if hooks is not None:
            hooks.stop()
        if shared is not None:
            shared.target = _nothing
        clock.uninstall()
        _reap(rt, runner)  # (unwinding threads still see rt: it abandons them)
        if detector is not None:
            detector.stop()
        if escape is not None:
            escape.target = _nothing  # (only now: a spinning thread 0 unwinds through it)
        EXPLORATION.activate(IDLE)
        if collecting:
            gc.enable()
        if previous is not None and current_runtime() is EXPLORATION:
            set_runtime(previous)
        threading.excepthook = previous_hook
    return rt


def _is_own_hook(hook: Any) -> bool:
    """Whether ``hook`` is the program's own ``threading.excepthook`` (not the default, and
    not a test runner's, which only collects what would be printed)."""
    if hook is threading.__excepthook__:  # type: ignore[attr-defined]
        return False
    hook = getattr(hook, "func", hook)  # (a functools.partial: pytest's is one)
    module = getattr(hook, "__module__", None) or ""
    return not module.startswith(("_pytest", "pytest", "snarl", "threading"))


SPIN_AFTER = 1.0
"""Seconds without a switch point after which a thread whose CPU clock moved all along is a
spin (see :func:`_wait`)."""

BLOCKED_AFTER = 2.0
"""Seconds without a switch point after which a thread whose CPU clock stood still is
blocked outside snarl's control."""


def _wait(rt: ControlledRuntime, stuck_after: float, escape: PreemptionHooks | None) -> None:
    """Wait for the execution to end.  When no switch point comes, diagnose the thread that
    runs (:mod:`snarl.exploration.stuck`): blocked (its CPU clock stands still) for
    :data:`BLOCKED_AFTER` s, or anything for ``stuck_after`` s, ends the execution as
    ``"stuck"``; spinning for :data:`SPIN_AFTER` s where ``escape`` (the shared hooks of an
    "auto" exploration) exists ends it as ``"spin"``, and the hooks then lead the spinning
    thread to a switch point, where it unwinds."""
    seen, since = len(rt.choices), _real["monotonic"]()
    suspect: Stuck | None = None
    cpu0 = at0 = 0.0
    while not rt.done.acquire(True, 0.25):
        now = _real["monotonic"]()
        if len(rt.choices) != seen:  # progress: a switch point was reached
            seen, since, suspect = len(rt.choices), now, None
            continue
        idle = now - since
        if idle < 0.5:
            continue
        if suspect is None:
            suspect = diagnose(rt, _not_user)
            if suspect is None:  # every thread parked, yet no switch point: unexplained
                if idle >= stuck_after:
                    rt.end(Outcome("stuck"))
                    return
                continue
            cpu = cpu_seconds(suspect.ident)
            cpu0, at0 = (cpu if cpu is not None else -1.0), now
            continue
        cpu = cpu_seconds(suspect.ident)
        # (a share, not all of it: the machine may be busy; a blocked thread uses none)
        busy = None if cpu is None or cpu0 < 0 else (cpu - cpu0) > 0.1 * (now - at0)
        if busy and escape is not None and idle >= SPIN_AFTER:
            rt.end(Outcome("spin", tid=suspect.tid, detail=(with_busy(suspect, busy), idle)))
            escape.target = rt.yield_point  # (the spinner's next shared access unwinds it)
            return
        if idle >= stuck_after or (busy is False and idle >= BLOCKED_AFTER):
            rt.end(Outcome("stuck", tid=suspect.tid, detail=(with_busy(suspect, busy), idle)))
            if busy and suspect.ident is not None:  # else it would spin for ever
                interrupt(suspect.ident, Abandon)
            return


def _reap(rt: ControlledRuntime, runner: _Runner | None, timeout: float = 5.0) -> None:
    """Join every OS thread of the execution (they are unwinding or done); wait for the
    runner's body to have unwound.  A thread that does not end (blocked outside snarl's
    control) is left, and must not hold the interpreter's exit: see :func:`_let_go`."""
    join = thread_originals().get("join", threading.Thread.join)
    if runner is not None:
        stuck = rt.outcome is not None and rt.outcome.kind == "stuck"
        timeout = 0.5 if stuck else timeout  # (its threads are known not to move)
        if stuck or not runner.wait_idle(timeout):  # blocked outside snarl's control:
            _runners[0] = _Runner()  # the next execution gets a new thread 0
            runner.stop()
    for m in rt.threads:
        t = m.thread
        if runner is not None and t is runner.thread:
            continue
        try:
            if t.is_alive():
                join(t, timeout)
                if t.is_alive():
                    _let_go(t)
        except RuntimeError:  # never started
            pass


def _let_go(thread: threading.Thread) -> None:
    """``thread`` will not end: the interpreter must not wait for it at exit (3.10-3.12 wait
    for the ``_tstate_lock`` of every non-daemon thread; 3.13's managed threads are started
    as daemons at the C level, whatever their ``daemon`` says)."""
    lock = getattr(thread, "_tstate_lock", None)
    locks = getattr(threading, "_shutdown_locks", None)
    if lock is not None and locks is not None:
        with threading._shutdown_locks_lock:  # type: ignore[attr-defined]
            locks.discard(lock)
