"""Every thread's current frame, read the one way snarl allows: :func:`read_frames`.

``sys._current_frames()`` is the interpreter's only view of other threads' stacks, and it has
known hazards.  Every part of snarl asks here instead of calling it directly, so that whatever
route avoids those hazards is taken in one place.  This module imports nothing from snarl.

**Subinterpreters (CPython 3.12, 3.13).**  ``sys._current_frames()`` walks the threads of
*every* interpreter and makes a frame object for each top frame with the calling
interpreter's allocator.  For an isolated subinterpreter (own GIL, own allocator: what
``_interpreters.create()`` and ``_xxsubinterpreters.create()`` make) that object is later
freed by the other interpreter: ``free(): invalid pointer``, the process aborts.  So while
any other interpreter exists (``list_all()`` of the interpreters module, which lists legacy
``Py_NewInterpreter`` ones too), or once the program has imported a module that makes them,
or once one was ever seen (the choice is sticky), other threads are read another way:

* 3.12: ``faulthandler.dump_traceback(all_threads=True)``: one C call, holding this
  interpreter's GIL, that walks only this interpreter's thread states and reads raw frames
  without creating any object.  Its text is parsed into (file, line, function) per thread:
  no frame objects, so no locals and no wait inference, at most 100 threads and 100 frames.
* 3.13 (and later, until shown safe): not at all.  There faulthandler crashes too (a segfault
  in ``dump_frame`` while another thread creates or destroys an interpreter: measured,
  see tests/integration/test_subinterpreters.py), so only the calling thread's own stack is
  read, and the other threads are listed, stackless, from ``threading``'s table.

:attr:`FrameReading.note` says what was left out, and every report shows it.  3.10 and 3.11
need no such route: their subinterpreters share one allocator and one GIL (the tests check
that they do not crash).

*Residual risk:* the very first subinterpreter of a program that imports none of the modules
in :data:`_MAKERS` (one made from C, e.g. an embedding server) can be created in parallel with
a read, between the ``list_all()`` check and ``sys._current_frames()`` (a window of a few
microseconds, once per program).  Nothing a reader can do without the runtime's head lock
closes it.  (A ctypes walk of the thread states was considered and rejected: it cannot hold
the GIL across steps, and a thread that exits meanwhile frees the state being read.)

**Free-threaded builds.**  With ``Py_GIL_DISABLED`` other threads run while their frames
are read: a frame popped, or a local overwritten, while snarl reads it is a use-after-free.
``sys._current_frames()`` itself stops the world, but what it returns is read afterwards.  So
reads that walk frames go through :func:`held_frames`, which *parks* every other thread for the
duration of the read: a ``sys.monitoring`` tool of snarl's own turns on ``INSTRUCTION`` and
``PY_UNWIND`` events, whose callback blocks any thread but the reader (and threads the reader
exempts, see :func:`exempt`) until the read is done.  Turning events on stops the world and
instruments the code every thread is executing, so from then on a thread running Python code
parks before its next instruction, and a frame can only be popped by an instruction or by an
exception unwinding it (``PY_UNWIND``): neither happens while the frames are read.  A thread
blocked in C (a lock, I/O) is not running Python code and its frames do not change until it
returns to the interpreter, where it parks.  The cost is paid only during a read, and only on a
free-threaded build: each instruction the reader itself executes calls the callback (measured in
``benchmarks/RESULTS.md``).  If no ``sys.monitoring`` tool id is free, frames of other threads
are not read, and the reading says so.  The reader must not wait for anything a parked thread
may hold (the import lock above all: a thread can be parked in the middle of an import), so
what a reading needs is imported before the threads are parked; should a reader still be stuck,
a parked thread goes on by itself after :data:`_PARK_LIMIT` seconds.
"""

from __future__ import annotations

import contextlib
import faulthandler
import os
import re
import sys
import tempfile
from _thread import allocate_lock
from collections.abc import Iterator
from threading import get_ident
from time import sleep as _sleep
from types import FrameType, ModuleType
from typing import Any, NamedTuple

__all__ = [
    "FREE_THREADED",
    "FrameReading",
    "RawFrame",
    "current_frames",
    "exempt",
    "gil_off",
    "held_frames",
    "read_frames",
    "subinterpreters_seen",
]

_gil_enabled = getattr(sys, "_is_gil_enabled", None)  # 3.13+


def gil_off() -> bool:
    """Whether other threads run while this one reads frames: a free-threaded build whose GIL
    is off now (a C extension that needs it, or ``PYTHON_GIL=1``, turns it back on)."""
    return _gil_enabled is not None and not _gil_enabled()


FREE_THREADED = gil_off()
"""Whether the GIL was off when snarl was imported (see :func:`gil_off`)."""

# Modules through which Python code makes subinterpreters: once the program has one, the safe
# route is taken before the first interpreter exists (closing the race at its creation).
_MAKERS = (
    "_interpreters",
    "_xxsubinterpreters",
    "interpreters",
    "concurrent.interpreters",
    "test.support.interpreters",
    "_testcapi",
    "_testinternalcapi",
)

_HAZARD = sys.version_info >= (3, 12)  # 3.10 and 3.11 share one allocator across interpreters

NOTE = (
    "frames read by faulthandler: this program uses subinterpreters (with them "
    "sys._current_frames() crashes CPython 3.12-3.13); no locals, no wait inference, "
    "function names without class, at most 100 threads of 100 frames, "
    "other interpreters' threads not shown"
)
NOTE_TABLE = (
    "other threads' stacks not read: this program uses subinterpreters, and with them "
    "CPython 3.13 crashes when another thread's frames are read (by sys._current_frames() "
    "or by faulthandler); threads listed from threading's table (threads started with "
    "_thread not shown), no waits, no locals"
)


class RawFrame(NamedTuple):
    """One frame as faulthandler prints it: file, line (None if unknown), function name."""

    filename: str
    lineno: int | None
    function: str


class FrameReading(NamedTuple):
    """What one read of every thread's stack gave.

    ``frames``: top frame objects by thread ident (complete when ``stacks`` is None).
    ``stacks``: on the safe route, every thread of this interpreter, innermost frame first;
    ``frames`` then holds the calling thread's own frame only.
    ``note``: what this read could not see, in one line; None when nothing was left out.
    """

    frames: dict[int, FrameType]
    stacks: dict[int, tuple[RawFrame, ...]] | None
    note: str | None


_state = {"sticky": False, "own_import": None}


def _list_module() -> ModuleType | None:
    for name in ("_interpreters", "_xxsubinterpreters"):
        mod = sys.modules.get(name)
        if mod is not None:
            return mod
    for name in ("_interpreters", "_xxsubinterpreters"):
        try:
            mod = __import__(name)
        except ImportError:
            continue
        _state["own_import"] = name  # imported by snarl, not a sign the program makes any
        return mod
    return None


def subinterpreters_seen() -> bool:
    """Whether reads take the safe route: another interpreter exists, may soon, or did."""
    if not _HAZARD:
        return False
    if _state["sticky"]:
        return True
    modules = sys.modules
    own = _state["own_import"]
    if any(name in modules and name != own for name in _MAKERS):
        _state["sticky"] = True
        return True
    mod = _list_module()
    list_all = getattr(mod, "list_all", None)
    try:
        others = list_all is not None and len(list_all()) > 1
    except Exception:
        others = True  # cannot tell: assume the worst
    if others:
        _state["sticky"] = True
    return others


def read_frames() -> FrameReading:
    """Every thread's stack, read by the safe route for this process (see the module doc)."""
    if not subinterpreters_seen():
        return FrameReading(sys._current_frames(), None, None)
    caller = sys._getframe(1)
    if sys.version_info < (3, 13):
        return FrameReading({get_ident(): caller}, _faulthandler_stacks(), NOTE)
    return FrameReading({get_ident(): caller}, _table_stacks(caller), NOTE_TABLE)


def current_frames() -> dict[int, FrameType]:
    """The top frame of each thread of this interpreter, by thread ident.

    On the safe route (subinterpreters: see the module doc) only the calling thread's frame
    can be had as an object; callers that must see every thread use :func:`read_frames`.
    """
    if not subinterpreters_seen():
        return sys._current_frames()
    return {get_ident(): sys._getframe(1)}


_THREAD = re.compile(r"^(?:Current thread|Thread) (0x[0-9a-fA-F]+)")
_FRAME = re.compile(r'^  File "(.*)", line (\d+|\?\?\?) in (.*)$')


def _faulthandler_stacks() -> dict[int, tuple[RawFrame, ...]]:
    """This interpreter's threads, read by faulthandler (raw frames, no object created)."""
    memfd = getattr(os, "memfd_create", None)
    fd = -1
    try:
        fd = memfd("snarl-frames") if memfd is not None else _temp_fd()
        faulthandler.dump_traceback(fd, all_threads=True)
        size = os.lseek(fd, 0, os.SEEK_END)
        text = os.pread(fd, size, 0).decode("ascii", "backslashreplace")
    except OSError:
        return {}
    finally:
        if fd >= 0:
            os.close(fd)
    return parse_faulthandler(text)


def _table_stacks(caller: FrameType) -> dict[int, tuple[RawFrame, ...]]:
    """The calling thread's own stack, and every other thread threading knows, stackless."""
    threading = sys.modules.get("threading")
    stacks: dict[int, tuple[RawFrame, ...]] = dict.fromkeys(
        threading._active.copy() if threading is not None else (), ()
    )
    own: list[RawFrame] = []
    frame: FrameType | None = caller
    while frame is not None:
        code = frame.f_code
        own.append(RawFrame(code.co_filename, frame.f_lineno, code.co_name))
        frame = frame.f_back
    stacks[get_ident()] = tuple(own)
    return stacks


def _temp_fd() -> int:
    fd, path = tempfile.mkstemp(prefix="snarl-frames-")
    os.unlink(path)
    return fd


def parse_faulthandler(text: str) -> dict[int, tuple[RawFrame, ...]]:
    """``faulthandler.dump_traceback`` output as stacks by thread ident, innermost first."""
    stacks: dict[int, list[RawFrame]] = {}
    current: list[RawFrame] | None = None
    for line in text.splitlines():
        head = _THREAD.match(line)
        if head is not None:
            current = stacks.setdefault(int(head.group(1), 16), [])
            continue
        frame = _FRAME.match(line)
        if frame is not None and current is not None:
            lineno = frame.group(2)
            current.append(
                RawFrame(frame.group(1), int(lineno) if lineno.isdigit() else None, frame.group(3))
            )
    return {ident: tuple(frames) for ident, frames in stacks.items()}


# -- free-threaded builds: park every other thread while frames are read ----------------------

NOTE_NO_TOOL = (
    "other threads' stacks not read: on a free-threaded build snarl parks the other threads "
    "to read their frames safely, with a sys.monitoring tool id, and none is free"
)

_session = allocate_lock()  # one held reading at a time
_exempt: set[int] = set()  # threads that never park (the reader, its repr worker)
_gate: list[Any] = []  # the lock parked threads wait on, while a reading is held
_POLL = 0.005  # how often a parked thread looks whether it was exempted meanwhile
_SETTLE = 0.001  # how long a reader lets in-flight instructions finish before reading
_PARK_LIMIT = 5.0  # the longest a thread stays parked, whatever the reader does


def _park(*args: Any) -> Any:
    """The monitoring callback: block the calling thread while a reading is held."""
    me = get_ident()
    if me in _exempt or not _gate:
        return None
    gate = _gate[0] if _gate else None
    waited = 0.0
    while gate is not None:
        if gate.acquire(True, _POLL):
            gate.release()
            return None
        if me in _exempt or not _gate:
            return None
        waited += _POLL
        if waited >= _PARK_LIMIT:  # the reader is stuck (see the module docstring): go on
            return None
    return None


def exempt(ident: int, exempted: bool = True) -> None:
    """Thread ``ident`` is never parked by :func:`held_frames` (a helper of a reader's, such
    as the worker that runs reprs), or, with ``exempted=False``, no longer exempt."""
    if exempted:
        _exempt.add(ident)
    else:
        _exempt.discard(ident)


def _free_tool() -> int | None:
    mon = sys.monitoring
    for tool in (5, 3, 4):  # ids 0-2 are the debugger's, coverage's and profiler's
        if mon.get_tool(tool) is None:
            return tool
    return None


@contextlib.contextmanager
def held_frames() -> Iterator[FrameReading]:
    """Every thread's stack, safe to read until the block ends (see the module docstring).

    On a build with a GIL this is :func:`read_frames`.  On a free-threaded build every other
    thread is parked before its next instruction while the block runs, so the frames do not
    change under the reader; keep the block short, and read nothing of them after it.
    """
    caller = sys._getframe(2)  # (the caller of the context manager's __enter__)
    me = get_ident()
    if not gil_off():
        yield _as_caller(read_frames(), me, caller)
        return
    # Whatever the reading imports is imported now: a thread parked in the middle of an import
    # holds the import lock, and a reader that imported while it was parked would wait for ever.
    subinterpreters_seen()
    with _session:
        exempt(me)
        try:
            with _parked(caller, me) as reading:
                yield reading
        finally:
            exempt(me, False)


def _as_caller(reading: FrameReading, me: int, caller: FrameType) -> FrameReading:
    """``reading`` with the calling thread's stack starting at ``caller``: the frame it read
    from is this module's, inside a generator that is suspended while the reader reads (and a
    suspended generator's frame has no ``f_back``: the rest of the stack would be lost)."""
    if me in reading.frames:
        reading.frames[me] = caller
    return reading


@contextlib.contextmanager
def _parked(caller: FrameType, me: int) -> Iterator[FrameReading]:
    mon = sys.monitoring
    tool = _free_tool()
    if tool is None:
        yield FrameReading({me: caller}, _table_stacks(caller), NOTE_NO_TOOL)
        return
    gate = allocate_lock()
    gate.acquire()
    mon.use_tool_id(tool, "snarl frame reading")
    try:
        events = mon.events.INSTRUCTION | mon.events.PY_UNWIND
        mon.register_callback(tool, mon.events.INSTRUCTION, _park)
        mon.register_callback(tool, mon.events.PY_UNWIND, _park)
        _gate.append(gate)
        mon.set_events(tool, events)  # (stops the world: every thread parks from here)
        # A thread in the middle of an instruction when the world started again finishes it
        # (measured: once in 20 reads a spinning thread's store landed after the first read):
        # a moment's settle lets it reach the instruction that parks it.
        _sleep(_SETTLE)
        yield _as_caller(read_frames(), me, caller)
    finally:
        mon.set_events(tool, 0)
        _gate.clear()
        gate.release()
        mon.register_callback(tool, mon.events.INSTRUCTION, None)
        mon.register_callback(tool, mon.events.PY_UNWIND, None)
        mon.free_tool_id(tool)
