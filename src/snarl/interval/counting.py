"""How many instructions run from a point in a code object: the weights the hooks add.

The emulation is told where execution *goes* (a jump's target, a function's start, the start
of a line) and adds the number of instructions that run from there, read from the bytecode
once per code object:

* :func:`block_weights` (``sys.monitoring``, 3.12+): from an offset along the fall-through
  path (conditional branches not taken, forward jumps followed) up to and including the next
  backward jump, return, raise or yield.
* :func:`event_weights` (``sys.monitoring``, 3.12+): :func:`block_weights` re-indexed by
  where an event *fires*, so the hook needs no comparison: at a backward jump, the weight of
  its target; at a forward jump, None (its weight is folded into the path that reaches it,
  and the hook disables its event); elsewhere (``PY_START``, ``PY_RESUME``) its own weight.
* :func:`line_weights` (``sys.settrace``, 3.10-3.11): the same, but also stopping where the
  next source line starts (its own line event counts on from there).

Instructions are those the interpreter dispatches: inline ``CACHE`` entries (3.11+) are not
instructions and are not counted.  How exact the count is, and where it is not, is described
in :mod:`snarl.interval`.
"""

from __future__ import annotations

import dis
from types import CodeType

__all__ = ["block_weights", "event_weights", "line_weights"]

# Unconditional transfers: execution never falls through them.
_STOPS = frozenset(
    name
    for name in (
        "JUMP_FORWARD",
        "JUMP_BACKWARD",
        "JUMP_BACKWARD_NO_INTERRUPT",
        "JUMP_ABSOLUTE",
        "JUMP",
        "JUMP_NO_INTERRUPT",
        "RETURN_VALUE",
        "RETURN_CONST",
        "RETURN_GENERATOR",
        "RAISE_VARARGS",
        "RERAISE",
        "YIELD_VALUE",
    )
    if name in dis.opmap
)


# The instructions that fire sys.monitoring's JUMP event (unconditional jumps).
_JUMPS = frozenset(
    n for n in ("JUMP_FORWARD", "JUMP_BACKWARD", "JUMP_BACKWARD_NO_INTERRUPT") if n in dis.opmap
)

_FORWARD = frozenset(n for n in ("JUMP_FORWARD", "JUMP_ABSOLUTE", "JUMP") if n in dis.opmap)


def _weights(code: CodeType, boundaries: frozenset[int]) -> list[int]:
    """Weights indexed by ``offset // 2`` (0 where no instruction starts).

    An unconditional *forward* jump is followed: its target's weight is added to its own
    (unless the target starts a line, when the line's own event counts it), so the hooks need
    no event for it.
    """
    instrs = [i for i in dis.get_instructions(code) if i.opname != "CACHE"]
    weights = [0] * (len(code.co_code) // 2 + 1)
    following = 0  # instructions from the next instruction on (0 after a stop or a boundary)
    for i in range(len(instrs) - 1, -1, -1):
        ins = instrs[i]
        target = ins.argval
        if (
            ins.opname in _FORWARD
            and isinstance(target, int)
            and target > ins.offset
            and target // 2 < len(weights)
        ):
            count = 1 + (0 if target in boundaries else weights[target // 2])
        elif ins.opname in _STOPS:
            count = 1
        else:
            count = 1 + following
        weights[ins.offset // 2] = count
        following = 0 if ins.offset in boundaries else count
    return weights


def block_weights(code: CodeType) -> list[int]:
    """Instructions run from each offset to the next unconditional transfer (inclusive)."""
    return _weights(code, frozenset())


def event_weights(code: CodeType) -> list[int | None]:
    """:func:`block_weights` indexed by the offset of the instruction whose event fires: a
    ``JUMP`` event at a backward jump finds its target's weight at the jump's own offset, a
    forward jump finds None.  (``sys.monitoring`` reports a jump at the jump instruction, not
    at an ``EXTENDED_ARG`` before it.)"""
    weights: list[int | None] = list(block_weights(code))
    for ins in dis.get_instructions(code):
        if ins.opname in _JUMPS and isinstance(ins.argval, int):
            target = ins.argval
            if target > ins.offset:
                weights[ins.offset // 2] = None
            elif target // 2 < len(weights):
                weights[ins.offset // 2] = weights[target // 2]
    return weights


def line_weights(code: CodeType) -> list[int]:
    """As :func:`block_weights`, but also stopping before the start of the next line."""
    starts = set()
    previous = None
    for start, _end, line in code.co_lines():
        if line is not None and line != previous:
            starts.add(start)
        previous = line
    return _weights(code, frozenset(starts))
