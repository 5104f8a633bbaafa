"""``snarl.threaddump.bytecode``: calls and enclosing ``with`` blocks, read from bytecode.

Two kinds of input: compiled snippets, at the offsets of their call instructions (what the
top frame of a thread parked in C has as ``f_lasti``), and real frames caught mid-call by a
probe (what every frame below the top has).
"""

from __future__ import annotations

import dis
import sys
import textwrap

import pytest

from snarl.threaddump.bytecode import Call, Expr, WithBlock, call_at, line_at, with_blocks_at

CALL_OPS = {
    "CALL",
    "CALL_KW",
    "CALL_FUNCTION",
    "CALL_FUNCTION_KW",
    "CALL_METHOD",
    "CALL_FUNCTION_EX",
}


def compiled(source: str, name: str | None = "f"):
    """The code object of function ``name`` defined by ``source`` (or the module's code)."""
    code = compile(textwrap.dedent(source), "<snippet>", "exec")
    if name is None:
        return code
    for const in code.co_consts:
        if getattr(const, "co_name", None) == name:
            return const
    raise LookupError(name)


def line_map(code) -> dict[int, int | None]:
    return {off: line for start, end, line in code.co_lines() for off in range(start, end, 2)}


def calls_on(code, relative_line: int) -> list[int]:
    """Offsets of the call instructions on a line (counted from the snippet's first line)."""
    lines = line_map(code)
    first = code.co_firstlineno
    return [
        ins.offset
        for ins in dis.get_instructions(code)
        if ins.opname in CALL_OPS and lines.get(ins.offset) == first + relative_line
    ]


def call_on(code, relative_line: int) -> Call | None:
    """call_at for the last (outermost) call on a line."""
    return call_at(code, calls_on(code, relative_line)[-1])


# ---- Expr ----------------------------------------------------------------------------------


def test_expr_text_and_receiver():
    e = Expr("fast", "self", ("_state", "lock", "acquire"))
    assert e.text == "self._state.lock.acquire"
    assert e.receiver() == Expr("fast", "self", ("_state", "lock"))
    assert e.receiver().receiver().receiver() == Expr("fast", "self")
    assert Expr("global", "sleep").receiver() is None
    assert Expr("fast", "x") != Expr("global", "x")
    assert hash(Expr("fast", "x", ("y",))) == hash(Expr("fast", "x", ("y",)))


# ---- call_at on snippets -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("blocker.acquire()", Expr("global", "blocker", ("acquire",))),
        ("time.sleep(1)", Expr("global", "time", ("sleep",))),
        ("sleep(1)", Expr("global", "sleep")),
        ("lock.acquire()", Expr("fast", "lock", ("acquire",))),
        ("self._state.lock.acquire()", Expr("fast", "self", ("_state", "lock", "acquire"))),
        ("q.get(timeout=5)", Expr("fast", "q", ("get",))),
        ("q.put(item, True, timeout=5)", Expr("fast", "q", ("put",))),
        ("fn(*args)", Expr("global", "fn")),
        ("q.get(*args, **kwargs)", Expr("fast", "q", ("get",))),
        ("lock.acquire(True, 1.5)", Expr("fast", "lock", ("acquire",))),
        ("cell.acquire()", Expr("deref", "cell", ("acquire",))),
    ],
)
def test_call_at_names_the_callee(body, expected):
    code = compiled(
        f"""
        def outer(cell):
            def f(self, lock, q, item, args, kwargs):
                cell
                {body}
            return f
        """,
        "outer",
    )
    inner = next(c for c in code.co_consts if getattr(c, "co_name", None) == "f")
    assert call_on(inner, 2) == Call("call", expected)


def test_call_at_in_module_code_uses_name_scope():
    code = compiled("blocker.acquire()\n", None)
    assert call_on(code, 0) == Call("call", Expr("name", "blocker", ("acquire",)))


def test_call_at_with_branching_arguments():
    # The callee is a plain reference; only the arguments branch (conditional, `or`).
    code = compiled(
        """
        def f(lock, q, t, items):
            time.sleep(t if t else 1)
            lock.acquire(timeout=t or -1)
            q.get(True, [x for x in items])
        """
    )
    assert call_on(code, 1) == Call("call", Expr("global", "time", ("sleep",)))
    assert call_on(code, 2) == Call("call", Expr("fast", "lock", ("acquire",)))
    assert call_on(code, 3) == Call("call", Expr("fast", "q", ("get",)))


def test_call_at_non_reference_callees_are_unknown():
    code = compiled(
        """
        def f(locks):
            get_lock().acquire()
            locks[0].acquire()
            (locks or other).acquire()
        """
    )
    for line in (1, 2, 3):
        assert call_on(code, line) == Call("call", None), line


def test_call_at_nested_calls_on_one_line():
    code = compiled(
        """
        def f(lock):
            lock.acquire(timeout=compute(limit()))
        """
    )
    offsets = calls_on(code, 1)
    targets = [call_at(code, off).target for off in offsets]
    assert targets == [
        Expr("global", "limit"),
        Expr("global", "compute"),
        Expr("fast", "lock", ("acquire",)),
    ]


def test_call_at_receiver_loaded_together_with_the_argument_before_it():
    # 3.13 loads `a, lock` with one LOAD_FAST_LOAD_FAST; the receiver is its second half.
    code = compiled(
        """
        def f(a, lock):
            log(a, lock.acquire())
        """
    )
    if sys.version_info >= (3, 13):
        assert "LOAD_FAST_LOAD_FAST" in {i.opname for i in dis.get_instructions(code)}
    inner, outer = calls_on(code, 1)
    assert call_at(code, inner) == Call("call", Expr("fast", "lock", ("acquire",)))
    assert call_at(code, outer) == Call("call", Expr("global", "log"))


def test_call_at_with_entries():
    code = compiled(
        """
        def f(lock, self):
            with lock:
                with self.a.b:
                    pass
        """
    )
    entries = [
        ins.offset
        for ins in dis.get_instructions(code)
        if ins.opname in ("BEFORE_WITH", "SETUP_WITH")
    ]
    assert [call_at(code, off) for off in entries] == [
        Call("with", Expr("fast", "lock")),
        Call("with", Expr("fast", "self", ("a", "b"))),
    ]


def test_call_at_other_instructions_are_not_calls():
    code = compiled(
        """
        def f(x):
            y = x + 1
            return y
        """
    )
    assert all(
        call_at(code, ins.offset) is None
        for ins in dis.get_instructions(code)
        if ins.opname not in CALL_OPS
    )


def test_line_at():
    code = compiled(
        """
        def f(lock):
            x = 1
            lock.acquire()
        """
    )
    [off] = calls_on(code, 2)
    assert line_at(code, off) == code.co_firstlineno + 2


# ---- real frames, caught mid-call ----------------------------------------------------------


def probe(*args, **kwargs) -> tuple[Call | None, tuple[WithBlock, ...], int]:
    """What the bytecode says of the caller's frame while it is in this call."""
    frame = sys._getframe(1)
    code, lasti = frame.f_code, frame.f_lasti
    return call_at(code, lasti), with_blocks_at(code, lasti), code.co_firstlineno


class Box:
    probe = staticmethod(probe)

    def __init__(self) -> None:
        self.inner = self


class Manager:
    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        return None


def test_call_at_on_a_live_frame():
    box = Box()
    call, _, _ = box.inner.probe(1, key=2)
    assert call == Call("call", Expr("fast", "box", ("inner", "probe")))
    call, _, _ = probe()
    assert call == Call("call", Expr("global", "probe"))


def test_call_at_on_the_frame_entering_a_with_block():
    class Reporter:
        def __enter__(self):
            frame = sys._getframe(1)
            self.call = call_at(frame.f_code, frame.f_lasti)
            return self

        def __exit__(self, *exc) -> None:
            return None

    reporter = Reporter()
    with reporter:
        pass
    assert reporter.call == Call("with", Expr("fast", "reporter"))


# ---- with_blocks_at ------------------------------------------------------------------------


def blocks_at(code, relative_line: int) -> list[tuple[str | None, int | None]]:
    """(expression text, line relative to the snippet) of each with block around a call."""
    first = code.co_firstlineno
    found = {with_blocks_at(code, off) for off in calls_on(code, relative_line)}
    assert len(found) == 1, found  # every call on the line is inside the same blocks
    return [
        (b.expr.text if b.expr else None, b.lineno - first if b.lineno else None)
        for b in found.pop()
    ]


def test_with_blocks_nested():
    code = compiled(
        """
        def f(a, b):
            before()
            with a:
                with b.c:
                    inside()
                between()
            after()
        """
    )
    assert blocks_at(code, 1) == []
    assert blocks_at(code, 4) == [("a", 2), ("b.c", 3)]
    assert blocks_at(code, 5) == [("a", 2)]
    assert blocks_at(code, 6) == []


def test_with_blocks_several_managers_on_one_line():
    code = compiled(
        """
        def f(a, b):
            with a, b:
                inside()
        """
    )
    assert blocks_at(code, 2) == [("a", 1), ("b", 1)]


def test_with_blocks_try_except_finally_inside():
    code = compiled(
        """
        def f(lock):
            with lock:
                try:
                    body()
                except ValueError:
                    handler()
                else:
                    otherwise()
                finally:
                    cleanup()
                tail()
            out()
        """
    )
    for line in (3, 5, 7, 9, 10):  # cleanup() is compiled twice: normal and exceptional exit
        assert blocks_at(code, line) == [("lock", 1)], line
    assert blocks_at(code, 11) == []


def test_with_blocks_return_and_loops_inside():
    code = compiled(
        """
        def f(lock, items):
            for item in items:
                with lock:
                    if item is None:
                        continue
                    if item == 0:
                        return early(item)
                    process(item)
                    if item == 1:
                        break
                between()
            return late()
        """
    )
    assert blocks_at(code, 6) == [("lock", 2)]
    assert blocks_at(code, 7) == [("lock", 2)]
    assert blocks_at(code, 10) == []
    assert blocks_at(code, 11) == []


def test_with_blocks_inside_an_except_handler():
    code = compiled(
        """
        def f(lock):
            try:
                risky()
            except Exception:
                with lock:
                    recover()
            done()
        """
    )
    assert blocks_at(code, 2) == []
    assert blocks_at(code, 5) == [("lock", 4)]
    assert blocks_at(code, 6) == []


def test_with_block_on_a_call_has_no_expression():
    code = compiled(
        """
        def f(path, lock):
            with open(path) as fh:
                with lock:
                    read(fh)
        """
    )
    assert blocks_at(code, 3) == [(None, 1), ("lock", 2)]


def test_with_block_after_an_as_target_on_the_same_line():
    # 3.13 stores `fh` and loads `lock` with one STORE_FAST_LOAD_FAST instruction.
    code = compiled(
        """
        def f(path, lock):
            with open(path) as fh, lock:
                read(fh)
        """
    )
    assert blocks_at(code, 2) == [(None, 1), ("lock", 1)]


def test_call_after_an_assignment_on_the_same_line():
    code = compiled(
        """
        def f(lock, value):
            held = value; lock.acquire()
        """
    )
    assert call_on(code, 1) == Call("call", Expr("fast", "lock", ("acquire",)))


def test_with_blocks_on_live_frames():
    a, b = Manager(), Manager()

    def nested():
        with a:  # noqa: SIM117 (two blocks on two lines)
            with b:
                return probe()  # read while this frame is in the call

    _, blocks, first = nested()
    assert [(blk.expr, blk.lineno - first) for blk in blocks] == [
        (Expr("deref", "a"), 1),
        (Expr("deref", "b"), 2),
    ]


def test_with_blocks_in_an_except_handler_inside_with_on_a_live_frame():
    lock = Manager()

    def handler():
        with lock:
            try:
                raise ValueError
            except ValueError:
                return probe()

    _, blocks, first = handler()
    assert [(blk.expr, blk.lineno - first) for blk in blocks] == [(Expr("deref", "lock"), 1)]


def test_with_block_is_a_dataclass_of_expr_and_line():
    block = WithBlock(Expr("fast", "x"), 3)
    assert (block.expr.text, block.lineno) == ("x", 3)
