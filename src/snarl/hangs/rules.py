"""Idle or stuck: which waits the watchdog may report, and which it never does.

A watchdog that cries wolf over a parked pool is worse than none, so the rule is written down
here and nowhere else.  It is applied to each thread's frames as the dump reads them
(:mod:`snarl.threaddump.waits`), one thread at a time, without running user code.

The rule
--------
A thread **may become stuck** only when it is in a wait that another thread of this process
must end.  It **is stuck** once that wait has lasted at least ``stuck`` seconds (``T``).

Never stuck, however long it lasts:

* ``running``: executing Python, or in a C call that is not a known wait (computing, or
  blocked in C code snarl does not know).  A thread that spins (``while not flag: pass``) is
  running too: the watchdog cannot tell spinning from computing, so it never reports a
  running thread; it shows every involved thread's CPU time instead, and a holder at 100% of
  a core over the report's sampling window is spinning or computing while others wait.
* ``sleeping``: ``time.sleep``: it will wake by itself.
* ``idle``: what the dump calls waiting for work: ``Queue.get`` and ``SimpleQueue.get`` (an
  empty queue), and an I/O, Event or Condition wait inside a known idle loop (a
  ``ThreadPoolExecutor`` worker between tasks, an asyncio event loop, ``serve_forever``).
* ``io``: a read, a select, an ``accept``: it waits for the world outside the process.
* **parked**: a *signal wait* (Event, Condition, Semaphore, ``Queue.put`` on a full queue,
  ``Queue.join``, or a wait-like call on an object snarl could not read) whose waiting line,
  or the current line of one of its callers outside the standard library and site-packages,
  lies inside a loop.  Any thread may set, notify or release those objects, so no snapshot
  can say whether a signal will come; a loop that waits for signals is a worker waiting for
  its next one (``while not stop.is_set(): wake.wait()``, a hand-written queue's
  ``while not items: cond.wait()``).  ``strict=True`` turns this exemption off: then a lost
  wakeup in such a loop is reported too, and so is a pool parked on an Event.

May become stuck (``waiting``):

* a **lock** or **rlock** wait, whoever holds the lock (known or not, alive or exited);
* a **barrier** wait (barriers are rendezvous: nobody should sit at one for ``T``);
* a **signal wait** outside any loop (a one-shot ``done.wait()``), or any signal wait with
  ``strict=True``;
* a **thread-join** or **future-result** wait, unless the thread it waits for is running or
  sleeping: waiting for a thread that works is slow, not stuck.  That last condition needs
  the snapshot, so the watchdog checks it when the wait reaches ``T``, and again every ``T``.

How long a wait has lasted rests on one of two facts, and a report says which:

* ``tracked``: snarl's primitives (``snarl.install()``, or ``snarl.sync`` objects) record
  when each wait began: exact.
* ``observed``: otherwise the watchdog times it itself, from the first check that saw the
  thread in this wait: same top frame, same instruction, same kind and object.  That is a
  lower bound (the wait began before that check: up to one period before, or before the
  watchdog started), and a loop that leaves and re-enters the very same call between two
  checks (``while not lock.acquire(timeout=1):``) looks like one long wait, which for a retry
  loop is the truth that matters.
"""

from __future__ import annotations

import dis
import os
import sys
import time
from dataclasses import dataclass
from types import CodeType, FrameType
from typing import Any

from ..threaddump.bytecode import Call, WithBlock, call_at, line_at
from ..threaddump.waits import idle_range, read_frames, tables

__all__ = [
    "NEVER_STUCK",
    "SIGNAL_KINDS",
    "THREAD_KINDS",
    "Classifier",
    "Verdict",
]

SIGNAL_KINDS = frozenset({"event", "condition", "semaphore", "queue-put", "queue-join", "unknown"})
"""Waits any thread may end (set, notify, release): exempt inside a loop unless ``strict``."""

THREAD_KINDS = frozenset({"thread-join", "future-result"})
"""Waits for one given thread: stuck only if that thread is neither running nor sleeping."""

NEVER_STUCK = frozenset({"running", "sleeping", "idle", "unknown"})
"""Dump states that are never stuck (``unknown`` is a thread with no Python frame)."""

_TRACKED_KINDS = {"join": "thread-join"}
_STDLIB = os.path.dirname(os.__file__) + os.sep
_SITE = os.sep + "site-packages" + os.sep
_NO_INTERRUPT = "JUMP_BACKWARD_NO_INTERRUPT"  # await/yield-from plumbing, not a user loop
_CACHE_LIMIT = 50_000


@dataclass(frozen=True, slots=True)
class Verdict:
    """What the rule says of one thread at one check.

    ``state`` and ``kind`` are the dump's; ``may_stick`` says whether the wait can become
    stuck (see the module docstring) and ``reason`` says why in a few words.  ``obj_id`` is
    the id of the awaited object (None if unknown); ``filename`` and ``lineno`` the waiting
    line.  ``since`` is the monotonic time the wait began when snarl's records know it (the
    ``tracked`` basis), else None.
    """

    state: str
    kind: str | None
    may_stick: bool
    reason: str
    obj_id: int | None = None
    filename: str | None = None
    lineno: int | None = None
    since: float | None = None


_RUNNING = Verdict("running", None, False, "running")
_NO_FRAME = Verdict("unknown", None, False, "no Python frame")


def _is_snarl_code(code: CodeType, frame: FrameType) -> bool:
    name = frame.f_globals.get("__name__")
    return type(name) is str and (name == "snarl" or name.startswith("snarl."))


def _is_library(filename: str) -> bool:
    return filename.startswith(_STDLIB) or _SITE in filename


class Classifier:
    """Applies the rule to one thread's frames; caches what the bytecode says per code object.

    The caches hold code objects (never frames), so their ids cannot be reused while cached;
    they are emptied past a bound so generated code cannot make them grow without end.
    """

    def __init__(self, *, strict: bool = False) -> None:
        self.strict = strict
        self._hidden: dict[int, tuple[CodeType, bool]] = {}
        self._loops: dict[int, tuple[CodeType, tuple[tuple[int, int], ...]]] = {}
        self._calls: dict[tuple[int, int], tuple[CodeType, Call | None]] = {}
        self._tables: Any = None

    def begin(self) -> None:
        """Call once per check, before classifying: bounds the caches, reads the wait tables
        for the modules imported now."""
        for cache in (self._hidden, self._loops, self._calls):
            if len(cache) > _CACHE_LIMIT:
                cache.clear()
        self._tables = tables()

    # -- frames ---------------------------------------------------------------------------
    def walk(self, top: FrameType) -> tuple[list[FrameType], bool]:
        """The thread's frames, innermost first, snarl's own left out (as a dump shows them),
        and whether the innermost frame was snarl's (then snarl's records hold its wait)."""
        stack: list[FrameType] = []
        hidden = self._hidden
        in_snarl = False
        frame: FrameType | None = top
        while frame is not None:
            code = frame.f_code
            entry = hidden.get(id(code))
            if entry is None:
                entry = hidden[id(code)] = (code, _is_snarl_code(code, frame))
            if entry[1]:
                if frame is top:
                    in_snarl = True
            else:
                stack.append(frame)
            frame = frame.f_back
        return stack, in_snarl

    def _call(self, frame: FrameType) -> Call | None:
        code = frame.f_code
        key = (id(code), frame.f_lasti)
        entry = self._calls.get(key)
        if entry is None:
            entry = self._calls[key] = (code, call_at(code, frame.f_lasti))
        return entry[1]

    def _in_loop(self, frame: FrameType) -> bool:
        code = frame.f_code
        entry = self._loops.get(id(code))
        if entry is None:
            entry = self._loops[id(code)] = (code, _loop_ranges(code))
        lasti = frame.f_lasti
        return any(start <= lasti <= end for start, end in entry[1])

    # -- the rule -------------------------------------------------------------------------
    def classify(self, top: FrameType | None, recorded: Any = None) -> Verdict:
        """The verdict for a thread whose innermost frame is ``top``.

        ``recorded`` is the thread's wait as snarl's observer recorded it (an object with
        ``obj``, ``kind`` and ``since``), or None; it is used only when the innermost frame is
        snarl's, since only then is the record current.
        """
        if top is None:
            return _NO_FRAME
        stack, in_snarl = self.walk(top)
        if not stack:
            return _NO_FRAME
        tb = self._tables if self._tables is not None else tables()
        calls = [self._call(f) for f in stack]
        withs: list[tuple[WithBlock, ...]] = [()] * len(stack)
        reading = read_frames(stack, calls, withs, tb, idle=idle_range(stack, tb), with_at=())
        kind, state, obj = reading.kind, reading.state, reading.obj
        since = None
        obj_id = id(obj) if obj is not None else None
        if in_snarl and recorded is not None:
            since = recorded.since
            if kind is None or kind == "unknown":
                rec_kind = recorded.kind or getattr(type(recorded.obj), "_snarl_kind", "unknown")
                kind = _TRACKED_KINDS.get(rec_kind, rec_kind)
                state = "waiting"
                obj_id = id(recorded.obj)
        index = min(reading.wait_index, len(stack) - 1)
        waiting = stack[index]
        code = waiting.f_code
        lineno = line_at(code, waiting.f_lasti) or waiting.f_lineno
        where = (code.co_filename, lineno)
        if state in NEVER_STUCK or kind is None:
            if state == "idle":
                return Verdict(state, kind, False, "idle: waiting for work", obj_id, *where)
            if state == "sleeping":
                return Verdict(state, kind, False, "sleeping", obj_id, *where)
            return _RUNNING if state == "running" else _NO_FRAME
        if kind == "io":
            return Verdict(state, kind, False, "waiting for I/O", obj_id, *where)
        if kind in SIGNAL_KINDS and not self.strict and self._parked(stack, index):
            return Verdict(
                state, kind, False, "parked: a signal wait inside a loop", obj_id, *where
            )
        if kind in THREAD_KINDS:
            reason = "waits for a thread (stuck unless it is running or sleeping)"
        elif kind in SIGNAL_KINDS:
            reason = "a signal wait outside any loop" if not self.strict else "a signal wait"
        else:
            reason = f"a {kind} wait"
        return Verdict(state, kind, True, reason, obj_id, *where, since)

    def _parked(self, stack: list[FrameType], index: int) -> bool:
        if self._in_loop(stack[index]):
            return True
        return any(
            self._in_loop(f) for f in stack[index + 1 :] if not _is_library(f.f_code.co_filename)
        )


def _loop_ranges(code: CodeType) -> tuple[tuple[int, int], ...]:
    """Offsets ``(start, end)`` of every loop body: a backward jump from ``end`` to ``start``."""
    ranges = []
    try:
        for ins in dis.get_instructions(code):
            if ins.opname == _NO_INTERRUPT:
                continue
            if ins.opcode in dis.hasjrel or ins.opcode in dis.hasjabs:
                target = ins.argval
                if type(target) is int and target < ins.offset:
                    ranges.append((target, ins.offset))
    except Exception:  # a code object dis cannot read: no loop known
        return ()
    return tuple(ranges)


def now() -> float:
    """The clock every duration of the watchdog is read from (monotonic, like snarl's records)."""
    return time.monotonic()


def recorded_wait(ident: int) -> Any:
    """The observer's record of what thread ``ident`` waits on, or None (read without a lock)."""
    observer = sys.modules.get("snarl.runtime.observer")
    if observer is None:
        return None
    return observer.OBSERVER.waits.get(ident)
