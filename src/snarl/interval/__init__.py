"""The check interval on Python 3: offer the GIL every N bytecodes, as Python 2 did.

``setcheckinterval(n)`` makes the running thread offer the GIL to threads waiting for it after
every ``n`` bytecodes, counted by one budget for the whole process (Python 2's ``_Py_Ticker``
was one counter too).  It applies to every thread, already running or started later: on
3.12+ through ``sys.monitoring``; on 3.10 and 3.11 through ``sys.settrace`` (threads already
running get the trace function through the C API, with ``ctypes``; if that fails, they are not
counted).

How exact the count is.  Every instruction the interpreter dispatches counts as one (inline
caches do not), and the hooks add, where execution goes, the instructions that run from there:

* exact for straight-line code and for every iteration of a loop whose body has no branch;
* a conditional branch is counted as *not taken*, and an unconditional forward jump as taken
  (3.12+: up to the next backward jump, call or resume; 3.10-3.11: up to the next line), so a
  skipped block is counted anyway and code reached only by a taken branch is not, until then;
* when a loop exits, its last test is counted as a whole body; instructions in exception
  handlers are not counted (3.12+).

Python 2 itself was not exact either: opcodes it dispatched through ``fast_next_opcode``
(``LOAD_FAST``, ``STORE_FAST``, ``LOAD_CONST``, ``POP_TOP``, jumps...) did not decrement the
ticker.

What it costs (``benchmarks/RESULTS.md``): with no other thread alive an offer does nothing,
so the cost is the counting: about 4x for a typical loop on 3.12+ and 13x on 3.10-3.11
(worst case, an empty loop: 7x and 15-25x).  With other threads alive, each offer that no
thread takes costs a ``sched_yield`` on top.

While the emulation is on, the interpreter's own time-based switching is pushed out (the
switch interval is raised to :data:`QUIET_SWITCH_INTERVAL` seconds, restored afterwards), so
threads switch at the offers, as in Python 2.  ``switchinterval(seconds)`` sets it yourself.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from .emulation import Emulation

__all__ = [
    "QUIET_SWITCH_INTERVAL",
    "checkinterval",
    "getcheckinterval",
    "setcheckinterval",
    "switchinterval",
]

QUIET_SWITCH_INTERVAL = 1.0
"""The switch interval (seconds) while the check interval is on."""

_lock = threading.Lock()
_state: dict[str, Any] = {"emulation": None, "switch": None}


def _check(n: object) -> int:
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"check interval must be an integer, not {type(n).__name__}")
    if n < 0:
        raise ValueError("check interval must be >= 0 (0 turns it off)")
    return n


def setcheckinterval(
    n: int, *, user_only: bool = False, on_interval: Callable[[], None] | None = None
) -> None:
    """Offer the GIL every ``n`` bytecodes, in every thread; ``0`` turns it off.

    ``user_only`` counts only code outside the standard library and installed packages.
    ``on_interval`` replaces the offer with your own callable (a scheduler's switch point).
    ``RuntimeError`` if the hook cannot be installed next to another tool (see the module
    docstring); a negative or non-integer ``n`` raises as ``sys.setswitchinterval`` would.
    """
    n = _check(n)
    with _lock:
        old: Emulation | None = _state["emulation"]
        if old is not None:
            old.stop()
            _state["emulation"] = None
        if n == 0:
            if _state["switch"] is not None:
                sys.setswitchinterval(_state["switch"])
                _state["switch"] = None
            return
        emulation = Emulation(n, on_interval, user_only=user_only)
        emulation.start()
        _state["emulation"] = emulation
        if _state["switch"] is None:
            _state["switch"] = sys.getswitchinterval()
            sys.setswitchinterval(max(QUIET_SWITCH_INTERVAL, _state["switch"]))


def getcheckinterval() -> int:
    """The current check interval in bytecodes, 0 when the emulation is off."""
    emulation = _state["emulation"]
    return 0 if emulation is None else emulation.interval


@contextmanager
def checkinterval(
    n: int, *, user_only: bool = False, on_interval: Callable[[], None] | None = None
) -> Iterator[None]:
    """``setcheckinterval(n, ...)`` for the ``with`` block; the previous setting after it."""
    _check(n)
    previous: Emulation | None = _state["emulation"]
    setcheckinterval(n, user_only=user_only, on_interval=on_interval)
    try:
        yield
    finally:
        if previous is None:
            setcheckinterval(0)
        else:
            setcheckinterval(
                previous.interval,
                user_only=previous.user_only,
                on_interval=None if previous.handoff is not None else previous.on_interval,
            )


@contextmanager
def switchinterval(seconds: float) -> Iterator[None]:
    """``sys.setswitchinterval(seconds)`` for the ``with`` block; the previous value after."""
    previous = sys.getswitchinterval()
    sys.setswitchinterval(seconds)  # raises exactly as the interpreter does for bad values
    try:
        yield
    finally:
        sys.setswitchinterval(previous)
