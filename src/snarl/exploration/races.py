"""``snarl explore --races``: every execution also runs the race detector, and a data race is a
failure of kind ``race``.

* **Instrumented once.**  A :class:`RaceSession` (one per process: :func:`session`) rewrites
  user code as :mod:`snarl.race.session` does: the test file as the explorer loads it
  (:meth:`RaceSession.run_path`), the user modules it imports then and later (the rewriting
  import hook stays on ``sys.meta_path``), or, for ``explore(fn, races=True)`` on a function
  already imported, its module retrofitted in place for the exploration
  (:meth:`RaceSession.instrumenting`).  Rewritten code calls no-op checks while no detector
  runs.
* **A new detector per execution** (:class:`ExecutionDetector`): new clocks and shadow memory,
  so no execution sees another's accesses.  The shrinker's and the final replay's executions
  get one too: "a race happens" is the failure they keep.
* **Happens-before from the controlled runtime.**  Under the explorer, primitives use the
  controlled runtime's inner locks, which no instrument hears; the runtime tells the
  detector's :class:`Edges` instead (``ControlledRuntime.races``) of every inner lock a managed
  thread takes or frees, and of thread start (parent → child), begin, exit and join (child →
  joiner).  The locks inside queues, Events, Semaphores, Barriers and Futures give no edge by
  themselves; their meaning does, as in a plain run (:mod:`snarl.race.sources`).  Detector
  states belong to *managed* threads: a kept OS thread that runs several of them gives each a
  state of its own.
* **A race ends the execution** at the racing access (:class:`Outcome` ``"race"``, its report
  in ``detail``): the racing thread unwinds from there, the others from where they are parked,
  and the interleaving table ends at the race.  A race recorded while threads unwind after the
  end is not one the schedule made, and is ignored.
"""

from __future__ import annotations

import builtins
import os
import sys
import threading
from _thread import allocate_lock
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import CodeType, FunctionType, ModuleType
from typing import Any

from ..race import importer, retrofit, rewrite, sources
from ..race.clock import ThreadState
from ..race.detector import Detector
from ..race.report import Race, Summary, format_race, to_json
from ..runtime.base import Abandon
from ..runtime.controlled import ControlledRuntime, Managed, Outcome, Step
from ..runtime.simlock import site_from

__all__ = [
    "Coverage",
    "Edges",
    "ExecutionDetector",
    "RaceSession",
    "race_json",
    "race_lines",
    "session",
]

_RUNTIME = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "runtime", "")
_SYNC = os.path.join(os.path.dirname(_RUNTIME.rstrip(os.sep)), "sync", "")


class _Record:
    """What the import hook and retrofitting record: which files and modules are instrumented
    (the attributes a detector has for them)."""

    def __init__(self) -> None:
        self.files: set[str] = set()
        self.modules: list[str] = []
        self.not_instrumented: list[str] = []
        self.imported_before: list[str] = []


@dataclass
class Coverage:
    """What the race checks of an exploration covered (for a "no failing schedule" verdict)."""

    executions: int = 0
    accesses_checked: int = 0
    instrumented: list[str] = field(default_factory=list)
    not_seen: list[str] = field(default_factory=list)

    def since(self, before: Coverage) -> Coverage:
        """What was checked after ``before`` was taken (one exploration's share)."""
        return Coverage(
            self.executions - before.executions,
            self.accesses_checked - before.accesses_checked,
            self.instrumented,
            self.not_seen,
        )

    def to_dict(self) -> dict[str, Any]:
        """The ``races`` part of ``--json``."""
        return {
            "checked": True,
            "executions": self.executions,
            "accesses_checked": self.accesses_checked,
            "instrumented": list(self.instrumented),
            "not_seen": list(self.not_seen),
        }

    def lines(self) -> list[str]:
        """The verdict's lines: races checked, where, and what could not be seen."""
        shown = ", ".join(self.instrumented[:8]) + (" ..." if len(self.instrumented) > 8 else "")
        out = [
            f"Data races were checked in every schedule ({self.accesses_checked} accesses"
            f" checked in {self.executions} execution{'s' if self.executions != 1 else ''}):"
            " none found.",
            f"  instrumented: {shown or 'nothing (no user module was run)'}",
        ]
        out.extend(f"  not seen: {item}" for item in self.not_seen)
        return out


class RaceSession:
    """The instrumentation the race checks of this process's explorations share.

    ``roots`` are the folders of user code (the test file's, the current directory);
    ``include`` adds packages, as ``snarl race --include`` does.
    """

    def __init__(self, roots: Sequence[str], include: Sequence[str] = ()) -> None:
        self.record = _Record()
        self.finder = importer.RaceFinder(self.record, roots, include)
        self.record.imported_before = importer.user_modules_loaded(self.finder)
        self.coverage = Coverage()
        self.loaded: set[int] = set()  # the globals of the files run_path instrumented

    def add_roots(self, roots: Sequence[str], include: Sequence[str] = ()) -> None:
        """Also treat ``roots`` (and the packages ``include``) as user code."""
        more = tuple(os.path.join(os.path.realpath(r), "") for r in roots)
        self.finder.roots = tuple(dict.fromkeys(self.finder.roots + more))
        self.finder.include = tuple(dict.fromkeys(self.finder.include + tuple(include)))

    def install(self) -> None:
        """Put the rewriting import hook first on ``sys.meta_path`` (if it is not there)."""
        if self.finder not in sys.meta_path:
            sys.meta_path.insert(0, self.finder)

    def uninstall(self) -> None:
        """Take the import hook off ``sys.meta_path``."""
        if self.finder in sys.meta_path:
            sys.meta_path.remove(self.finder)

    def run_path(self, path: str, run_name: str) -> dict[str, Any]:
        """``runpy.run_path(path, run_name=...)``, with the file's accesses instrumented."""
        path = os.path.abspath(path)
        with open(path, "rb") as f:
            source = f.read()
        try:
            code = rewrite.compile_source(source, path)
        except SyntaxError:
            raise
        except Exception as exc:  # never keep a test from running: run it as it is, say so
            self.record.not_instrumented.append(f"{run_name} ({type(exc).__name__}: {exc})")
            code = compile(source, path, "exec", dont_inherit=True)
        else:
            self.record.files.add(path)
            self.record.modules.append(os.path.basename(path))
        module = ModuleType(run_name)
        module.__file__ = path
        module.__builtins__ = builtins  # type: ignore[attr-defined]
        module.__package__ = ""
        rewrite.namespace(module.__dict__, module)
        self.loaded.add(id(module.__dict__))
        saved = sys.modules.get(run_name)
        sys.modules[run_name] = module  # (as runpy's temporary module: dataclasses look)
        try:
            exec(code, module.__dict__)
        finally:
            if saved is not None:
                sys.modules[run_name] = saved
            else:
                sys.modules.pop(run_name, None)
        return dict(module.__dict__)

    @contextmanager
    def instrumenting(self, fn: Callable[..., Any]) -> Iterator[None]:
        """The import hook installed, and ``fn``'s module (and ``fn`` itself, if it is a
        nested function) instrumented in place unless it already is; undone at exit."""
        undos: list[Callable[[], None]] = []
        was_installed = self.finder in sys.meta_path
        self.install()
        done = set(self.record.modules)  # (rewritten as imported, or retrofitted)
        self.record.imported_before = [
            m for m in importer.user_modules_loaded(self.finder) if m not in done
        ]
        try:
            undos.extend(self._retrofit(fn))
            yield
        finally:
            for undo in reversed(undos):
                undo()
            if not was_installed:
                self.uninstall()

    def _retrofit(self, fn: Callable[..., Any]) -> list[Callable[[], None]]:
        fn = getattr(fn, "func", fn)  # (a functools.partial: the function it calls)
        fn = getattr(fn, "__func__", fn)
        code = getattr(fn, "__code__", None)
        if not isinstance(fn, FunctionType) or not isinstance(code, CodeType):
            return []
        path = code.co_filename
        if id(fn.__globals__) in self.loaded or importer.is_library_file(path):
            return []  # (loaded instrumented by run_path; or not user code)
        undos: list[Callable[[], None]] = []
        module = sys.modules.get(fn.__module__ or "")
        if module is not None and getattr(module, "__file__", None) == path:
            try:
                undo, _skipped = retrofit.retrofit(module, self.record)
            except Exception as exc:  # no source, odd source: run it as it is, say so
                self.record.not_instrumented.append(f"{module.__name__} ({exc})")
                return []
            undos.append(undo)
            name = module.__name__
            if name in self.record.imported_before:
                self.record.imported_before.remove(name)
        if fn.__code__ is code:  # not swapped: a nested function, or a module not found
            new = _rewritten_code(path, code)
            if new is not None:
                fn.__code__ = new
                undos.append(lambda: setattr(fn, "__code__", code))
                if path not in self.record.files:
                    self.record.files.add(path)
                    self.record.modules.append(os.path.basename(path))
        return undos

    def detector(self, rt: ControlledRuntime) -> ExecutionDetector:
        """A new detector for one execution under ``rt``."""
        return ExecutionDetector(self, rt)

    def summary(self) -> Coverage:
        """What the executions so far checked (a copy)."""
        c = self.coverage
        seen = ExecutionDetector.not_seen_now(self.record)
        modules = list(dict.fromkeys(self.record.modules))  # (retrofitted once an exploration)
        return Coverage(c.executions, c.accesses_checked, modules, seen)


def _rewritten_code(path: str, code: CodeType) -> CodeType | None:
    """The instrumented twin of ``code`` (same name and first line, same free variables),
    compiled from its file, or None."""
    try:
        with open(path, "rb") as f:
            top = rewrite.compile_source(f.read(), path)
    except Exception:
        return None
    want = (getattr(code, "co_qualname", code.co_name), code.co_firstlineno)
    todo = [top]
    while todo:
        c = todo.pop()
        for const in c.co_consts:
            if isinstance(const, CodeType):
                key = (getattr(const, "co_qualname", const.co_name), const.co_firstlineno)
                if key == want and const.co_freevars == code.co_freevars:
                    return const
                todo.append(const)
    return None


_sessions: list[RaceSession] = []


def session(roots: Sequence[str] = (), include: Sequence[str] = ()) -> RaceSession:
    """The process's race session, made on first use (``roots``: user code's folders, by
    default the current directory; later calls add theirs)."""
    where = list(roots) or [os.getcwd()]
    if not _sessions:
        _sessions.append(RaceSession(where, include))
    else:
        _sessions[0].add_roots(where, include)
    return _sessions[0]


# -- one execution ----------------------------------------------------------------------------
class ExecutionDetector(Detector):
    """The detector of one execution: the session's instrumentation, new clocks and shadow.

    Its happens-before edges come from the controlled runtime (:class:`Edges`) and from the
    compound primitives' meaning (:func:`snarl.race.sources.patch`); ``threading.Thread`` and
    ``queue.SimpleQueue`` are left as they are (the runtime tells of threads, and the
    exploration has made SimpleQueues of Python's own).  The first race ends the execution.
    """

    hook_existing_locks = False  # the controlled runtime reports every lock it controls

    def __init__(self, races: RaceSession, rt: ControlledRuntime) -> None:
        super().__init__()
        self.clocks.lock = allocate_lock()  # native: its registry must be no switch point
        record = races.record
        self.files = record.files  # (shared: the same instrumented code)
        self.modules = record.modules
        self.not_instrumented = record.not_instrumented
        self.imported_before = record.imported_before
        self.session = races
        self.rt = rt
        self.edges = Edges(self)
        self.race: Race | None = None

    def _patch(self) -> None:
        self._undo_sources = sources.patch(self)

    def _unpatch(self) -> None:
        self._undo_sources()

    def start(self) -> None:
        """Activate for the execution of ``rt`` (the calling thread, the explorer's, is the
        detector's first; thread 0 of the execution is started from it)."""
        super().start()
        self.edges.first = self.me()
        self.rt.races = self.edges

    def stop(self) -> None:
        """Disconnect, and add what was checked to the session's coverage."""
        if not self.running:
            return
        super().stop()
        self.rt.races = None
        c = self.session.coverage
        c.executions += 1
        c.accesses_checked += sum(t.checked for t in self.clocks.threads)

    def _report(self, *args: Any) -> None:
        rt = self.rt
        if rt.aborting:  # threads unwinding after the end: not the schedule's doing
            return
        before = len(self.found())
        super()._report(*args)
        found = self.found()
        if len(found) == before:  # suppressed, or a pair already reported
            return
        self.race = race = found[-1]
        me = rt.me()
        other = self.edges.managed_tid(args[2])
        if me is not None and rt.record_steps:  # the table's last row: the racing access
            site = site_from(sys._getframe(1), rt.skip)
            rt.steps.append(Step(me.tid, "race", race.location, site, None, False))
        rt.end(Outcome("race", tid=me.tid if me is not None else None, detail=(race, other)))
        if me is not None:
            raise Abandon  # the racing thread unwinds from the race

    @staticmethod
    def not_seen_now(record: Any) -> list[str]:
        """What a detector with ``record``'s instrumentation cannot see (its summary's)."""
        probe = Detector()
        probe.not_instrumented = record.not_instrumented
        probe.imported_before = record.imported_before
        return list(probe.summary().not_seen)


class Edges:
    """What the controlled runtime tells the detector (``ControlledRuntime.races``): inner
    locks taken and freed, and thread start, begin, exit and join, each in the managed thread
    concerned (one runs at a time)."""

    def __init__(self, det: ExecutionDetector) -> None:
        self.det = det
        self.clocks = det.clocks
        self.states: dict[int, ThreadState] = {}  # managed tid -> its detector state
        self.forks: dict[int, tuple[list[int], Any]] = {}  # tid -> (clock at start, where)
        self.finals: dict[int, list[int]] = {}  # tid -> its clock at its end
        self.reaped: set[int] = set()
        self.first: ThreadState | None = None  # the explorer's thread, which starts thread 0
        self.by_state: dict[int, int] = {}  # detector tid -> managed tid

    def managed_tid(self, detector_tid: int) -> int | None:
        """The managed thread whose detector state has id ``detector_tid`` (None: not one)."""
        return self.by_state.get(detector_tid)

    def _state(self, m: Managed) -> ThreadState | None:
        return self.states.get(m.tid)

    # -- threads --------------------------------------------------------------------------
    def forked(self, parent: Managed, child: Managed) -> None:
        """``parent`` starts ``child`` (in the parent): the child's clock is the parent's."""
        st = self._state(parent)
        if st is None:
            return
        where = self.det.user_frame(sys._getframe(2))
        self.forks[child.tid] = (self.clocks.fork(st), where)

    def begin(self, m: Managed) -> None:
        """``m`` begins (in its own OS thread): a detector state of its own, current there
        (a kept OS thread that ran another managed thread gets a new one)."""
        fork = self.forks.pop(m.tid, None)
        if fork is None:  # thread 0: started by the explorer's thread, the detector's first
            first = self.first
            vc: list[int] | None = self.clocks.fork(first) if first is not None else None
            where = None
        else:
            vc, where = fork
        st = self.clocks.register(vc, m.name, where, threading.get_ident(), forked=True)
        self.states[m.tid] = st
        self.by_state[st.tid] = m.tid

    def exited(self, m: Managed) -> None:
        """``m`` ends (before another thread runs): its final clock, for its joiners."""
        st = self._state(m)
        if st is not None:
            self.finals[m.tid] = self.clocks.finish(st)

    def joined(self, joiner: Managed, target: Managed) -> None:
        """``joiner`` saw ``target`` end (``join`` returned): target → joiner."""
        st = self._state(joiner)
        final = self.finals.get(target.tid)
        if st is None or final is None:
            return
        first = target.tid not in self.reaped
        self.reaped.add(target.tid)
        self.clocks.join(st, final, first)

    # -- locks ----------------------------------------------------------------------------
    def acquired(self, me: Managed, inner: Any, prim: Any) -> None:
        """``me`` took ``inner`` (the inner lock of ``prim``, if known)."""
        info = getattr(inner, "race", None)
        if info is None:
            info = self._learn(inner, prim)
        kind, name = info
        if kind == "internal":
            return
        st = self.states.get(me.tid)
        if st is None:
            return
        if kind == "future" and not sources.receives(_outside_runtime(sys._getframe(1))):
            return
        self.clocks.acquire(st, inner)
        if name is not None:
            st.held = st.ctx = (*st.held, name)

    def released(self, me: Managed, inner: Any) -> None:
        """``me`` freed ``inner``: it publishes its clock there."""
        info = getattr(inner, "race", None)
        if info is None or info[0] == "internal":
            return  # never taken under a detector, or inside a compound primitive
        st = self.states.get(me.tid)
        if st is None:
            return
        self.clocks.release(st, inner)
        name = info[1]
        if name is None:
            return
        held = st.held
        for i in range(len(held) - 1, -1, -1):
            if held[i] == name:
                st.held = st.ctx = held[:i] + held[i + 1 :]
                break

    def _learn(self, inner: Any, prim: Any) -> tuple[str, str | None]:
        """Its kind (:func:`snarl.race.sources.kind_of`, from where it is first taken) and,
        for a user's Lock or RLock, its name in reports; kept on the inner lock."""
        frame = _outside_runtime(sys._getframe(2))
        kind = sources.kind_of(frame)
        name = None
        if kind == "user":
            if prim is None:
                prim = _primitive_of(frame, inner)
            if prim is not None and getattr(prim, "_inner", None) is inner:
                name = self.det.lock_name(prim)
        info = (kind, name)
        if hasattr(type(inner), "race"):  # (else not the runtime's inner lock: not remembered)
            inner.race = info
        return info


def _outside_runtime(frame: Any) -> Any:
    """The first frame from ``frame`` outwards that is not the runtime's."""
    while frame is not None and frame.f_code.co_filename.startswith(_RUNTIME):
        frame = frame.f_back
    return frame


def _primitive_of(frame: Any, inner: Any) -> Any:
    """The snarl Lock or RLock whose inner lock ``inner`` is, read from the frame of its
    method that takes it (a Condition's own lock, for ``with condition:``)."""
    while frame is not None and frame.f_code.co_filename.startswith(_SYNC):
        obj = frame.f_locals.get("self")
        if getattr(obj, "_inner", None) is inner:
            return obj
        lock = getattr(obj, "_lock", None)
        if getattr(lock, "_inner", None) is inner:
            return lock
        frame = frame.f_back
    return None


def race_lines(race: Race) -> list[str]:
    """The report of a race, as ``snarl race`` prints it (Go's race detector's shape)."""
    return format_race(race)


def race_json(race: Race) -> dict[str, Any]:
    """A race as an item of ``races`` in ``snarl race --json`` (``docs/races.md``)."""
    doc = to_json([race], Summary(races=1, suppressed=0, accesses_checked=0, threads=0))
    return doc["races"][0]  # type: ignore[no-any-return]
