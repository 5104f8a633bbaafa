"""Issue 12, point 3: a timed wait may time out at any point the scheduler chooses; the
virtual clock stays consistent; polling loops are not starved."""

from __future__ import annotations

import pytest

from snarl.exploration.runner import explore

from .programs import timeouts

STRATEGIES = ["random", "pct", "dfs"]


@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize(
    "program",
    [
        timeouts.try_lock_skips_work,
        timeouts.non_blocking_try_lock,
        timeouts.sleep_as_synchronisation,
        timeouts.event_wait_times_out,
        timeouts.queue_get_times_out,
        timeouts.condition_wait_times_out,
    ],
    ids=lambda f: f.__name__,
)
def test_a_wait_that_may_time_out_is_explored(program, strategy):
    result = explore(program, strategy=strategy, schedules=300)
    assert result.failure is not None, str(result)
    assert result.failure.kind in ("assertion", "exception"), result.failure.report


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_a_polling_loop_is_no_livelock(strategy):
    result = explore(timeouts.polling_worker, strategy=strategy, schedules=200)
    assert result.failure is None, str(result)


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_the_virtual_clock_stays_consistent(strategy):
    result = explore(timeouts.clock_is_consistent, strategy=strategy, schedules=200)
    assert result.failure is None, str(result)
    assert result.distinct > 1


def test_dfs_covers_the_timeouts_too():
    # Two choices of when the sleep ends, both explored, and then the space is covered.
    result = explore(timeouts.event_wait_times_out, strategy="dfs", schedules=1000)
    assert result.failure is not None
    fixed = explore(timeouts.polling_worker, strategy="dfs", schedules=20)
    assert fixed.covered is not True or fixed.schedules < 20
