"""How many instructions run from a point in a code object: the weights the hooks add.

The emulation is told where execution *goes* (a jump's target, a function's start, the start
of a line) and adds the number of instructions that run from there, read from the bytecode
once per code object:

* :func:`block_weights` (``sys.monitoring``, 3.12+): from an offset along the fall-through
  path (conditional branches not taken, forward jumps followed) up to and including the next
  backward jump, return, raise or yield.
* :func:`line_weights` (``sys.settrace``, 3.10-3.11): the same, but also stopping where the
  next source line starts (its own line event counts on from there).

Instructions are those the interpreter dispatches: inline ``CACHE`` entries (3.11+) are not
instructions and are not counted.  How exact the count is, and where it is not, is described
in :mod:`snarl.interval`.
"""

from __future__ import annotations

import dis
from types import CodeType

__all__ = ["block_weights", "line_weights"]

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


def line_weights(code: CodeType) -> list[int]:
    """As :func:`block_weights`, but also stopping before the start of the next line."""
    starts = set()
    previous = None
    for start, _end, line in code.co_lines():
        if line is not None and line != previous:
            starts.add(start)
        previous = line
    return _weights(code, frozenset(starts))
