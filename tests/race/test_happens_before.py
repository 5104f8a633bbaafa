"""Every happens-before source orders the accesses it should (no report on a twin)."""

from __future__ import annotations

import pytest

from snarl.race import races

from . import hb_programs as h


def run(fn, *args):
    with races(h) as r:
        fn(*args)
    return r


@pytest.mark.parametrize(
    "fn",
    [
        h.start_order,
        h.join_order,
        h.rlock,
        h.condition,
        h.semaphore,
        h.event,
        h.barrier,
        h.future_result,
        h.future_as_completed,
        h.future_wait,
        h.future_wait_completions_in_turn,
        h.submit_order,
        h.timer_start,
        h.lock_released_by_another_thread,
    ],
)
def test_source_orders(fn):
    r = run(fn)
    assert r.found == [], r.text()
    assert r.summary.accesses_checked > 0


@pytest.mark.parametrize("kind", ["Queue", "LifoQueue", "PriorityQueue", "SimpleQueue"])
def test_queue_handoff_orders(kind):
    r = run(h.queue_handoff, kind)
    assert r.found == [], r.text()


def test_without_join_the_read_races():
    r = run(h.no_join)
    assert any(race.location == "attribute value of a Box" for race in r.found), r.text()


@pytest.mark.parametrize(
    ("fn", "text"),
    [
        (h.consumers_of_one_queue, "tally.value"),
        (h.waiters_of_one_event, "box.value"),
        (h.sender_mutates_after_put, "item.value"),
    ],
)
def test_taking_turns_inside_a_primitive_orders_nothing(fn, text):
    r = run(fn)
    assert [race.access.text for race in r.found] in ([text], ["job.value"]), r.text()


def test_locks_made_before_detection_began_order_too():
    # snarl installed first (as by `snarl run` or a conftest), the locks made, and only then
    # a detection session: the locks were made without hooks, and must order all the same.
    import threading

    import snarl
    from snarl.sync.patch import installed

    was = installed()
    snarl.install()
    try:
        lock, rlock = threading.Lock(), threading.RLock()
        assert type(lock).__module__ == "snarl.sync.lock"
        r = run(h.counter_under, lock, rlock)
        assert r.found == [], r.text()
        assert r.summary.accesses_checked > 0
    finally:
        if not was:
            snarl.uninstall()


def test_native_locks_in_an_instrumented_module_are_named_in_the_summary():
    import _thread

    h.NATIVE_LOCK = _thread.allocate_lock()
    try:
        r = run(h.start_order)
        assert any("tests.race.hb_programs.NATIVE_LOCK" in n for n in r.summary.not_seen), (
            r.summary.not_seen
        )
    finally:
        del h.NATIVE_LOCK


def test_lock_waiters_give_turns_only_while_detecting():
    # (a detection run's hooks lengthen critical sections: without turns a lock convoy forms;
    # outside detection a turn could cost a waiter a whole switch interval)
    from snarl.runtime.observer import OBSERVER

    assert OBSERVER.turns == 0
    with races(h):
        assert OBSERVER.turns > 0
        assert h.counter_under(__import__("threading").Lock(), __import__("threading").RLock())
    assert OBSERVER.turns == 0
