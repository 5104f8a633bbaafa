"""Preemption points: where, besides synchronisation operations, a managed thread may be
switched out.

* ``"sync"``: nowhere else (the fastest; finds deadlocks, lost wakeups and races between
  critical sections);
* ``"line"``: before every line of user code;
* ``"bytecode"``: before every instruction of user code;
* ``"gil"``: only where CPython with the GIL can switch threads: at calls, returns and
  backward jumps (the interpreter's eval-breaker checks), in user code;
* ``"shared"``: before every instruction of user code that reads or writes state another
  thread can see: an attribute, a global, a closure cell, a subscript, an iteration step
  (not a local variable, a constant or arithmetic).  A data race needs a switch between two
  such accesses, and nowhere else; there are a third to half as many as instructions.

User code is code outside snarl, the standard library and site-packages (the same rule as
the check interval's ``user_only``); library code runs without preemption points.  3.12+
uses a ``sys.monitoring`` tool (library code has its events disabled where they fire, so it
costs nothing after the first time); 3.10 and 3.11 use ``sys.settrace`` in the managed
threads.  The hooks call :meth:`ControlledRuntime.yield_point`, which is a no-op for threads
that are not managed.
"""

from __future__ import annotations

import dis
import sys
import threading
from collections.abc import Callable
from types import CodeType, FrameType
from typing import Any

__all__ = ["GRANULARITIES", "PreemptionHooks"]

GRANULARITIES = ("sync", "line", "bytecode", "gil", "shared")
"""The preemption granularities, coarsest first."""

MONITORING = sys.version_info >= (3, 12)

_STALE_CELLS = sys.version_info < (3, 11)
"""3.10 copies a traced frame's variables, its cells included, into ``f_locals`` before it
calls the trace function, and writes them back after.  A switch inside the trace function
lets other threads run meanwhile: a ``nonlocal`` they updated would be written back to the
value it had before, an update no real run can lose.  Reading ``f_locals`` again after the
switch refreshes the copy, so what is written back is current."""

# Opcodes at which CPython checks its eval breaker (where the GIL can change hands).
_GIL_OPS = frozenset(
    dis.opmap[n]
    for n in (
        "CALL",
        "CALL_FUNCTION",
        "CALL_FUNCTION_KW",
        "CALL_FUNCTION_EX",
        "CALL_METHOD",
        "CALL_KW",
        "RETURN_VALUE",
        "RETURN_CONST",
        "JUMP_ABSOLUTE",
        "JUMP_BACKWARD",
    )
    if n in dis.opmap
)


# Opcodes that read or write state shared between threads (``"shared"``).
SHARED_OPS = frozenset(
    dis.opmap[n]
    for n in (
        "LOAD_ATTR",
        "STORE_ATTR",
        "DELETE_ATTR",
        "LOAD_METHOD",
        "LOAD_SUPER_ATTR",
        "LOAD_GLOBAL",
        "STORE_GLOBAL",
        "DELETE_GLOBAL",
        "LOAD_NAME",
        "STORE_NAME",
        "LOAD_DEREF",
        "STORE_DEREF",
        "DELETE_DEREF",
        "LOAD_CLASSDEREF",
        "LOAD_FROM_DICT_OR_DEREF",
        "BINARY_SUBSCR",
        "STORE_SUBSCR",
        "DELETE_SUBSCR",
        "BINARY_SLICE",
        "STORE_SLICE",
        "GET_ITER",
        "FOR_ITER",
    )
    if n in dis.opmap
)


class PreemptionHooks:
    """Install (:meth:`start`) and remove (:meth:`stop`) the hooks of one granularity."""

    def __init__(
        self, granularity: str, yield_point: Callable[[str], None], skip: Callable[[str], bool]
    ) -> None:
        if granularity not in GRANULARITIES:
            raise ValueError(
                f"unknown granularity {granularity!r}: choose one of {', '.join(GRANULARITIES)}"
            )
        self.granularity = granularity
        self.target = yield_point  # what every preemption point calls: may be changed live
        self.skip = skip
        self._tool: int | None = None
        self._skipped: dict[int, tuple[CodeType, bool]] = {}

    def _skips(self, code: CodeType) -> bool:
        entry = self._skipped.get(id(code))
        if entry is None or entry[0] is not code:
            entry = (code, self.skip(code.co_filename))
            self._skipped[id(code)] = entry
        return entry[1]

    def start(self) -> None:
        """Install the hooks (nothing for ``"sync"``)."""
        if self.granularity == "sync":
            return
        if MONITORING:
            self._start_monitoring()
        else:
            self._start_settrace()

    def stop(self) -> None:
        """Remove every hook this object installed."""
        if self.granularity == "sync":
            return
        if MONITORING:
            self._stop_monitoring()
        else:
            threading.settrace(None)  # type: ignore[arg-type]
            sys.settrace(None)
        self._skipped.clear()

    # -- sys.monitoring (3.12+) ---------------------------------------------------------------
    def _start_monitoring(self) -> None:
        mon = sys.monitoring
        for tool in (5, 4, 3):
            if mon.get_tool(tool) is None:
                break
        else:
            raise RuntimeError("snarl: no free sys.monitoring tool id (3, 4 and 5 are in use)")
        mon.use_tool_id(tool, "snarl preemption")
        self._tool = tool
        ev = mon.events
        disable = mon.DISABLE
        skips = self._skips
        cache = self._skipped.get  # inlined _skips: these run at every preemption point
        hooks = self
        what = self.granularity

        def on_line(code: CodeType, line: int) -> Any:
            entry = cache(id(code))
            if entry[1] if entry is not None and entry[0] is code else skips(code):
                return disable
            hooks.target(what)
            return None

        on_instruction = on_line  # (code, offset): the same
        codes: dict[int, tuple[CodeType, bytes]] = {}
        shared_ops = SHARED_OPS

        def on_shared(code: CodeType, offset: int) -> Any:
            entry = codes.get(id(code))
            if entry is None or entry[0] is not code:
                if skips(code):
                    return disable
                entry = codes[id(code)] = (code, code.co_code)
            if entry[1][offset] not in shared_ops:
                return disable  # (this location only: it never fires again)
            hooks.target(what)
            return None

        def on_jump(code: CodeType, src: int, dst: int) -> Any:
            if dst > src or skips(code):
                return disable
            hooks.target(what)
            return None

        def on_call(code: CodeType, offset: int, callable: Any, arg0: Any) -> Any:
            if skips(code):
                return disable
            hooks.target(what)
            return None

        def on_return(code: CodeType, offset: int, value: Any) -> Any:
            if skips(code):
                return disable
            hooks.target(what)
            return None

        if what == "line":
            mon.register_callback(tool, ev.LINE, on_line)
            mon.set_events(tool, ev.LINE)
        elif what == "bytecode":
            mon.register_callback(tool, ev.INSTRUCTION, on_instruction)
            mon.set_events(tool, ev.INSTRUCTION)
        elif what == "shared":
            mon.register_callback(tool, ev.INSTRUCTION, on_shared)
            mon.set_events(tool, ev.INSTRUCTION)
        else:
            mon.register_callback(tool, ev.JUMP, on_jump)
            mon.register_callback(tool, ev.CALL, on_call)
            mon.register_callback(tool, ev.PY_RETURN, on_return)
            mon.set_events(tool, ev.JUMP | ev.CALL | ev.PY_RETURN)

    def _stop_monitoring(self) -> None:
        tool = self._tool
        if tool is None:
            return
        mon = sys.monitoring
        self._tool = None
        mon.set_events(tool, 0)
        for event in (
            mon.events.LINE,
            mon.events.INSTRUCTION,
            mon.events.JUMP,
            mon.events.CALL,
            mon.events.PY_RETURN,
        ):
            mon.register_callback(tool, event, None)
        mon.free_tool_id(tool)
        mon.restart_events()

    # -- sys.settrace (3.10, 3.11) ------------------------------------------------------------
    def _start_settrace(self) -> None:
        skips = self._skips
        hooks = self
        what = self.granularity
        opcodes = what in ("bytecode", "gil", "shared")
        only = _GIL_OPS if what == "gil" else SHARED_OPS if what == "shared" else None

        def local(frame: FrameType, event: str, arg: Any) -> Any:
            if event == "opcode" or (event == "line" and not opcodes):
                hooks.target(what)
                if _STALE_CELLS:
                    frame.f_locals  # noqa: B018  (see _STALE_CELLS)
            return local

        def filtered(ops: bytes) -> Callable[[FrameType, str, Any], Any]:
            """The local trace function of one code object whose opcodes are ``ops`` (read
            once: on 3.11 ``co_code`` is a new copy at every read)."""

            def local_of(frame: FrameType, event: str, arg: Any) -> Any:
                if event == "opcode" and ops[frame.f_lasti] in only:  # type: ignore[operator]
                    hooks.target(what)
                    if _STALE_CELLS:
                        frame.f_locals  # noqa: B018  (see _STALE_CELLS)
                return local_of

            return local_of

        locals_of: dict[int, tuple[CodeType, Any]] = {}

        def global_trace(frame: FrameType, event: str, arg: Any) -> Any:
            code = frame.f_code
            if skips(code):
                return None
            if opcodes:
                frame.f_trace_lines = False
                frame.f_trace_opcodes = True
            if only is None:
                return local
            entry = locals_of.get(id(code))
            if entry is None or entry[0] is not code:
                entry = locals_of[id(code)] = (code, filtered(code.co_code))
            return entry[1]

        threading.settrace(global_trace)
