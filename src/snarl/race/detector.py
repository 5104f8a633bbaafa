"""The detector of one run: happens-before sources wired in, reports collected.

:class:`Detector` ``start()`` makes its clocks and shadow the active ones and connects the
happens-before sources; ``stop()`` disconnects them.  The sources:

* **snarl's primitives** (installed with :func:`snarl.install`): an :class:`Instrument` hears
  every acquire and release of every Lock and RLock made while the detector runs, which covers
  Condition (notify → wakeup is the waiter's reacquiring), Semaphore, Event, Barrier, every
  ``queue.Queue`` class (their mutex), ``Future`` (its Condition: ``set_result`` →
  ``result()``, ``as_completed``, ``wait``), and user code's own locks;
* **threads**: ``threading.Thread.start`` (parent → child; ``Timer`` included),
  ``_bootstrap_inner`` (the child's clock and, at its end, its final clock) and ``join``
  (child → joiner), patched on the class for the run;
* **``queue.SimpleQueue``** (written in C, so no lock of snarl's): replaced for the run by a
  subclass whose ``put`` publishes and ``get`` receives; ``ThreadPoolExecutor`` hands work to
  its threads through one, so ``submit`` → task start is covered too.
"""

from __future__ import annotations

import _queue
import _thread
import contextlib
import fnmatch
import gc
import logging
import os
import queue
import sys
import threading
import weakref
from _thread import get_ident
from typing import Any

from ..runtime.observer import OBSERVER
from ..sync import lock as sync_lock
from ..sync import rlock as sync_rlock
from . import hooks, shadow, sources
from .clock import Clocks, History, HistoryState, ThreadState
from .lockedges import LockEdges
from .report import Access, Frame, Race, Summary
from .sites import SITES

__all__ = ["Detector"]

_NATIVE_SIMPLEQUEUE = _queue.SimpleQueue


class Detector:
    """Clocks, shadow memory and reports of one detection run."""

    hook_existing_locks = True
    """Whether :meth:`start` makes snarl's locks made before it report (a scan of the objects
    the garbage collector tracks); a subclass whose locks report some other way turns it off."""

    def __init__(self, *, suppress: list[str] | None = None, history: bool = False) -> None:
        self.clocks = Clocks()
        if history:
            det = self

            class _State(HistoryState):
                __slots__ = ()
                user_stack = staticmethod(lambda: det.user_stack(sys._getframe(2)))

            self.clocks.state_class = _State
        self.shadow = shadow.Shadow(self.clocks, self._report)
        self.shadow.adopt = self._adopt
        self.races: dict[Any, Race] = {}
        self.suppressed = 0
        self.patterns = list(suppress or ())
        self.files: set[str] = set()  # files instrumented (their frames are the user's)
        self.modules: list[str] = []
        self.imported_before: list[str] = []
        self.not_instrumented: list[str] = []  # user modules the rewrite failed on
        self._saved: dict[str, Any] = {}
        self._instrument = LockEdges(self)
        self._names: weakref.WeakKeyDictionary[Any, str] = weakref.WeakKeyDictionary()
        self.running = False
        self.hooked_before = 0  # snarl locks made before start() and hooked then
        self._turns = 0  # the observer's turns before start()
        self.context: str | None = None  # the test running now (pytest --snarl-races)

    # -- lifecycle ----------------------------------------------------------------------
    def start(self) -> None:
        """Activate: this thread becomes the first; happens-before sources are connected.

        One detector runs at a time (the checks use one shadow memory): RuntimeError if
        another is running."""
        if _running:
            raise RuntimeError("a race detection session is already running (one at a time)")
        _running.append(self)
        local = threading.local()
        self.clocks.local = local
        self._instrument.local = local
        shadow._local = local
        main = threading.current_thread()
        self.clocks.register(None, main.name, None, get_ident(), forked=False)
        hooks.activate(self.clocks, self.shadow, local)
        OBSERVER.add_instrument(self._instrument)
        self._turns, OBSERVER.turns = OBSERVER.turns, _TURNS
        if self.hook_existing_locks:
            self.hooked_before = _hook_existing_locks()
        self._patch()
        self.running = True

    def stop(self) -> None:
        """Disconnect; reports stay readable."""
        if not self.running:
            return
        self.running = False
        if self in _running:
            _running.remove(self)
        hooks.activate(None, None)
        OBSERVER.remove_instrument(self._instrument)
        OBSERVER.turns = self._turns
        self._instrument.unmark()
        self._unpatch()

    # -- threads ------------------------------------------------------------------------
    def me(self) -> ThreadState:
        try:
            return self.clocks.local.st  # type: ignore[no-any-return]
        except AttributeError:
            return self._adopt()

    def _adopt(self) -> ThreadState:
        thread = threading.current_thread()
        st = self.clocks.register(None, _name(thread), None, get_ident(), forked=False)
        st.origin = self.context
        return st

    def _patch(self) -> None:
        cls = threading.Thread
        det = self
        start, boot, join = cls.start, cls._bootstrap_inner, cls.join  # type: ignore[attr-defined]
        self._saved = {"start": start, "_bootstrap_inner": boot, "join": join}

        def race_start(thread: threading.Thread) -> None:
            if det.running:
                st = det.me()
                where = det.user_frame(sys._getframe(1))
                thread.__dict__["_snarl_race"] = (det, det.clocks.fork(st), where, det.context)
            start(thread)

        def race_boot(thread: threading.Thread) -> None:
            info = thread.__dict__.get("_snarl_race")
            st = None
            if info is not None and info[0] is det and det.running:
                st = det.clocks.register(info[1], _name(thread), info[2], get_ident(), forked=True)
                st.origin = info[3]  # the test that started it (pytest --snarl-races)
            try:
                boot(thread)
            finally:
                if st is not None:
                    thread.__dict__["_snarl_race_final"] = det.clocks.finish(st)

        def race_join(thread: threading.Thread, timeout: float | None = None) -> None:
            join(thread, timeout)
            final = thread.__dict__.get("_snarl_race_final")
            if final is not None and det.running:
                first = "_snarl_race_joined" not in thread.__dict__
                thread.__dict__["_snarl_race_joined"] = True
                det.clocks.join(det.me(), final, first)

        cls.start = race_start  # type: ignore[method-assign]
        cls._bootstrap_inner = race_boot  # type: ignore[attr-defined]
        cls.join = race_join  # type: ignore[method-assign]
        queue.SimpleQueue = _simple_queue(self)  # type: ignore[misc]
        self._unpatch_sources = sources.patch(self)

    def _unpatch(self) -> None:
        for name, fn in self._saved.items():
            setattr(threading.Thread, name, fn)
        self._saved = {}
        queue.SimpleQueue = _NATIVE_SIMPLEQUEUE  # type: ignore[misc]
        self._unpatch_sources()

    # -- locks --------------------------------------------------------------------------
    def lock_name(self, prim: Any) -> str:
        try:
            return self._names[prim]
        except (KeyError, TypeError):
            pass
        kind = type(prim).__name__.lstrip("_").replace("Hooked", "")
        name = getattr(prim, "name", None)
        site = getattr(prim, "_site_created", None)
        text = f"{kind} {name!r}" if isinstance(name, str) else kind
        if site is not None:
            text += f" ({_short(site.filename)}:{site.lineno})"
        with contextlib.suppress(TypeError):  # not weakly referenceable: not cached
            self._names[prim] = text
        return text

    # -- reports ------------------------------------------------------------------------
    def user_frame(self, f: Any) -> Frame | None:
        while f is not None:
            if f.f_code.co_filename in self.files:
                return Frame(_short(f.f_code.co_filename), f.f_lineno, f.f_code.co_name)
            f = f.f_back
        return None

    def user_stack(self, f: Any, limit: int = 20) -> tuple[Frame, ...]:
        out = []
        while f is not None and len(out) < limit:
            code = f.f_code
            if code.co_filename in self.files:
                out.append(Frame(_short(code.co_filename), f.f_lineno, code.co_name))
            f = f.f_back
        return tuple(out)

    def _report(self, *args: Any) -> None:
        """Record a race (never raises into the program: a failure is logged)."""
        try:
            self._record(*args)
        except Exception:
            logging.getLogger("snarl.race").exception("snarl race: could not record a race")

    def _record(
        self,
        o: Any,
        key: Any,
        prev_tid: int,
        prev_site: int,
        prev_ctx: Any,
        prev_write: bool,
        st: ThreadState,
        site: int,
        write: bool,
    ) -> None:
        here, there = SITES[site], SITES[prev_site]
        # one report per pair of lines: `x = x + 1` against itself is one race, not a
        # read-write and a write-write race
        pair = tuple(sorted(((here.filename, here.lineno), (there.filename, there.lineno))))
        race = self.races.get(pair)
        if race is not None:
            if race is _SUPPRESSED:
                return
            race.count += 1
            return
        if here.ignored or there.ignored or self._suppressed(here, there):
            self.suppressed += 1
            self.races[pair] = _SUPPRESSED
            return
        prev = self.clocks.threads[prev_tid]
        stack = self.user_stack(sys._getframe(2))
        self.races[pair] = Race(
            location=_location(o, key, here),
            kind=here.kind,
            access=Access(
                write, st.name, st.started_at, _site_frame(here), here.text, stack, tuple(st.held)
            ),
            previous=Access(
                prev_write,
                prev.name,
                prev.started_at,
                _site_frame(there),
                there.text,
                prev_ctx.stack if isinstance(prev_ctx, History) else (),
                tuple(prev_ctx.held if isinstance(prev_ctx, History) else prev_ctx),
            ),
            during=st.origin or prev.origin or self.context,
        )

    def _suppressed(self, *sites: Any) -> bool:
        for s in sites:
            for pattern in self.patterns:
                path, _, line = pattern.partition(":")
                file_matches = fnmatch.fnmatch(s.filename, path) or fnmatch.fnmatch(
                    os.path.basename(s.filename), path
                )
                if file_matches and line in ("", str(s.lineno), s.function):
                    return True
        return False

    def found(self) -> list[Race]:
        """The races found (suppressed ones left out), in the order found."""
        return [r for r in self.races.values() if r is not _SUPPRESSED]

    def summary(self) -> Summary:
        """What was found and checked, and what this run could not see."""
        threads = self.clocks.threads
        not_seen = [
            "C extensions' internal state, and code in modules not instrumented "
            "(the standard library, installed packages, unless --include)",
        ]
        if self.not_instrumented:
            shown = "; ".join(self.not_instrumented[:4])
            not_seen.append(f"modules the detector could not instrument (run as they are): {shown}")
        if self.imported_before:
            shown = ", ".join(sorted(self.imported_before)[:6])
            not_seen.append(f"modules imported before detection began: {shown}")
        native = _native_locks(self.modules)
        if native:
            shown = ", ".join(native[:6]) + (
                f" and {len(native) - 6} more" if len(native) > 6 else ""
            )
            not_seen.append(
                f"locks made before snarl was installed (native: the order they impose is not "
                f"seen, and may be reported as a race): {shown}"
            )
        return Summary(
            races=len(self.found()),
            suppressed=self.suppressed,
            accesses_checked=sum(t.checked for t in threads),
            threads=len(threads),
            instrumented=list(self.modules),
            not_seen=not_seen,
        )


_SUPPRESSED: Any = object()
# While detecting, a waiter for a contended Lock gives the holder this many turns before it
# sleeps (ObserverRuntime.block): the hooks make critical sections long enough that a lock
# convoy forms otherwise.  A detection run changes the program's timing anyway.
_TURNS = 3
_running: list[Detector] = []  # the detector running now (at most one)


_NATIVE_LOCKS = (type(_thread.allocate_lock()), _thread.RLock)


def _native_locks(modules: list[str]) -> list[str]:
    """``module.name`` of the native locks among the instrumented modules' globals."""
    found = []
    for name in modules:
        mod = sys.modules.get(name)
        for key, value in list(getattr(mod, "__dict__", {}).items()):
            if type(value) in _NATIVE_LOCKS:
                found.append(f"{name}.{key}")
    return found


_SNARL_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep


def _hook_existing_locks() -> int:
    """Make snarl's Locks and RLocks made before detection began (without hooks: nothing
    listened then) report from now on, so that the order they impose is seen.  A lock held
    now is left as it is (its release would be a release never acquired); the count of locks
    changed is returned.  Native locks (made before snarl was installed) cannot be changed."""
    upgrade = {sync_lock.Lock: sync_lock._HookedLock, sync_rlock.RLock: sync_rlock._HookedRLock}
    n = 0
    for o in gc.get_objects():
        cls = upgrade.get(type(o))
        if cls is None or o._rt is not OBSERVER:
            continue
        site = getattr(o, "_site_created", None)
        if site is None or site.filename.startswith(_SNARL_DIR):
            continue  # snarl's own machinery never reports
        held = o._inner.locked() if cls is sync_lock._HookedLock else o._state()[1] > 0
        if not held:
            o.__class__ = cls
            n += 1
    return n


def _simple_queue(det: Detector) -> type:
    class SimpleQueue(_NATIVE_SIMPLEQUEUE):  # type: ignore[misc,valid-type]
        """``queue.SimpleQueue`` whose put → get is a happens-before edge (snarl race)."""

        def put(self, item: Any, block: bool = True, timeout: float | None = None) -> None:
            if det.running:
                det.clocks.release(det.me(), self)
            super().put(item, block, timeout)

        def put_nowait(self, item: Any) -> None:
            self.put(item, False)

        def get(self, block: bool = True, timeout: float | None = None) -> Any:
            item = super().get(block, timeout)
            if det.running:
                det.clocks.acquire(det.me(), self)
            return item

        def get_nowait(self) -> Any:
            return self.get(False)

    SimpleQueue.__module__ = "queue"
    return SimpleQueue


def _name(thread: Any) -> str:
    name = thread.__dict__.get("_name")
    return name if isinstance(name, str) else "?"


def _short(path: str) -> str:
    try:
        rel = os.path.relpath(path)
    except ValueError:
        return path
    return path if rel.startswith("..") else rel


def _site_frame(site: Any) -> Frame:
    return Frame(_short(site.filename), site.lineno, site.function)


def _type_name(t: type) -> str:
    name = vars(type)["__qualname__"].__get__(t, type)
    return name if isinstance(name, str) else "?"


def _location(o: Any, key: Any, site: Any) -> str:
    """What the two accesses share, named by kind and object type (no user code runs: only
    names, type names and str/int keys are shown)."""
    kind = site.kind
    if kind == "global" or (kind == "attribute" and type(o) is type(sys)):
        mod = vars(o).get("__name__") if type(o) is type(sys) else None
        return f"global {key}" + (f" of module {mod}" if isinstance(mod, str) else "")
    if kind == "cell":
        return f"closure cell {key} (nonlocal)"
    if kind == "attribute":
        if issubclass(type(o), type):
            return f"class attribute {key} of {_type_name(o)}"
        return f"attribute {key} of {_a(_type_name(type(o)))}"
    if kind == "generator":
        return "execution of a generator"
    if kind == "structure" or key is shadow.STRUCT:
        return f"structure of {_a(_type_name(type(o)))} (its size and membership)"
    shown = f"[{key!r}]" if type(key) in (str, int) else ""
    return f"item{shown} of {_a(_type_name(type(o)))}"


def _a(noun: str) -> str:
    return f"an {noun}" if noun[:1].lower() in "aeiou" else f"a {noun}"
