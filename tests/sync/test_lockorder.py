"""The lock-order validator: inversions reported from runs that did not hang, and no others."""

from __future__ import annotations

import threading
import warnings

import pytest

import snarl
from snarl.analysis.lockorder import Inversion
from snarl.errors import LockOrderViolation, LockOrderWarning

from ..helpers import line_of
from .conftest import TIMEOUT


def run(threads, *bodies):
    """Run each body in its own thread, one after another (never concurrently)."""
    for body in bodies:
        threads.start(body).join(TIMEOUT)


def test_abba_reported_from_a_run_that_did_not_hang(reports, threads):
    lock_a = threading.Lock()
    lock_b = threading.Lock()

    def ab():
        with lock_a:  # noqa: SIM117  (two lines: two sites)
            with lock_b:  # line AB
                pass

    def ba():
        with lock_b:  # noqa: SIM117
            with lock_a:  # line BA
                pass

    run(threads, ab, ba)
    assert len(reports) == 1
    (inv,) = reports
    assert isinstance(inv, Inversion) and len(inv.edges) == 2
    closing, earlier = inv.edges
    assert (closing.from_name, closing.to_name) == ("lock_b", "lock_a")
    assert (earlier.from_name, earlier.to_name) == ("lock_a", "lock_b")
    text = inv.message()
    assert "potential deadlock" in text
    for marker in ("# line AB", "# line BA"):
        assert marker in text  # both acquisition stacks, with their source lines
    run(threads, ab, ba)
    assert len(reports) == 1  # each cycle once


@pytest.mark.parametrize("kind", ["Lock", "RLock"])
@pytest.mark.parametrize("how", ["with", "bare", "outer frame"])
def test_report_says_where_each_held_lock_was_taken(reports, threads, kind, how):
    # A bare acquire records its line; a `with` records none (the fast path), and the report
    # reads it from the with-block on the stack, in the acquiring frame or a caller.
    make = getattr(threading, kind)
    first, second = make(), make()

    def inner(lock):
        with lock:  # taken in a callee
            pass

    def ab():
        if how == "with":
            with first:  # noqa: SIM117  (held A with)
                with second:
                    pass
        elif how == "bare":
            first.acquire()  # held A bare
            with second:
                pass
            first.release()
        else:
            with first:  # held A outer
                inner(second)

    def ba():
        with second:  # noqa: SIM117  (held B)
            with first:
                pass

    run(threads, ab, ba)
    [inv] = reports
    closing, earlier = inv.edges
    marker = {"with": "(held A " + "with", "bare": "# held A " + "bare"}
    marker["outer frame"] = "# held A " + "outer"
    assert earlier.held_at == (__file__, line_of(__file__, marker[how]))
    assert closing.held_at == (__file__, line_of(__file__, "(held " + "B"))
    assert f"(acquired at test_lockorder.py:{line_of(__file__, marker[how])})" in inv.message()


def test_consistent_order_is_not_reported(reports, threads):
    locks = [threading.RLock() for _ in range(4)]

    def nested():
        with locks[0], locks[1]:  # noqa: SIM117
            with locks[2], locks[3], locks[1]:  # re-entry makes no edge
                pass
        with locks[1], locks[3]:
            pass

    run(threads, nested, nested)
    assert reports == []


def test_gate_lock_suppresses_the_report(reports, threads):
    gate = threading.Lock()
    lock_a = threading.Lock()
    lock_b = threading.Lock()

    def ab():
        with gate, lock_a, lock_b:
            pass

    def ba():
        with gate, lock_b, lock_a:
            pass

    run(threads, ab, ba)
    assert reports == []


def test_a_lock_taken_between_is_not_a_gate(reports, threads):
    """A, G, B against B, G, A can deadlock: G is not held around both orders."""
    middle = threading.Lock()
    lock_a = threading.Lock()
    lock_b = threading.Lock()

    def ab():
        with lock_a, middle, lock_b:
            pass

    def ba():
        with lock_b, middle, lock_a:
            pass

    run(threads, ab, ba)
    assert len(reports) >= 1
    names = {(e.from_name, e.to_name) for inv in reports for e in inv.edges}
    assert ("lock_a", "lock_b") in names or ("lock_a", "middle") in names


def test_gate_only_on_one_side_is_reported(reports, threads):
    gate = threading.Lock()
    lock_a = threading.Lock()
    lock_b = threading.Lock()

    def gated():
        with gate, lock_a, lock_b:
            pass

    def ungated():
        with lock_b, lock_a:
            pass

    run(threads, gated, ungated)
    assert len(reports) == 1


def test_three_lock_cycle(reports, threads):
    a, b, c = threading.Lock(), threading.Lock(), threading.Lock()

    def one(x, y):
        def body():
            with x, y:
                pass

        return body

    run(threads, one(a, b), one(b, c))
    assert reports == []
    run(threads, one(c, a))
    assert len(reports) == 1 and len(reports[0].edges) == 3


def test_condition_wait_is_not_an_inversion(reports, threads):
    outer = threading.Lock()
    cond = threading.Condition()
    ready = []

    def waiter():
        with outer, cond:
            cond.wait_for(lambda: ready, TIMEOUT)

    t = threads.start(waiter)
    while True:
        with cond:
            if cond._waiters:
                ready.append(1)
                cond.notify()
                break
    t.join(TIMEOUT)
    assert reports == []


@pytest.mark.parametrize("lock", ["Lock", "RLock", "default"])
def test_waits_leave_the_held_stack_as_they_found_it(reports, threads, lock):
    # A wait lets the Condition's lock go and takes it back; timed-out waits included, the
    # thread's held stack must end as it began, or later acquisitions see phantom edges.
    from snarl.runtime.observer import OBSERVER

    made = {"Lock": threading.Lock, "RLock": threading.RLock}.get(lock)
    cond = threading.Condition(made() if made else None)
    other = threading.Lock()

    def body():
        with cond:
            cond.wait(0)  # times out at once
            cond.wait(0.001)
        with other, cond:  # other -> cond
            pass
        assert not OBSERVER.held.get(threading.get_ident())

    run(threads, body, body)
    assert reports == []


def test_a_thread_pool_makes_no_report(reports):
    # concurrent.futures nests its shutdown lock, idle semaphore and Events consistently.
    from concurrent.futures import ThreadPoolExecutor

    for _ in range(3):
        with ThreadPoolExecutor(4) as pool:
            assert sum(pool.map(abs, range(-200, 0))) == sum(range(1, 201))
    assert reports == []


def test_same_class_locks_are_ordered_per_instance(reports, threads):
    """Two instances of one class nested both ways: no class edge, but an instance cycle
    (issue 16: per-object locks were not ordered at all)."""

    def body():
        pair = [threading.Lock() for _ in range(2)]
        with pair[0], pair[1]:
            pass
        with pair[1], pair[0]:
            pass

    run(threads, body)
    (inv,) = reports
    assert inv.per_instance and "2 locks of one class" in inv.message()
    validator = snarl.sync.patch._options["lockorder"]
    assert validator._graph.succ == {}  # no class edge


def test_warn_is_the_default(threads):
    with snarl.install(lockorder=True):
        x, y = threading.Lock(), threading.Lock()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            with x, y:
                pass
            with y, x:
                pass
    assert [w.category for w in caught] == [LockOrderWarning]
    assert caught[0].filename == __file__


def test_raise_releases_the_lock_it_refuses():
    with snarl.install(lockorder=True, report="raise"):
        x, y = threading.Lock(), threading.RLock()
        with x, y:
            pass
        with y:
            with pytest.raises(LockOrderViolation) as info:
                x.acquire()
            assert not x.locked()
            assert y._is_owned()
        assert info.value.help and isinstance(info.value.report, Inversion)
        with x:  # usable afterwards; the validator's held stack is consistent
            pass


def test_log_mode(caplog, threads):
    with snarl.install(lockorder=True, report="log"):
        x, y = threading.Lock(), threading.Lock()
        with x, y:
            pass
        with caplog.at_level("WARNING", logger="snarl.lockorder"), y, x:
            pass
    assert any("potential deadlock" in r.getMessage() for r in caplog.records)


def test_bad_report_option():
    with pytest.raises(ValueError, match="report must be"):
        snarl.install(lockorder=True, report="shout")
    snarl.uninstall()
