"""Static reading of a code object at one instruction, without running anything.

Two questions are answered here, both from the bytecode alone:

* ``call_at(code, lasti)``: is the instruction a call or a ``with`` entry, and which plain
  expression names its receiver (``blocker.acquire`` → ``blocker``; ``with self._lock:`` →
  ``self._lock``)?  A thread whose top frame sits on such an instruction is inside that C call.
* ``with_blocks_at(code, lasti)``: which ``with`` statements enclose the instruction.  On 3.11+
  this follows the exception table: the handler protecting an instruction is itself protected
  by the handler of the enclosing block, so the chain of handlers lists every enclosing ``with``.
  On 3.10 the block stack is rebuilt by propagating SETUP_*/POP_BLOCK along control flow.

Only *reference expressions* are reconstructed: a name (local, cell, global, builtin) followed
by attribute names.  Anything else (a call, a subscript, a conditional) gives ``None``, which
the callers report as unknown.  Results are cached per code object; the cache holds code
objects weakly where the interpreter allows it.
"""

from __future__ import annotations

import bisect
import dis
import sys
import weakref
from dataclasses import dataclass

__all__ = [
    "KNOWN_VERSIONS",
    "Call",
    "Expr",
    "WithBlock",
    "bytecode_version",
    "call_at",
    "known_bytecode",
    "line_at",
    "unknown_note",
    "with_blocks_at",
]

_PY311 = sys.version_info >= (3, 11)

KNOWN_VERSIONS = ((3, 10), (3, 11), (3, 12), (3, 13))
"""The CPython versions whose bytecode (opcodes, exception tables, inline caches) snarl reads
and is tested on.  On any other version nothing is read from bytecode: calls and ``with``
blocks are unknown, and the dump says so (:func:`unknown_note`), rather than risk a wrong fact
from an opcode whose meaning changed."""

_version = [sys.version_info[:2]]  # (a list: a test fakes an unknown version through it)


def bytecode_version() -> tuple[int, int]:
    """The CPython version whose bytecode this interpreter runs (major, minor)."""
    major, minor = _version[0]
    return major, minor


def known_bytecode() -> bool:
    """Whether this interpreter's bytecode is one snarl knows (see :data:`KNOWN_VERSIONS`)."""
    return tuple(_version[0]) in KNOWN_VERSIONS


def unknown_note() -> str | None:
    """The one-line note a dump carries when the bytecode is not read, else None."""
    if known_bytecode():
        return None
    major, minor = _version[0]
    return (
        f"bytecode not read: CPython {major}.{minor} is not one snarl knows (3.10-3.13), so "
        "locks held by with-blocks and waits read from call sites are unknown"
    )


class Expr:
    """A reference expression: ``name`` looked up in ``scope``, then ``attrs`` in order.

    ``scope`` is ``"fast"`` (a local), ``"deref"`` (a cell or free variable), ``"global"``
    (globals, then builtins) or ``"name"`` (locals, globals, builtins: module and class bodies).
    ``text`` spells it as source code would (``self._state_lock``).  Immutable by convention;
    the spelling and the receiver are computed once, since dumps ask for them per thread.
    """

    __slots__ = ("_receiver", "attrs", "name", "scope", "text")

    def __init__(self, scope: str, name: str, attrs: tuple[str, ...] = ()) -> None:
        self.scope = scope
        self.name = name
        self.attrs = attrs
        self.text = ".".join((name, *attrs))
        self._receiver: Expr | None = None

    def __repr__(self) -> str:
        return f"Expr({self.scope!r}, {self.text!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Expr) and (self.scope, self.name, self.attrs) == (
            other.scope,
            other.name,
            other.attrs,
        )

    def __hash__(self) -> int:
        return hash((self.scope, self.name, self.attrs))

    def receiver(self) -> Expr | None:
        """The expression without its last attribute (``a.b.c`` → ``a.b``), or None for a name."""
        if not self.attrs:
            return None
        if self._receiver is None:
            self._receiver = Expr(self.scope, self.name, self.attrs[:-1])
        return self._receiver


@dataclass(frozen=True, slots=True)
class Call:
    """What a frame's current instruction does: ``kind`` is ``"call"`` or ``"with"``.

    For a call, ``target`` is the callee (``time.sleep``, ``blocker.acquire``); for a ``with``
    entry it is the context manager (``blocker``), whose ``__enter__`` is being called.
    ``target`` is None when the callee is not a plain reference expression.
    """

    kind: str
    target: Expr | None


@dataclass(frozen=True, slots=True)
class WithBlock:
    """A ``with`` statement enclosing an instruction: its manager expression and its line."""

    expr: Expr | None
    lineno: int | None


# Loads whose argval is the name they push, by scope.
_NAME_LOADS = {
    "LOAD_FAST": "fast",
    "LOAD_FAST_CHECK": "fast",
    "LOAD_FAST_AND_CLEAR": "fast",
    "LOAD_DEREF": "deref",
    "LOAD_CLASSDEREF": "deref",
    "LOAD_FROM_DICT_OR_DEREF": "deref",
    "LOAD_GLOBAL": "global",
    "LOAD_NAME": "name",
    "LOAD_FROM_DICT_OR_GLOBALS": "name",
}
_ATTR_LOADS = frozenset({"LOAD_ATTR", "LOAD_METHOD"})
_CALLS = frozenset(
    {
        "CALL",
        "CALL_KW",
        "CALL_FUNCTION",
        "CALL_FUNCTION_KW",
        "CALL_METHOD",
        "CALL_FUNCTION_EX",
    }
)
_WITH_ENTRIES = frozenset({"BEFORE_WITH", "SETUP_WITH"})
# Instructions that sit between a call's arguments and the call without moving the stack
# the way their stack_effect says (3.11's PRECALL) or at all (KW_NAMES, CACHE, NOP).
_CALL_PREFIX = frozenset({"PRECALL", "KW_NAMES", "CACHE", "NOP", "EXTENDED_ARG"})


class _CodeInfo:
    """Everything derived from one code object, computed once and then only read."""

    __slots__ = (
        "_blocks",
        "_calls",
        "_depths",
        "_lines",
        "_sources",
        "_withs",
        "handlers",
        "index",
        "instrs",
        "offsets",
        "table",
    )

    def __init__(self, code: object) -> None:
        self.instrs = list(dis.get_instructions(code))  # type: ignore[arg-type]
        self.index = {ins.offset: i for i, ins in enumerate(self.instrs)}
        self.offsets = [ins.offset for ins in self.instrs]
        self._lines: dict[int, int | None] = {}
        for start, end, line in code.co_lines():  # type: ignore[attr-defined]
            for off in range(start, end, 2):
                self._lines[off] = line
        self._calls: dict[int, Call | None] = {}
        self._withs: dict[int, tuple[WithBlock, ...]] = {}
        entries = _parse_exception_table(code) if _PY311 else []
        self.table = [(start, end, target) for start, end, target, _ in entries]
        # Where an exception lands, and the stack depth it lands with (3.11+).
        self.handlers = {target: depth for _, _, target, depth in entries}
        self._depths: list[int | None] | None = None
        self._sources: dict[int, list[int]] | None = None
        self._blocks: dict[int, tuple[int, ...]] | None = None

    # ---- calls ---------------------------------------------------------------------------

    def call(self, lasti: int) -> Call | None:
        try:
            return self._calls[lasti]
        except KeyError:
            pass
        result = self._read_call(lasti)
        self._calls[lasti] = result
        return result

    def _read_call(self, lasti: int) -> Call | None:
        # Below the top of a stack, f_lasti may point into the inline caches of the CALL that
        # pushed the next frame: the instruction is the last one starting at or before it.
        i = bisect.bisect_right(self.offsets, lasti) - 1
        if i < 0:
            return None
        ins = self.instrs[i]
        if ins.opname == "PRECALL" and i + 1 < len(self.instrs):
            # 3.11: a specialized PRECALL makes a builtin call itself, parking on PRECALL.
            i += 1
            ins = self.instrs[i]
        if ins.opname in _WITH_ENTRIES:
            depth = self.depth(i)
            return Call("with", None if depth is None else self._expr_of_slot(i, depth - 1))
        if ins.opname not in _CALLS:
            return None
        start = i
        while start > 0 and self.instrs[start - 1].opname in _CALL_PREFIX:
            start -= 1
        depth = self.depth(start)
        if depth is None:
            return Call("call", None)
        # The arguments sit above the callee: the slot just below them holds the callable
        # (3.10), or the self/callable half of the callee pair (3.11+).
        slot = depth - _values_above_callee(ins) - 1
        j = self._producer(start, slot)
        if j is not None and self.instrs[j].opname == "PUSH_NULL":  # 3.13: NULL above callable
            j = self._producer(j, slot - 1)
            slot -= 1
        return Call("call", None if j is None else self._expr_from(j, slot))

    def depth(self, i: int) -> int | None:
        """Stack depth before instruction ``i`` (None where control flow gives no single depth)."""
        if self._depths is None:
            self._depths = _stack_depths(self.instrs, self.index, self.handlers)
        return self._depths[i]

    def _producer(self, i: int, slot: int) -> int | None:
        """Index of the instruction that left stack slot ``slot`` as seen before ``instrs[i]``.

        Whatever was evaluated after it (call arguments, say) sits above the slot, so the
        producer is the nearest earlier instruction after which the stack is ``slot + 1`` deep,
        passing over pure pops (a branch on a condition computed above the slot).  If a jump
        from outside that stretch lands inside it, the slot may come from elsewhere: None.
        """
        if slot < 0:
            return None
        j = i - 1
        while j >= 0:
            d = self.depth(j)
            if d is None:
                return None
            ins = self.instrs[j]
            effect = _stack_effect(ins)
            after = d + effect
            popped_only = effect < 0 and ins.opname.startswith(_POPS)
            if after <= slot + 1 and not (after == slot + 1 and popped_only):
                if after != slot + 1 or not self._straight(j, i):
                    return None
                return j
            j -= 1
        return None

    def _straight(self, j: int, i: int) -> bool:
        """True if no jump from outside instructions j..i-1 lands in j+1..i."""
        if self._sources is None:
            self._sources = _jump_sources(self.instrs, self.index)
        for k in range(j + 1, i + 1):
            for src in self._sources.get(k, ()):
                if not j <= src < i:
                    return False
        return True

    def _expr_of_slot(self, i: int, slot: int) -> Expr | None:
        j = self._producer(i, slot)
        return None if j is None else self._expr_from(j, slot)

    def _expr_from(self, j: int, slot: int) -> Expr | None:
        """The reference expression that ``instrs[j]`` leaves in ``slot``, if it is one."""
        attrs: list[str] = []
        while True:
            ins = self.instrs[j]
            name = ins.opname
            if name in _ATTR_LOADS:
                attrs.append(ins.argval)
                depth = self.depth(j)
                if depth is None:
                    return None
                slot = depth - 1  # the receiver, which the attribute load consumed
                found = self._producer(j, slot)
                if found is None:
                    return None
                j = found
                continue
            if name == "LOAD_FAST_LOAD_FAST":  # 3.13: pushes argval[0], then argval[1]
                depth = self.depth(j)
                which = 0 if depth is not None and slot == depth else 1
                return Expr("fast", ins.argval[which], tuple(reversed(attrs)))
            if name == "STORE_FAST_LOAD_FAST":  # 3.13: stores argval[0], pushes argval[1]
                return Expr("fast", ins.argval[1], tuple(reversed(attrs)))
            scope = _NAME_LOADS.get(name)
            if scope is None:
                return None
            return Expr(scope, ins.argval, tuple(reversed(attrs)))

    # ---- with blocks ---------------------------------------------------------------------

    def withs(self, lasti: int) -> tuple[WithBlock, ...]:
        try:
            return self._withs[lasti]
        except KeyError:
            pass
        offsets = self._with_offsets_311(lasti) if _PY311 else self._with_offsets_310(lasti)
        result = tuple(
            WithBlock(self._with_expr(self.index[off]), self._lines.get(off)) for off in offsets
        )
        self._withs[lasti] = result
        return result

    def _with_expr(self, i: int) -> Expr | None:
        depth = self.depth(i)
        return None if depth is None else self._expr_of_slot(i, depth - 1)

    def _covering(self, offset: int) -> int | None:
        for start, end, target in self.table:
            if start <= offset < end:
                return target
        return None

    def _with_offsets_311(self, lasti: int) -> list[int]:
        handlers: dict[int, int] = {}  # handler target -> offset of its BEFORE_WITH
        for i, ins in enumerate(self.instrs):
            if ins.opname == "BEFORE_WITH" and i + 1 < len(self.instrs):
                target = self._covering(self.instrs[i + 1].offset)
                if target is not None:
                    handlers.setdefault(target, ins.offset)
        found: list[int] = []
        seen: set[int] = set()
        target = self._covering(lasti)
        while target is not None and target not in seen:
            seen.add(target)
            if target in handlers:
                found.append(handlers[target])
            target = self._covering(target)
        found.reverse()  # outermost first
        return found

    def _with_offsets_310(self, lasti: int) -> list[int]:
        if self._blocks is None:
            self._blocks = _block_stacks_310(self.instrs, self.index)
        i = bisect.bisect_right(self.offsets, lasti) - 1
        stack = self._blocks.get(self.offsets[i], ()) if i >= 0 else ()
        return [off for off in stack if off >= 0]

    def line(self, lasti: int) -> int | None:
        return self._lines.get(lasti)


def _values_above_callee(ins: dis.Instruction) -> int:
    """How many stack values a call instruction's arguments occupy above its callee slot."""
    arg = ins.arg or 0
    if ins.opname == "CALL_FUNCTION_EX":
        return 1 + (arg & 1)
    if ins.opname in ("CALL_KW", "CALL_FUNCTION_KW"):
        return arg + 1  # the keyword-names tuple
    return arg


def _stack_effect(ins: dis.Instruction, jump: bool = False) -> int:
    if ins.opcode < dis.HAVE_ARGUMENT:
        return dis.stack_effect(ins.opcode, jump=jump)
    return dis.stack_effect(ins.opcode, ins.arg, jump=jump)


def _parse_exception_table(code: object) -> list[tuple[int, int, int, int]]:
    """(start, end, target, handler depth) from a 3.11+ ``co_exceptiontable``, in bytes.

    The handler depth is the stack depth at the target: the entry's depth, plus the saved
    ``lasti`` when the entry says so, plus the exception itself.

    The format (CPython InternalDocs, "exception_handling"): each entry is four variable-length
    integers, start, length, target and depth/lasti, in code units; each varint is big-endian
    6-bit chunks with bit 6 set on every chunk but the last, and bit 7 marks an entry's start.
    """
    data: bytes = code.co_exceptiontable  # type: ignore[attr-defined]
    entries: list[tuple[int, int, int, int]] = []
    pos = 0

    def varint() -> int:
        nonlocal pos
        byte = data[pos]
        pos += 1
        value = byte & 63
        while byte & 64:
            byte = data[pos]
            pos += 1
            value = (value << 6) | (byte & 63)
        return value

    while pos < len(data):
        start = varint() * 2
        length = varint() * 2
        target = varint() * 2
        depth_lasti = varint()
        depth = (depth_lasti >> 1) + (depth_lasti & 1) + 1
        entries.append((start, start + length, target, depth))
    return entries


_JUMPS = frozenset(dis.hasjrel) | frozenset(dis.hasjabs) | frozenset(getattr(dis, "hasjump", ()))
_UNCONDITIONAL = frozenset(
    {
        "JUMP_FORWARD",
        "JUMP_ABSOLUTE",
        "JUMP_BACKWARD",
        "JUMP_BACKWARD_NO_INTERRUPT",
        "JUMP",
        "JUMP_NO_INTERRUPT",
    }
)
_TERMINAL = frozenset({"RETURN_VALUE", "RETURN_CONST", "RAISE_VARARGS", "RERAISE"})
# Instructions that only consume: never the producer of a slot they leave on top.
_POPS = ("POP_", "STORE_", "DELETE_", "JUMP_IF_FALSE_OR_POP", "JUMP_IF_TRUE_OR_POP")


def _jump_sources(instrs: list[dis.Instruction], index: dict[int, int]) -> dict[int, list[int]]:
    """For each jump target (by instruction index), the indexes of the jumps to it."""
    sources: dict[int, list[int]] = {}
    for i, ins in enumerate(instrs):
        if ins.opcode in _JUMPS:
            target = index.get(ins.argval)
            if target is not None:
                sources.setdefault(target, []).append(i)
    return sources


def _stack_depths(
    instrs: list[dis.Instruction], index: dict[int, int], handlers: dict[int, int]
) -> list[int | None]:
    """The stack depth before each instruction, by propagating stack effects along control flow.

    The same computation the compiler does for ``co_stacksize``.  Where two paths reach an
    instruction with different depths (which valid bytecode never does), it is marked None.
    """
    depths: list[int | None] = [None] * len(instrs)
    seen = [False] * len(instrs)
    work = [(0, 0)] + [(index[t], d) for t, d in handlers.items() if t in index]
    while work:
        i, depth = work.pop()
        while i < len(instrs):
            if seen[i]:
                if depths[i] != depth:
                    depths[i] = None
                break
            seen[i] = True
            depths[i] = depth
            ins = instrs[i]
            if ins.opcode in _JUMPS:
                target = index.get(ins.argval)
                if target is not None:
                    work.append((target, depth + _stack_effect(ins, jump=True)))
                if ins.opname in _UNCONDITIONAL:
                    break
            elif ins.opname in _TERMINAL:
                break
            depth += _stack_effect(ins)
            i += 1
    return depths


def _block_stacks_310(instrs: list[dis.Instruction], index: dict[int, int]) -> dict[int, tuple]:
    """Python 3.10: the block stack at each reachable instruction, as a tuple of entries.

    A ``with`` block is its SETUP_WITH offset; other blocks are negative placeholders.  This is
    the propagation CPython 3.10 itself does for ``frame.f_lineno`` jumps (``markblocks``).
    """
    finally_block, except_block = -1, -2
    stacks: dict[int, tuple] = {}
    work: list[tuple[int, tuple]] = [(0, ())]
    while work:
        i, stack = work.pop()
        while i < len(instrs):
            ins = instrs[i]
            if ins.offset in stacks:
                break
            stacks[ins.offset] = stack
            op = ins.opname
            if op in ("SETUP_WITH", "SETUP_FINALLY", "SETUP_ASYNC_WITH"):
                handler = index.get(ins.argval)
                if handler is not None:
                    work.append((handler, (*stack, except_block)))
                stack = (*stack, ins.offset if op == "SETUP_WITH" else finally_block)
            elif op in ("POP_BLOCK", "POP_EXCEPT"):
                stack = stack[:-1]
            elif ins.opcode in _JUMPS:
                target = index.get(ins.argval)
                if target is not None:
                    work.append((target, stack))
                if op in _UNCONDITIONAL:
                    break
            elif op in _TERMINAL:
                break
            i += 1
    return stacks


# ---- cache --------------------------------------------------------------------------------

_cache: weakref.WeakKeyDictionary[object, _CodeInfo] = weakref.WeakKeyDictionary()


def _info(code: object) -> _CodeInfo:
    info = _cache.get(code)
    if info is None:
        info = _cache[code] = _CodeInfo(code)
    return info


def call_at(code: object, lasti: int) -> Call | None:
    """The call or ``with`` entry at byte offset ``lasti`` of ``code``, or None if it is
    neither (or if this interpreter's bytecode is not one snarl knows)."""
    if not known_bytecode():
        return None
    return _info(code).call(lasti)


def with_blocks_at(code: object, lasti: int) -> tuple[WithBlock, ...]:
    """The ``with`` statements enclosing offset ``lasti``, outermost first (none if this
    interpreter's bytecode is not one snarl knows)."""
    if not known_bytecode():
        return ()
    return _info(code).withs(lasti)


def line_at(code: object, lasti: int) -> int | None:
    """The source line of the instruction at ``lasti``."""
    return _info(code).line(lasti)
