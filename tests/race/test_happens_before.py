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
