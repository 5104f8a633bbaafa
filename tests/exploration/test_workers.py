"""Managed threads on kept OS threads (3.10-3.12; see ``snarl.runtime.workers``): each one
starts as a new OS thread would, and the OS threads are really reused (else these tests
would prove nothing)."""

from __future__ import annotations

import _thread
import contextvars
import sys
import threading
import time

import pytest

from snarl.exploration.runner import explore
from snarl.runtime.workers import available

pytestmark = pytest.mark.skipif(
    not available(), reason="3.13 and free-threaded builds start every managed thread anew"
)

VAR: contextvars.ContextVar[int] = contextvars.ContextVar("VAR")


def _one_after_another(first, second) -> list[int]:
    """Run ``first`` then ``second`` in two threads, one after the other; their idents."""
    idents = []

    def run(fn):
        idents.append(threading.get_ident())
        fn()

    for fn in (first, second):
        t = threading.Thread(target=run, args=(fn,))
        t.start()
        t.join()
    return idents


def _explore_reusing(test) -> None:
    """Explore ``test`` (which returns the idents of its threads); fail on any failure, and
    unless some execution ran two of its threads on one OS thread."""
    reused = []

    def wrapped():
        idents = test()
        reused.append(len(set(idents)) < len(idents))

    result = explore(wrapped, schedules=30, shrink=False)
    assert result.failure is None, result.failure.report
    assert any(reused), "no OS thread was reused: the test would prove nothing"


def test_thread_locals_do_not_carry_over():
    # Made before the exploration, but not kept in this module: one kept here for good would
    # make 3.13 give every later exploration a new thread 0 (see test_execution).
    local = threading.local()

    def first():
        local.value = "first"

    def second():
        assert not hasattr(local, "value"), local.value

    _explore_reusing(lambda: _one_after_another(first, second))


def test_thread_locals_made_in_the_execution_do_not_carry_over():
    def test():
        local = threading.local()

        def first():
            local.value = "first"

        def second():
            assert getattr(local, "value", None) is None

        return _one_after_another(first, second)

    _explore_reusing(test)


def test_context_variables_start_empty():
    def first():
        VAR.set(1)

    def second():
        assert VAR.get(None) is None

    _explore_reusing(lambda: _one_after_another(first, second))


def test_trace_functions_do_not_carry_over():
    def tracer(frame, event, arg):
        return None

    def first():
        sys.settrace(tracer)
        sys.setprofile(tracer)

    def second():  # what threading gives every new thread (snarl's own hooks on 3.10/3.11)
        assert sys.gettrace() is threading.gettrace()
        assert sys.getprofile() is threading.getprofile()

    _explore_reusing(lambda: _one_after_another(first, second))


def test_an_ended_thread_is_dead_and_gone():
    def test():
        done = []
        t = threading.Thread(target=lambda: done.append(threading.current_thread()))
        t.start()
        t.join()
        assert not t.is_alive()
        assert done == [t]
        assert t not in threading.enumerate()
        t2 = threading.Thread(target=lambda: done.append(threading.current_thread()))
        t2.start()
        t2.join()
        assert done == [t, t2]
        return [t.ident, t2.ident]

    _explore_reusing(test)


def test_a_stack_size_gets_a_new_os_thread():
    seen = []

    def test():
        idents = []
        previous = threading.stack_size(512 * 1024)
        try:
            for _ in range(2):
                t = threading.Thread(target=lambda: idents.append(threading.get_native_id()))
                t.start()
                t.join()
        finally:
            threading.stack_size(previous)
        seen.append(idents)

    result = explore(test, schedules=5, shrink=False)
    assert result.failure is None
    # Kept OS threads would give one native id for all ten (each thread ends before the next
    # starts); new ones get the kernel's next ids.
    assert len({i for idents in seen for i in idents}) > 2, seen


@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="needs fork")
@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # fork with threads: on purpose
def test_a_forked_child_starts_its_own_os_threads():
    import os

    from snarl.exploration.execution import Exploring, _workers

    with Exploring():
        result = explore(lambda: _one_after_another(lambda: None, lambda: None), schedules=3)
        assert result.failure is None
        assert _workers and _workers[0]._idle  # kept OS threads, parked
        pid = os.fork()
        if pid == 0:  # the child: explore again, with the parent's pool forgotten
            code = 1
            try:
                again = explore(lambda: _one_after_another(lambda: None, lambda: None), schedules=3)
                code = 0 if again.failure is None and again.schedules == 3 else 1
            finally:
                os._exit(code)
        _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0


def test_an_interrupt_that_comes_after_the_run_ends_the_os_thread_quietly(monkeypatch):
    from _thread import allocate_lock

    from snarl.runtime.base import Abandon
    from snarl.runtime.workers import Workers

    class Late:  # what a thread looks like to a worker: its bootstrap is all it runs
        def _bootstrap(self) -> None:
            raise Abandon

    unraisable = []
    monkeypatch.setattr(sys, "unraisablehook", unraisable.append)
    pool = Workers()
    before = _thread._count()
    try:
        stand_in = allocate_lock()
        stand_in.acquire()
        assert pool.start(Late(), stand_in) is not None
        assert stand_in.acquire(timeout=30)  # released: the thread counts as ended
        deadline = time.monotonic() + 30
        while _thread._count() > before:  # the OS thread ends (after anything it prints)
            assert time.monotonic() < deadline, "the worker's OS thread did not end"
            time.sleep(0.01)
        assert pool._idle == []  # and was not kept
        assert unraisable == []  # nothing escaped the OS thread's function
    finally:
        pool.close()
