"""What a thread waits on, read from its frames alone: no instrumentation needed.

Two sources of evidence, combined innermost-out:

1. The top frame's current instruction.  A thread parked in C sits on a call (or a ``with``
   entry); :mod:`snarl.threaddump.bytecode` names the callee (``blocker.acquire``, ``time.sleep``)
   and :mod:`snarl.threaddump.safe` resolves it without running code.  Known blocking callables
   classify the wait: lock and RLock acquire, ``time.sleep``, ``SimpleQueue.get``, select and
   socket calls, and so on.
2. Standard-library wait frames below it, matched by code object identity: ``Condition.wait``,
   ``Event.wait``, ``Semaphore.acquire``, ``Barrier.wait``, ``Queue.get/put/join``,
   ``Thread.join`` and ``concurrent.futures`` waits.  Each frame's ``self`` is the object, and
   the outermost frame of an unbroken chain gives the wait its kind (``Queue.get`` over
   ``Condition.wait`` over ``waiter.acquire`` is a queue-get on that Queue).

The first frame outside the chain is *the waiting line*; its call expression names the object
the way the user's code does (``jobs.get`` → ``jobs``).

Only modules already imported are consulted: a dump never imports anything.
"""

from __future__ import annotations

import os
import types
from dataclasses import dataclass
from types import FrameType
from typing import Any

from .bytecode import Call, Expr, WithBlock
from .safe import UNKNOWN, get_attr, mro, resolve
from .waittables import LOCK_KINDS, Tables, tables

__all__ = [
    "LOCK_KINDS",
    "Reading",
    "idle_range",
    "local",
    "read_frames",
    "tables",
    "with_line",
    "work_item_future",
]

# Method names that make an unresolvable call look like a wait (kind "unknown").
_WAITISH = frozenset({"acquire", "wait", "wait_for", "get", "put", "join", "result", "__enter__"})


@dataclass(slots=True)
class Held:
    """A lock-like object a frame holds by being inside ``with expr:``."""

    obj: Any
    name: str
    frame_index: int
    lineno: int | None


class Reading:
    """What one thread's frames say.  Objects are live references; the caller drops them.

    A plain slotted class, not a dataclass: one is made per thread per snapshot, and a plain
    ``__init__`` is the cheapest way to build it.
    """

    __slots__ = (
        "call",
        "held",
        "in_call",
        "kind",
        "name",
        "obj",
        "released",
        "state",
        "tracked_object",
        "tracked_wait",
        "wait_index",
    )

    def __init__(self, state: str = "running") -> None:
        self.state = state
        self.kind: str | None = None
        self.obj: Any = None  # the awaited object, or None when unknown
        self.name: str | None = None  # how the waiting code names it
        self.call: str | None = None  # the blocking call as spelled: "blocker.acquire"
        self.wait_index = 0  # index (innermost first) of the waiting line's frame
        self.held: list[Held] = []
        self.released: Any = None  # the Condition whose wait() let go of its lock, if any
        self.in_call: str | None = None  # an unclassified C call the thread is in
        self.tracked_object: Any = None  # ObjectInfo from snarl's records
        self.tracked_wait: Any = None  # the recorded wait that supplied it


# ---- reading one thread ---------------------------------------------------------------------

_SELF = Expr("fast", "self")


def with_line(lock: Any, frame: FrameType | None) -> tuple[str, int | None] | None:
    """Where ``lock`` was entered: the innermost ``with`` statement, in ``frame`` or a caller,
    whose manager is ``lock`` or an object built on it (a Condition's ``_lock``); else None.

    For locks whose uncontended ``with`` records no site (snarl's); like a dump, it reads the
    frames without running user code.
    """
    from .bytecode import with_blocks_at

    stack: list[FrameType] = []
    while frame is not None:
        stack.append(frame)
        frame = frame.f_back
    frames = _Frames(stack)
    for index, f in enumerate(stack):
        for block in reversed(with_blocks_at(f.f_code, f.f_lasti)):
            obj = frames.eval(index, block.expr)
            if obj is lock or (obj is not UNKNOWN and get_attr(obj, "_lock") is lock):
                return f.f_code.co_filename, block.lineno
    return None


class _Frames:
    """One thread's stack with each frame's locals read at most once."""

    __slots__ = ("_locals", "stack")

    def __init__(self, stack: list[FrameType]) -> None:
        self.stack = stack
        self._locals: dict[int, Any] = {}

    def eval(self, index: int, expr: Expr | None) -> Any:
        if expr is None:
            return UNKNOWN
        frame = self.stack[index]
        if expr.scope == "global":
            return resolve(expr, None, frame.f_globals, frame.f_builtins)
        loc = self._locals.get(index)
        if loc is None:
            try:
                loc = frame.f_locals
            except Exception:  # a frame being torn down
                loc = {}
            self._locals[index] = loc
        return resolve(expr, loc, frame.f_globals, frame.f_builtins)


def _classify_call(
    tb: Tables, frames: _Frames, index: int, call: Call
) -> tuple[str | None, Any, Expr | None, bool]:
    """(kind, object, object expression, unreadable) for the C call a frame is in.

    ``kind`` is None when the call is not a known wait; ``unreadable`` says the callee could
    not be read without running code (so a wait-like name means an ``unknown`` wait).
    """
    target = call.target
    if call.kind == "with":
        obj = frames.eval(index, target)
        return _method_kind(tb, obj, "__enter__"), obj, target, obj is UNKNOWN
    if target is None:
        return None, UNKNOWN, None, True
    if not target.attrs:
        fn = frames.eval(index, target)
        kind, obj = _callable_kind(tb, fn)
        return kind, obj, None, fn is UNKNOWN
    receiver_expr = target.receiver()
    receiver = frames.eval(index, receiver_expr)
    if receiver is UNKNOWN:
        return None, UNKNOWN, receiver_expr, True
    method = target.attrs[-1]
    kind = _method_kind(tb, receiver, method)
    if kind is not None:
        return kind, receiver, receiver_expr, False
    fn = get_attr(receiver, method)  # a module function (time.sleep), or a stored bound method
    if fn is UNKNOWN:
        return None, receiver, receiver_expr, True
    kind, obj = _callable_kind(tb, fn)
    if obj is UNKNOWN:
        return kind, UNKNOWN, None, False
    return kind, obj, None, False


_BuiltinMethod = types.BuiltinMethodType
_builtin_self = _BuiltinMethod.__dict__["__self__"].__get__
_builtin_name = _BuiltinMethod.__dict__["__name__"].__get__


def _callable_kind(tb: Tables, fn: Any) -> tuple[str | None, Any]:
    """The wait a C callable performs: a known function, or a bound method of a known type."""
    if fn is UNKNOWN:
        return None, UNKNOWN
    kind = tb.c_funcs.get(id(fn))
    if kind is not None:
        return kind, UNKNOWN
    if type(fn) is _BuiltinMethod:  # `acquire = lock.acquire; acquire()`, Thread(target=...)
        owner = _builtin_self(fn)
        if owner is not None and type(owner) is not types.ModuleType:
            kind = _method_kind(tb, owner, _builtin_name(fn))
            if kind is not None:
                return kind, owner
    return None, UNKNOWN


def _method_kind(tb: Tables, obj: Any, method: str) -> str | None:
    if obj is UNKNOWN:
        return None
    methods = tb.c_methods.get(type(obj))
    if methods is None:
        for klass in mro(type(obj))[1:]:
            methods = tb.c_methods.get(klass)
            if methods is not None:
                break
        else:
            return None
    return methods.get(method)


def read_frames(
    stack: list[FrameType],
    calls: list[Call | None],
    withs: list[tuple[WithBlock, ...]],
    tb: Tables,
    *,
    waits: bool = True,
    idle: tuple[int, int] = (1, 0),
    with_at: tuple[int, ...] | None = None,
) -> Reading:
    """Read one thread's stack (innermost frame first) into a :class:`Reading`.

    ``calls[i]`` is the call at ``stack[i]``'s current instruction and ``withs[i]`` the
    ``with`` blocks enclosing it (from :mod:`snarl.threaddump.bytecode`).  ``idle`` is the
    range of waiting-line indexes that count as waiting for work (:func:`idle_range`), and
    ``with_at`` the indexes of the frames inside any ``with`` block (all frames if None).
    With ``waits=False`` only the held locks are read (for the thread taking the snapshot).
    """
    reading = Reading()
    if not stack:
        reading.state = "unknown"
        return reading
    frames = _Frames(stack)
    if waits:
        _read_wait(reading, frames, calls, tb, idle)
    # Locks held by being inside `with` blocks, in every frame.
    lock_types = tb.lock_types
    conditions = tb.conditions
    # Frames of the standard-library wait chain are skipped: their `with self._cond:` holds
    # the very lock that Condition.wait has released.
    for index in with_at if with_at is not None else range(len(withs)):
        if index < reading.wait_index:
            continue
        blocks = withs[index]
        for block in blocks:
            if block.expr is None:
                continue
            value = frames.eval(index, block.expr)
            if value is not UNKNOWN and (type(value) in lock_types or type(value) in conditions):
                reading.held.append(Held(value, block.expr.text, index, block.lineno))
    return reading


def _read_wait(
    reading: Reading,
    frames: _Frames,
    calls: list[Call | None],
    tb: Tables,
    idle: tuple[int, int],
) -> None:
    stack = frames.stack
    call = calls[0]
    if call is None:
        return
    kind, obj, expr, unreadable = _classify_call(tb, frames, 0, call)
    spelled = call.target.text if call.target is not None else "?"
    reading.call = f"with {spelled}" if call.kind == "with" else spelled
    if kind is None:
        target = call.target
        method = (
            "__enter__"
            if call.kind == "with"
            else target.attrs[-1]
            if target and target.attrs
            else None
        )
        if method not in _WAITISH or not unreadable:
            reading.in_call, reading.call = reading.call, None
            return
        kind = "unknown"  # looks like a wait, on something that cannot be read safely
    chain_index = 0
    rule = tb.frames.get(id(stack[0].f_code))
    if rule is not None and kind in rule.via:
        # Walk outward over standard-library wait frames; the outermost names the kind.
        kind, obj = rule.kind, frames.eval(0, _SELF)
        if kind == "condition" and obj is not UNKNOWN:
            reading.released = obj
        index = 1
        while index < len(stack):
            rule = tb.frames.get(id(stack[index].f_code))
            if rule is None or id(stack[index - 1].f_code) not in rule.inner:
                break
            kind, obj = rule.kind, frames.eval(index, _SELF)
            index += 1
        chain_index = index
        expr = None
    reading.kind = kind
    reading.obj = None if obj is UNKNOWN else obj
    reading.wait_index = chain_index
    reading.state = "sleeping" if kind == "sleep" else "waiting"
    if chain_index and chain_index < len(stack):
        # Name the object the way the waiting line does: `jobs.get(...)` → `jobs`.
        ucall = calls[chain_index]
        if ucall is not None and ucall.target is not None:
            uexpr = ucall.target if ucall.kind == "with" else ucall.target.receiver()
            if uexpr is not None and (
                reading.obj is None or frames.eval(chain_index, uexpr) is reading.obj
            ):
                expr = uexpr
            reading.call = ("with " if ucall.kind == "with" else "") + ucall.target.text
    if expr is not None:
        reading.name = expr.text
    if kind == "queue-get" or (
        kind in ("io", "event", "condition") and idle[0] <= chain_index <= idle[1]
    ):
        reading.state = "idle"


_STDLIB = os.path.dirname(os.__file__) + os.sep
_SITE = os.sep + "site-packages" + os.sep


def idle_range(stack: list[FrameType], tb: Tables) -> tuple[int, int]:
    """Frames whose wait is a wait for work: ``(first, last)`` indexes, or ``(1, 0)`` for none.

    ``last`` is a known idle loop (a pool worker, an event loop, a socket server); ``first`` is
    how far in the waiting line may be and still be that loop's own wait: only standard-library
    frames may lie between, so a pool thread blocked inside a task's code is not idle.
    """
    loops = tb.idle_loops
    for last in range(len(stack) - 1, -1, -1):
        if id(stack[last].f_code) in loops:
            break
    else:
        return (1, 0)
    first = last
    while first > 0:
        code = stack[first - 1].f_code
        filename = code.co_filename
        if not filename.startswith(_STDLIB) or _SITE in filename or code is tb.work_item_run:
            break
        first -= 1
    return (first, last)


def work_item_future(tb: Tables, stack: list[FrameType]) -> Any:
    """The Future a ThreadPoolExecutor worker is running, if this stack is running one."""
    run = tb.work_item_run
    if run is None:
        return UNKNOWN
    for index, frame in enumerate(stack):
        if frame.f_code is run:
            item = _Frames(stack).eval(index, _SELF)
            return get_attr(item, "future") if item is not UNKNOWN else UNKNOWN
    return UNKNOWN


def local(stack: list[FrameType], index: int, name: str) -> Any:
    """The local variable ``name`` of ``stack[index]``, read without running code (UNKNOWN
    when it cannot be read)."""
    return _Frames(stack).eval(index, Expr("fast", name))
