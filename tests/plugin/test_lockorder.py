"""--snarl-lockorder fails the test that takes locks in an order that can deadlock."""

from __future__ import annotations

import re

from .support import line_of, output

CONFTEST = """
import threading

conf_lock = threading.Lock()  # a lock of an initial conftest, created before any test module
"""

ORDER = """
import threading

from conftest import conf_lock

lock_a = threading.Lock()  # created a
lock_b = threading.Lock()  # created b
lock_c = threading.Lock()
lock_d = threading.Lock()


def test_a_then_b():
    with lock_a:  # a first
        with lock_b:  # then b
            pass


def test_b_then_a():
    with lock_b:  # b first
        with lock_a:  # then a
            pass


def test_same_order_again():
    with lock_a:
        with lock_b:
            pass


def test_inversion_closed_by_another_thread():
    with lock_d:
        with lock_c:
            pass

    def c_then_d():
        with lock_c:
            with lock_d:  # the helper closes the cycle
                pass

    t = threading.Thread(target=c_then_d, name="helper")
    t.start()
    t.join()


def test_conftest_lock_first():
    with conf_lock:
        with lock_a:
            pass


def test_conftest_lock_second():
    with lock_a:
        with conf_lock:  # inverts the conftest's order
            pass


def test_after():
    pass
"""

IDLE = """
import signal

import snarl.sync


def test_the_plugin_is_loaded_and_idle(request):
    manager = request.config.pluginmanager
    assert any(name in ("snarl", "snarl.pytest_plugin") for name, _ in manager.list_name_plugin())
    per_test = [
        manager.hook.pytest_runtest_setup,
        manager.hook.pytest_runtest_call,
        manager.hook.pytest_runtest_teardown,
        manager.hook.pytest_runtest_makereport,
        manager.hook.pytest_runtest_protocol,
    ]
    impls = [i.plugin_name for hook in per_test for i in hook.get_hookimpls()]
    assert not [name for name in impls if "snarl" in name], impls
    assert not snarl.sync.installed()
    assert signal.getsignal(signal.SIGALRM) is signal.SIG_DFL
"""


def test_the_inverting_test_fails_with_both_sites(run, pytester):
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_order=ORDER)
    result = run("--snarl-lockorder")

    result.assert_outcomes(failed=3, passed=4)
    result.stdout.fnmatch_lines(
        [
            "*test_order.py .F.F.F.*",
            "*_ test_b_then_a _*",
            "snarl --snarl-lockorder: a lock-order inversion was recorded during call",
            "potential deadlock: lock order inversion among 2 lock classes *",
        ]
    )
    text = output(result)
    n = {m: line_of(ORDER, m) for m in ("created a", "created b", "a first", "then b")}
    n.update({m: line_of(ORDER, m) for m in ("b first", "then a", "the helper closes the cycle")})
    a = f"lock_a (created at test_order.py:{n['created a']})"
    b = f"lock_b (created at test_order.py:{n['created b']})"
    # Both orders, each with where it was taken and by whom, the earlier from another test.
    assert (
        f"  {a} acquired at test_order.py:{n['then a']} by 'MainThread' while holding {b} "
        f"(acquired at test_order.py:{n['b first']}); stack:" in text
    )
    assert (
        f"  {b} acquired at test_order.py:{n['then b']} by 'MainThread' while holding {a} "
        f"(acquired at test_order.py:{n['a first']}); stack:" in text
    )
    assert re.search(rf'File ".*test_order\.py", line {n["then b"]}, in test_a_then_b', text)
    assert not re.search(r'File ".*pluggy', text)  # the stacks stop at the runner frame
    # An inversion recorded in another thread fails the test that was running.
    result.stdout.fnmatch_lines(
        [
            "*_ test_inversion_closed_by_another_thread _*",
            "snarl --snarl-lockorder: a lock-order inversion was recorded during call",
        ]
    )
    assert f"at test_order.py:{n['the helper closes the cycle']} by 'helper' while holding" in text
    # The conftest's lock was created after the install (before the initial conftests).
    result.stdout.fnmatch_lines(["*_ test_conftest_lock_second _*"])
    assert f"at test_order.py:{line_of(ORDER, 'inverts the conftest')} by 'MainThread'" in text
    assert result.ret == 1


def test_without_options_nothing_changes(run, pytester):
    """The entry point loads the plugin into every run; without options it does nothing."""
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_order=ORDER, test_idle=IDLE)
    result = run(autoload=True)

    result.assert_outcomes(passed=8)
    mentions = [line for line in result.stdout.lines if "snarl" in line]
    assert all(line.startswith("plugins: ") for line in mentions), mentions  # the header only
    assert result.ret == 0
