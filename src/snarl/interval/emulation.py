"""Counting hooks: every N instructions, call ``on_interval()`` (the GIL offer by default).

One budget for the process, decremented by whichever thread runs: Python 2's ``_Py_Ticker``
was exactly that (a thread that blocks in I/O leaves the rest of the budget to the next).  The
hooks add the weights of :mod:`snarl.interval.counting` where execution goes:

* 3.12+ (``sys.monitoring``, a tool id of its own): ``JUMP`` (loop back-edges; forward jumps
  are disabled where they fire, their weight being folded in), ``PY_START`` and
  ``PY_RESUME``.  Process-wide: threads already running and threads started later are
  counted.  Code that is not counted (``user_only``) has its events disabled where they
  fire, so it costs nothing after the first time.
* 3.10-3.11 (``sys.settrace``): line events, in the calling thread, in threads started later
  (``threading.settrace``) and in threads already running (given the trace function through
  the C API, see :func:`_trace_giver`).  A trace function (debugger, coverage)
  already set is an error: the hook would replace it.  When the emulation stops, each other
  thread's tracer removes itself at its next event.

The ``on_interval`` callable is what happens when the budget runs out: the GIL offer here, a
scheduler's switch in the interleaving explorer.
"""

from __future__ import annotations

import os
import sys
import sysconfig
import threading
from _thread import get_ident
from collections.abc import Callable
from types import CodeType, FrameType
from typing import Any

from ..frames import current_frames, gil_off
from .counting import event_weights, line_weights
from .offer import Handoff
from .turns import Turns

__all__ = ["Emulation", "is_library_file"]

MONITORING = sys.version_info >= (3, 12)
FREE_THREADED = bool(sysconfig.get_config_var("Py_GIL_DISABLED"))
"""A free-threaded build; whether its GIL is off *now* (``PYTHON_GIL=1``, or an extension that
needs it, turns it back on) is :func:`snarl.frames.gil_off`, asked when an emulation starts."""
# snarl's own code is never counted (its primitives, its runtimes): the package's folder, but
# not the bundled examples installed inside it (snarl/examples: programs, like the user's).
_HERE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "")
_EXAMPLES = os.path.join(_HERE, "examples", "")


def _library_prefixes() -> tuple[str, ...]:
    paths = sysconfig.get_paths()
    found = {paths.get(key) for key in ("stdlib", "platstdlib", "purelib", "platlib")}
    try:
        import site

        found.update(site.getsitepackages())
        found.add(site.getusersitepackages())
    except Exception:  # a site module without these (virtualenv's old one)
        pass
    return tuple(os.path.join(os.path.realpath(p), "") for p in found if p)


_LIBRARY = _library_prefixes()


def is_library_file(filename: str) -> bool:
    """Whether ``filename`` belongs to the standard library or an installed package (or is
    frozen or generated code): what ``user_only`` does not count."""
    if filename.startswith("<"):
        return True  # <frozen ...> modules and other generated code (callers decide <string>)
    path = os.path.realpath(filename)
    return path.startswith(_LIBRARY)


class Emulation:
    """The counting hooks and the budget; :meth:`start` and :meth:`stop` install and remove.

    ``skip(filename)``, if given, decides which code is not counted (instead of
    ``user_only``'s rule): the controlled runtime passes its own, which also leaves out
    generated code (``<string>``), since snarl's runtime runs dataclass ``__init__``s.
    """

    def __init__(
        self,
        interval: int,
        on_interval: Callable[[], None] | None = None,
        *,
        user_only: bool = False,
        skip: Callable[[str], bool] | None = None,
    ) -> None:
        self.interval = interval
        self.skip_file = skip  # a filename rule of the caller's, replacing user_only's
        # The GIL offer by default; on a free-threaded build, the token threads take turns
        # with (see turns.py); neither with the caller's own on_interval.
        self.turns = Turns() if on_interval is None and gil_off() else None
        self.handoff = Handoff() if on_interval is None and self.turns is None else None
        if on_interval is None:
            on_interval = self.turns.offer if self.turns is not None else self.handoff.offer  # type: ignore[union-attr]
        self.on_interval = on_interval
        self.user_only = user_only
        self.active = False
        self._tool: int | None = None
        self._tables: dict[int, tuple[CodeType, list[int] | None]] = {}

    # -- which code counts -----------------------------------------------------------------
    def _skip(self, code: CodeType) -> bool:
        name = code.co_filename
        if name.startswith(_HERE) and not name.startswith(_EXAMPLES):
            return True  # snarl's own code
        if self.skip_file is not None:
            return self.skip_file(name)
        if not self.user_only:
            return False
        if name == "<string>" or name.startswith("<stdin"):
            return False
        return is_library_file(name)

    def _table(self, code: CodeType, weights: Callable[[CodeType], list[int]]) -> list[int] | None:
        entry = self._tables.get(id(code))
        if entry is None or entry[0] is not code:
            entry = (code, None if self._skip(code) else weights(code))
            self._tables[id(code)] = entry  # keeps the code alive: its id is not reused
        return entry[1]

    # -- install ---------------------------------------------------------------------------
    def start(self) -> None:
        """Install the hooks (``RuntimeError`` if another tool holds what they need)."""
        self.active = True  # before the hooks: the first event may come while installing
        try:
            if MONITORING:
                self._start_monitoring()
            else:
                self._start_settrace()
        except BaseException:
            self.active = False
            raise

    def stop(self) -> None:
        """Remove the hooks; no hook of this emulation stays installed in this thread."""
        self.active = False
        if MONITORING:
            self._stop_monitoring()
        else:
            self._stop_settrace()
        self._tables.clear()
        if self.handoff is not None:
            self.handoff.forget()
        if self.turns is not None:
            self.turns.close()

    # -- sys.monitoring (3.12+) ------------------------------------------------------------
    def _start_monitoring(self) -> None:
        mon = sys.monitoring
        for tool in (4, 3, 5):  # ids 0-2 are the debugger's, coverage's and profiler's
            if mon.get_tool(tool) is None:
                break
        else:
            raise RuntimeError(
                "snarl: no free sys.monitoring tool id (3, 4 and 5 are all in use): "
                "the check interval needs one"
            )
        mon.use_tool_id(tool, "snarl check interval")
        self._tool = tool
        events = mon.events
        disable = mon.DISABLE
        interval = self.interval
        table_of = self._table
        on_interval = self.on_interval
        handoff = self.handoff  # None with a custom on_interval: nothing to acknowledge
        emulation = self
        left = interval  # Python 2's ticker: one budget for every thread
        # The last code object seen and its weights, as one tuple: hooks run in every thread,
        # and a thread switch between two separate stores would pair them wrongly.  A miss
        # looks in the table without a call (the entries are the same tuples).
        last: tuple[Any, Any] = (None, None)
        tables = self._tables

        def entry_of(code: CodeType) -> tuple[Any, Any]:
            table_of(code, event_weights)
            return tables[id(code)]

        def spent() -> None:
            nonlocal left
            left = max(left + interval, 1)
            if emulation.active:
                on_interval()

        # The hot path: one tuple read, one subtraction.  The table is indexed by where the
        # event fires (see event_weights); a forward jump's entry is None, and so is the whole
        # table of code that is not counted: either makes the subtraction raise TypeError,
        # and the location's event is disabled (a try costs nothing when nothing raises).
        def on_jump(code: CodeType, src: int, dst: int) -> Any:
            nonlocal left, last
            seen = last
            if seen[0] is not code:
                seen = tables.get(id(code))
                if seen is None or seen[0] is not code:
                    seen = entry_of(code)
                last = seen
            try:
                left -= seen[1][src >> 1]
            except TypeError:
                return disable
            if left <= 0:
                spent()
            return None

        def on_start(code: CodeType, offset: int) -> Any:
            nonlocal left, last
            seen = last
            if seen[0] is not code:
                seen = tables.get(id(code))
                if seen is None or seen[0] is not code:
                    seen = entry_of(code)
                last = seen
            try:
                left -= seen[1][offset >> 1]
            except TypeError:
                return disable
            if left <= 0:
                spent()
            return None

        # While an offer is pending, the callbacks first acknowledge it (the thread that runs
        # next releases the offerer); otherwise they do not even look.
        def on_jump_ack(code: CodeType, src: int, dst: int) -> Any:
            handoff.ack()  # type: ignore[union-attr]  (only installed by a handoff)
            return on_jump(code, src, dst)

        def on_start_ack(code: CodeType, offset: int) -> Any:
            handoff.ack()  # type: ignore[union-attr]
            return on_start(code, offset)

        def use(jump: Any, start: Any) -> None:
            if emulation._tool != tool:
                return  # stopped meanwhile: the id is no longer ours
            mon.register_callback(tool, events.JUMP, jump)
            mon.register_callback(tool, events.PY_START, start)
            mon.register_callback(tool, events.PY_RESUME, start)

        if self.handoff is not None:
            self.handoff.on_pending = lambda: use(on_jump_ack, on_start_ack)
            self.handoff.on_settled = lambda: use(on_jump, on_start)
        if self.turns is not None:
            use(*self._turn_hooks(entry_of, spent))
        else:
            use(on_jump, on_start)
        mon.set_events(tool, events.JUMP | events.PY_START | events.PY_RESUME)

    def _turn_hooks(self, entry_of: Callable[[CodeType], Any], spent: Callable[[], None]) -> Any:
        """The JUMP and PY_START/PY_RESUME callbacks of a free-threaded build: as the GIL
        build's, but counted code first holds the token (see turns.py): the one budget is
        spent by the token's holder only."""
        turns = self.turns
        assert turns is not None
        take = turns.take
        disable = sys.monitoring.DISABLE
        interval = self.interval
        tables = self._tables
        budget = [interval]  # (one list: the holder's writes are seen by the next holder)

        def count(code: CodeType, offset: int) -> Any:
            seen = tables.get(id(code))
            if seen is None or seen[0] is not code:
                seen = entry_of(code)
            weights = seen[1]
            if weights is None:
                return disable
            weight = weights[offset >> 1]
            if weight is None:
                return disable
            if turns.owner != get_ident():
                take()
            turns.progress += 1
            budget[0] -= weight
            if budget[0] <= 0:
                budget[0] = interval
                spent()
            return None

        def on_jump(code: CodeType, src: int, dst: int) -> Any:
            return count(code, src)

        def on_start(code: CodeType, offset: int) -> Any:
            return count(code, offset)

        return on_jump, on_start

    def _stop_monitoring(self) -> None:
        tool = self._tool
        if tool is None:
            return
        mon = sys.monitoring
        if self.handoff is not None:
            self.handoff.on_pending = self.handoff.on_settled = None
        self._tool = None
        mon.set_events(tool, 0)
        for event in (mon.events.JUMP, mon.events.PY_START, mon.events.PY_RESUME):
            mon.register_callback(tool, event, None)
        mon.free_tool_id(tool)
        mon.restart_events()  # locations this tool disabled count again for the next one

    # -- sys.settrace (3.10, 3.11) ---------------------------------------------------------
    def _start_settrace(self) -> None:
        current = sys.gettrace()
        if current is not None:
            raise RuntimeError(
                f"snarl: a trace function is already set ({current!r}: a debugger or "
                "coverage?); on Python < 3.12 the check interval needs sys.settrace and would "
                "replace it"
            )
        interval = self.interval
        table_of = self._table
        on_interval = self.on_interval
        handoff = self.handoff  # None with a custom on_interval: nothing to acknowledge
        emulation = self
        left = interval
        pending = False  # an offer waits for acknowledgement (set by the handoff's hooks)
        # One local trace function per counted code object, with its weights bound in: a
        # line event costs one index and one subtraction, no look-up of the frame's code.
        tracers: dict[int, tuple[CodeType, Any]] = {}

        def set_pending(value: bool) -> None:
            nonlocal pending
            pending = value

        if self.handoff is not None:
            self.handoff.on_pending = lambda: set_pending(True)
            self.handoff.on_settled = lambda: set_pending(False)

        def spent() -> None:
            nonlocal left
            left = max(left + interval, 1)
            if emulation.active:
                on_interval()
            else:
                sys.settrace(None)  # the emulation stopped: remove this thread's hook

        def tracer_for(table: list[int]) -> Any:
            # Indexed by the byte offset ``f_lasti`` gives (no shift on the hot path): the
            # weight of code unit k sits at 2k, zeros between.
            weights = [0] * (2 * len(table))
            weights[::2] = table

            def local(frame: FrameType, event: str, arg: Any) -> Any:
                nonlocal left
                if event == "line":
                    if pending:  # only ever set by a handoff
                        handoff.ack()  # type: ignore[union-attr]
                    left -= weights[frame.f_lasti]
                    if left <= 0:
                        spent()
                        if not emulation.active:
                            return None
                elif not emulation.active:
                    sys.settrace(None)
                    return None
                return local

            return local

        def tracer_of(code: CodeType) -> Any:
            """The local trace function for ``code``, or None if it is not counted."""
            entry = tracers.get(id(code))
            if entry is None or entry[0] is not code:
                weights = table_of(code, line_weights)
                entry = (code, None if weights is None else tracer_for(weights))
                tracers[id(code)] = entry  # keeps the code alive: its id is not reused
            return entry[1]

        def global_trace(frame: FrameType, event: str, arg: Any) -> Any:
            if not emulation.active:
                sys.settrace(None)
                return None
            code = frame.f_code
            entry = tracers.get(id(code))
            if entry is not None and entry[0] is code:
                return entry[1]
            return tracer_of(code)  # None: not counted, no line events for this frame

        self._global_trace = global_trace
        # Everything that runs Python code is done before the hook goes in (once it is in,
        # that code would be counted): the ctypes calls are looked up and the tables of every
        # frame already running, in every thread, are read.
        give_trace = _trace_giver()
        running = [(f, t) for f in _running_frames() if (t := tracer_of(f.f_code)) is not None]
        threading.settrace(global_trace)
        sys.settrace(global_trace)
        self.other_threads = give_trace is not None and give_trace(global_trace)
        current = threading.get_ident()
        for frame, tracer in running:  # line events in running frames, from their next line
            if self.other_threads or _owner(frame) == current:
                frame.f_trace = tracer

    def _stop_settrace(self) -> None:
        if self.handoff is not None:
            self.handoff.on_pending = self.handoff.on_settled = None
        if threading.gettrace() is getattr(self, "_global_trace", None):  # type: ignore[attr-defined]
            threading.settrace(None)  # type: ignore[arg-type]
        if sys.gettrace() is getattr(self, "_global_trace", None):
            sys.settrace(None)
        frame: FrameType | None = sys._getframe(1)
        while frame is not None:
            frame.f_trace = None
            frame = frame.f_back


def _running_frames() -> list[FrameType]:
    """Every frame running now, in every thread (outermost callers included)."""
    frames = []
    for top in current_frames().values():
        frame: FrameType | None = top
        while frame is not None:
            frames.append(frame)
            frame = frame.f_back
    return frames


def _owner(frame: FrameType) -> int | None:
    """The ident of the thread running ``frame`` (None if it is no longer running)."""
    for ident, top in current_frames().items():
        running: FrameType | None = top
        while running is not None:
            if running is frame:
                return ident
            running = running.f_back
    return None


def _trace_giver() -> Callable[[Any], bool] | None:
    """A function that puts a trace function, already set in the calling thread, into every
    other thread (3.10/3.11); None if the C API is not reachable.

    Python < 3.12 has no call for it, so this goes through the C API with ``ctypes``: the
    calling thread's thread state, just given the function by ``sys.settrace``, holds the
    address of the interpreter's trace trampoline next to the function itself;
    ``_PyEval_SetTrace`` gives that pair to each other thread state (the GIL is held, so none
    of them is running).  The symbols are looked up now, so that applying it runs no Python
    code of ctypes; any surprise leaves the other threads alone (the function returns False).
    """
    try:
        import ctypes

        api = ctypes.pythonapi
        get_state = api.PyThreadState_Get
        get_state.restype = ctypes.c_void_p
        get_interp = api.PyInterpreterState_Get
        get_interp.restype = ctypes.c_void_p
        head = api.PyInterpreterState_ThreadHead
        head.restype = ctypes.c_void_p
        head.argtypes = [ctypes.c_void_p]
        following = api.PyThreadState_Next
        following.restype = ctypes.c_void_p
        following.argtypes = [ctypes.c_void_p]
        set_trace = api._PyEval_SetTrace
        set_trace.restype = ctypes.c_int
        set_trace.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.py_object]
        words_type = ctypes.c_void_p * 64
    except Exception:
        return None

    def give(trace: Any) -> bool:
        try:
            me = get_state()
            words = words_type.from_address(me)
            # c_profilefunc, c_tracefunc, c_profileobj, c_traceobj: the function is two
            # words before the object, in 3.10 and 3.11 alike.
            slots = [i for i in range(2, 64) if words[i] == id(trace)]
            if len(slots) != 1 or not words[slots[0] - 2]:
                return False
            trampoline = words[slots[0] - 2]
            state = head(get_interp())
            while state:
                if state != me and set_trace(state, trampoline, trace) != 0:
                    return False
                state = following(state)
        except Exception:
            return False
        return True

    return give
