"""The rewrite keeps the program's meaning: evaluation order, single evaluation, scopes."""

from __future__ import annotations

import ast
import textwrap

from snarl.race import rewrite
from snarl.race.sites import SITES


def run(src: str) -> dict:
    src = textwrap.dedent(src)
    code = rewrite.compile_source(src, "<rewrite-test>")
    ns: dict = {"__name__": "rewrite_test"}
    exec(code, ns)
    return ns


def test_keys_with_side_effects_are_evaluated_once_in_order():
    ns = run(
        """
        order = []
        def k(x):
            order.append(x)
            return x
        d = {}
        d[k("key")] = k("value")
        got = d[k("key")]
        lst = [0, 1, 2]
        lst[k(1)] += k(10)
        """
    )
    assert ns["order"] == ["value", "key", "key", 1, 10]
    assert ns["d"] == {"key": "value"} and ns["got"] == "value"
    assert ns["lst"] == [0, 11, 2]


def test_docstring_future_class_body_and_comprehensions_survive():
    ns = run(
        '''
        """The module's docstring."""
        from __future__ import annotations
        class K:
            """K's docstring."""
            items = [1, 2, 3]
            doubled = [i * 2 for i in items]
            def f(self):
                """f's docstring."""
                return {k: v for k, v in zip(self.items, self.doubled) if k in self.items}
        total = 0
        for i in range(3):
            total = total + i
        result = K().f()
        '''
    )
    assert ns["__doc__"] == "The module's docstring."
    assert ns["K"].__doc__ == "K's docstring." and ns["K"].f.__doc__ == "f's docstring."
    assert ns["result"] == {1: 2, 2: 4, 3: 6}
    assert ns["total"] == 3


def test_nonlocal_cells_and_globals_keep_working():
    ns = run(
        """
        count = 0
        def outer():
            n = 0
            def inc():
                nonlocal n
                n += 1
                global count
                count += 1
            inc(); inc()
            return n
        result = outer()
        """
    )
    assert ns["result"] == 2 and ns["count"] == 2


def test_sites_name_the_access_as_the_code_does():
    src = "def f(self, cache, key):\n    self.balance += 1\n    return cache[key]\n"
    before = len(SITES)
    rewrite.rewrite(ast.parse(src), src, "bank.py")
    texts = {(s.text, s.kind, s.write) for s in SITES[before:]}
    assert ("self.balance", "attribute", True) in texts
    assert ("cache[key]", "item", False) in texts


def test_ignore_comment_marks_the_site():
    src = "def f(o):\n    o.x = 1  # snarl: ignore-race\n    o.y = 2\n"
    before = len(SITES)
    rewrite.rewrite(ast.parse(src), src, "m.py")
    flags = {s.text: s.ignored for s in SITES[before:]}
    assert flags == {"o.x": True, "o.y": False}


def test_locals_are_not_checked():
    src = "def f(a):\n    b = a + 1\n    return b\n"
    before = len(SITES)
    rewrite.rewrite(ast.parse(src), src, "m.py")
    assert SITES[before:] == []


def _hooks_for(src: str) -> str:
    return ast.unparse(rewrite.rewrite(ast.parse(src), src, "m.py"))


def test_a_container_that_never_leaves_its_frame_is_not_checked_one_that_does_is():
    kept = _hooks_for("def f(n):\n    d = {}\n    d['k'] = n\n    return len(d)\n")
    assert "_snarl_wi" not in kept and "_snarl_rs" not in kept
    for escape in (
        "    t = Thread(target=g, args=(d,))\n",  # passed to another thread
        "    self.d = d\n",  # stored where others can reach it
        "    def g():\n        d['x'] = 1\n",  # captured by a closure
        "    return d\n",  # returned
    ):
        src = "def f(self, n, Thread, g):\n    d = {}\n" + escape + "    d['k'] = n\n"
        assert "_snarl_wi(d, 'k'" in _hooks_for(src), escape


def test_a_second_check_is_left_out_only_without_a_call_between():
    same = _hooks_for("def f(o):\n    o.x = o.x + 1\n    o.y = o.x\n")
    assert same.count("_snarl_ra(o, 'x'") == 0 and same.count("_snarl_wa(o, 'x'") == 1
    split = _hooks_for("def f(o, lock):\n    o.x = 1\n    lock.release()\n    y = o.x\n")
    assert split.count("_snarl_ra(o, 'x'") == 1  # a call may synchronise: checked again
