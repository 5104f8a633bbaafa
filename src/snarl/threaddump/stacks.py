"""Every thread's stack, walked once: snarl's own frames left out, each frame's line, call and
with-blocks read from the bytecode (cached per code and instruction, so a pool of identical
stacks costs one lookup), and the walk made consistent.

A consistent walk
-----------------
:func:`snarl.frames.held_frames` gives each thread's innermost frame; the walk from it outward
runs later, in Python, and the interpreter may switch threads in between.  A thread that ran
meanwhile may have returned from the frame it was given, and its caller moved on: the walk
would show a frame above a line that no longer calls it (a torn stack).  So after the walks
every thread's innermost frame is read again (:func:`steady_walks`), and a thread whose
innermost frame or instruction changed is walked again from its new one.  The instruction of
each frame is the one read during the walk: the lines, calls and with-blocks are all taken
from that same instant.
"""

from __future__ import annotations

import linecache
import sys
from types import FrameType
from typing import Any, NamedTuple

from .. import frames as _frames
from .bytecode import Call, WithBlock, call_at, line_at, with_blocks_at
from .model import FrameInfo
from .reprs import Reprs
from .waits import idle_range

__all__ = ["Statics", "Walk", "is_snarl_frame", "steady_walks", "walk"]

_ROUNDS = 3  # re-walks of a thread that keeps moving, before its last walk is kept


def is_snarl_frame(frame: FrameType) -> bool:
    """A frame of snarl's own modules (not of a script snarl runs, such as a bundled example)."""
    name = frame.f_globals.get("__name__")
    return type(name) is str and (name == "snarl" or name.startswith("snarl."))


Walk = tuple[list[FrameType], list[int], FrameType, int]
"""One thread's walked stack: its frames (innermost first), the stack's signature (code id,
instruction offset per frame), the innermost frame the walk started from, and that frame's
instruction when it was walked.  (A plain tuple: a dump makes one per thread.)"""


def walk(top: FrameType, hidden: dict[int, bool]) -> Walk:
    """The frames from ``top`` outward, and the stack's signature: (code id, offset) per frame.

    snarl's own frames are left out (``hidden`` caches that per code): a thread waiting in a
    tracked Lock shows the line of user code that waits, as it would without snarl.
    """
    stack: list[FrameType] = []
    key: list[int] = []
    push, sign, is_hidden = stack.append, key.append, hidden.get  # the dump's hottest loop
    frame: FrameType | None = top
    while frame is not None:
        cid = id(frame.f_code)
        skip = is_hidden(cid)
        if skip is None:
            skip = hidden[cid] = is_snarl_frame(frame)
        if not skip:
            push(frame)
            sign(cid)
            sign(frame.f_lasti)
        frame = frame.f_back
    return (stack, key, top, top.f_lasti)


def steady_walks(
    walks: dict[int, Walk], hidden: dict[int, bool], current: int
) -> dict[int, FrameType]:
    """Walk again every thread that moved while the stacks were walked (see the module
    docstring); ``walks`` is updated in place.  Returns the innermost frames the kept walks
    started from (a thread that has ended meanwhile keeps its walk: it is listed as it was)."""
    tops = {ident: w[2] for ident, w in walks.items()}
    if _frames.gil_off():  # the other threads are parked while the reader reads: none moved
        return tops
    for _ in range(_ROUNDS):
        now = _frames.current_frames()  # (only this thread's while subinterpreters run)
        # This thread's own frame would make a cycle (frame -> `now` -> frame) that keeps
        # every stack alive until the garbage collector runs: drop it at once.
        now.pop(current, None)
        moved = [
            (ident, frame)
            for ident, w in walks.items()
            if (frame := now.get(ident)) is not None
            and (frame is not w[2] or frame.f_lasti != w[3])
        ]
        del now
        for ident, frame in moved:
            walks[ident] = walk(frame, hidden)
            tops[ident] = frame
        if not moved:
            break
        del moved
    return tops


_qualname_attr = "co_qualname" if sys.version_info >= (3, 11) else "co_name"


class Statics:
    """Per-snapshot caches of what the bytecode says, so identical stacks cost one lookup.

    A stack's signature is the (code id, instruction) of each frame; threads parked at the same
    place (a pool) share one tuple of FrameInfo and one list of calls and with-blocks.  Ids are
    stable here because every frame stays alive until the snapshot is done.
    """

    __slots__ = ("frames", "reprs", "stacks", "tables", "with_locals")

    def __init__(self, with_locals: bool, tables: Any, reprs: Reprs | None = None) -> None:
        self.reprs = reprs
        self.tables = tables
        self.frames: dict[tuple[int, int], tuple[FrameInfo, Call | None, tuple[WithBlock, ...]]]
        self.frames = {}
        self.stacks: dict[tuple[int, ...], Static] = {}
        self.with_locals = with_locals

    def read(self, stack: list[FrameType], key: tuple[int, ...]) -> Static:
        static = self.stacks.get(key)
        if static is None:
            static = self.stacks[key] = self._build(stack, key)
        if self.with_locals:
            infos = tuple(
                info._replace(locals=_locals_of(frame, self.reprs))
                for info, frame in zip(static.infos, stack, strict=True)
            )
            static = static._replace(infos=infos)
        return static

    def _build(self, stack: list[FrameType], signature: tuple[int, ...]) -> Static:
        infos, calls, withs = [], [], []
        for i, frame in enumerate(stack):
            code = frame.f_code
            lasti = signature[2 * i + 1]  # the instruction the walk saw, not a later one
            key = (id(code), lasti)
            found = self.frames.get(key)
            if found is None:
                lineno = line_at(code, lasti)
                if lineno is None:
                    lineno = frame.f_lineno
                found = self.frames[key] = (
                    _frame_info(code, lineno),
                    call_at(code, lasti),
                    with_blocks_at(code, lasti),
                )
            infos.append(found[0])
            calls.append(found[1])
            withs.append(found[2])
        with_at = tuple(i for i, blocks in enumerate(withs) if blocks)
        return Static(tuple(infos), calls, withs, idle_range(stack, self.tables), with_at)


class Static(NamedTuple):
    infos: tuple[FrameInfo, ...]
    calls: list[Call | None]
    withs: list[tuple[WithBlock, ...]]
    idle: tuple[int, int]
    with_at: tuple[int, ...]


def _frame_info(code: Any, lineno: int | None) -> FrameInfo:
    filename = code.co_filename
    source = linecache.getline(filename, lineno).strip() if lineno else ""
    return FrameInfo(filename, lineno, getattr(code, _qualname_attr), source)


def _locals_of(frame: FrameType, reprs: Any) -> tuple[tuple[str, str], ...]:
    try:
        items = list(frame.f_locals.items())
    except Exception:
        return ()
    # Names are the code's own (str); values are shown by the bounded, abandonable reprs.
    return tuple((name if type(name) is str else "?", reprs(value)) for name, value in items)
