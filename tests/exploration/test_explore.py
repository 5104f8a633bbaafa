"""The explorer end to end on small threaded programs with known bugs (tests/exploration/programs).

Exploration is deterministic given the strategy, seed and program, so each assertion below
holds on every run: none depends on real timing.
"""

from __future__ import annotations

import threading

import pytest

import snarl
from snarl.errors import DidNotReproduce, InvalidToken
from snarl.exploration import token as tokens
from snarl.exploration.strategies import DfsScheduler

from .programs import bugs


def explore(fn, **kw):
    kw.setdefault("schedules", 300)
    kw.setdefault("seed", 1)
    return snarl.explore(fn, **kw)


@pytest.mark.parametrize("strategy", ["random", "pct"])
def test_abba_deadlock_is_found_shrunk_and_reported_like_a_dump(strategy):
    result = explore(bugs.abba, strategy=strategy)
    assert result.found
    f = result.failure
    assert f.kind == "deadlock" and f.message.startswith("deadlock")
    assert f.preemptions == 1  # the minimum for ABBA: one switch between the two acquires
    [cycle] = f.deadlocks
    waiters = {step.thread_name: (step.wait.object.name, step.holder.name) for step in cycle.steps}
    assert waiters == {"one": ("lock_b", "two"), "two": ("lock_a", "one")}
    assert "Found 1 deadlock:" in f.report
    assert '"one" waits for Lock `lock_b`' in f.report and 'held by "two"' in f.report
    assert f"snarl replay {f.token} " in f.report


def test_a_found_failure_replays_from_its_token():
    f = explore(bugs.abba).failure
    again = snarl.replay(bugs.abba, f.token)
    assert again is not None and again.kind == "deadlock"
    assert again.schedule == f.schedule
    table = [line for line in f.report.splitlines() if line.startswith("  ")]
    assert [line for line in again.report.splitlines() if line.startswith("  ")] == table


def test_a_lost_update_is_an_assertion_with_one_preemption_after_shrinking():
    f = explore(bugs.lost_update).failure
    assert f.kind == "assertion"
    assert "lost an update" in f.message and 'in thread "lost_update"' in f.message
    assert f.preemptions <= 1 <= f.found_preemptions
    assert "assert box.value == 4" in f.report  # the user's line, not snarl's frames
    assert "snarl/exploration" not in f.report


@pytest.mark.parametrize(
    "fixed", [bugs.ordered, bugs.locked_update, bugs.predicate_wakeup, bugs.spin_until_set]
)
@pytest.mark.parametrize("strategy", ["random", "pct", "dfs"])
def test_fixed_twins_never_fail(fixed, strategy):
    result = explore(fixed, strategy=strategy, schedules=200)
    assert not result.found, result
    assert result.schedules >= 1


def test_dfs_covers_a_small_bounded_space_and_says_so():
    result = explore(bugs.racy_increment, strategy="dfs", schedules=10_000, granularity="sync")
    assert not result.found  # at sync granularity the read and write are not separable
    assert result.covered is True
    # Bounds 0, 1, then 2 (iterative context bounding): the lower bounds' schedules come again
    # under the higher ones, and the distinct ones are exactly bound 2's whole space.
    one_bound = explore(bugs.racy_increment, strategy=DfsScheduler(preemption_bound=2))
    assert one_bound.schedules == one_bound.distinct == result.distinct
    assert result.schedules > result.distinct


def test_dfs_finds_a_one_preemption_bug_at_bound_one_first():
    f = explore(bugs.lost_wakeup, strategy="dfs", schedules=10_000).failure
    assert f is not None and f.found_preemptions <= 1


def test_line_granularity_finds_what_sync_cannot():
    assert not explore(bugs.racy_increment, granularity="sync").found
    f = explore(bugs.racy_increment, granularity="line").failure
    assert f is not None and f.kind == "assertion" and f.preemptions == 1


def test_bytecode_granularity_finds_the_racy_increment():
    f = explore(bugs.racy_increment, granularity="bytecode", strategy="pct").failure
    assert f is not None and f.kind == "assertion"


def test_gil_granularity_switches_only_where_cpython_can():
    # No call, return or backward jump between the read and the write: under the GIL the
    # increment cannot be split, and the whole bounded space says so.
    result = explore(bugs.racy_increment, granularity="gil", strategy="dfs", schedules=20_000)
    assert not result.found and result.covered
    # A call in between is a point where CPython may switch threads: the race shows.
    f = explore(bugs.racy_call, granularity="gil").failure
    assert f is not None and f.kind == "assertion"


def test_a_lost_wakeup_is_reported_as_such():
    f = explore(bugs.lost_wakeup).failure
    assert f.kind == "deadlock" and f.message.startswith("lost wakeup")
    assert not f.deadlocks  # no cycle: nobody is left to notify
    assert '"consumer" waits on Condition `cond`' in f.report


def test_a_spin_is_a_livelock_not_a_deadlock():
    f = explore(bugs.spin, max_steps=500).failure
    assert f.kind == "livelock" and "livelock" in f.message


def test_time_is_virtual():
    bugs.SEEN.clear()
    result = explore(bugs.sleepy, schedules=3)
    assert not result.found
    # time.sleep(10) and Condition.wait(5) moved the virtual clock by exactly that much
    assert bugs.SEEN == [(10.0, False, 5.0)] * 3


def test_nothing_is_left_running_after_deadlocked_schedules():
    before = threading.active_count()
    assert explore(bugs.abba, strategy="pct").found
    assert explore(bugs.lost_wakeup).found
    assert threading.active_count() == before
    assert not threading._limbo  # type: ignore[attr-defined]


def test_exploration_is_deterministic_given_a_seed():
    a, b = explore(bugs.lost_update, seed=7), explore(bugs.lost_update, seed=7)
    assert (a.schedules, a.failure.token) == (b.schedules, b.failure.token)


def test_a_changed_program_does_not_replay_silently():
    f = explore(bugs.abba).failure
    with pytest.raises(DidNotReproduce) as info:
        snarl.replay(bugs.ordered, f.token)
    assert "step" in str(info.value)


def test_an_invalid_token_is_refused_with_a_reason():
    with pytest.raises(InvalidToken):
        snarl.replay(bugs.abba, "not-a-token")
    good = tokens.encode([0, 1, 0], granularity="sync")
    with pytest.raises(InvalidToken):
        snarl.replay(bugs.abba, good[:-3] + ("A" if good[-3] != "A" else "B") + good[-2:])


def test_the_decorator_raises_with_the_token_and_passes_fixed_tests():
    @snarl.interleavings(schedules=200, seed=1)
    def test_abba():
        bugs.abba()

    with pytest.raises(snarl.InterleavingFailure) as info:
        test_abba()
    assert isinstance(info.value, AssertionError)
    assert info.value.token in str(info.value)
    assert snarl.replay(test_abba.__snarl_test__, info.value.token).kind == "deadlock"

    @snarl.interleavings(schedules=50)
    def test_ordered():
        bugs.ordered()

    test_ordered()  # does not raise


def test_statistics_line():
    result = explore(bugs.ordered, schedules=20, granularity="sync")
    line = result.statistics()
    assert line.startswith("20 schedules (random, seed 1, granularity sync)")
    assert "0 failing (0.0 %)" in line and "schedules/s" in line
    data = result.to_dict()
    assert data["found"] is False and data["schedules"] == 20 and data["replay"] is None


def test_progress_is_reported_after_every_schedule():
    seen = []
    result = explore(bugs.ordered, schedules=7, progress=lambda *a: seen.append(a))
    assert seen == [(i, 7, 0) for i in range(1, 8)] and result.schedules == 7


def test_the_command_line_shows_a_progress_line_on_a_terminal():
    import os
    import pty
    import subprocess
    import sys

    from tests.helpers import REPO, snarl_env

    main, child = pty.openpty()
    proc = subprocess.run(
        [sys.executable, "-m", "snarl", "explore", f"{bugs.__file__}::ordered", "--schedules", "5"],
        cwd=REPO,
        env=snarl_env(),
        stdout=subprocess.PIPE,
        stderr=child,
        timeout=120,
    )
    os.close(child)
    shown = b""
    try:
        while chunk := os.read(main, 4096):
            shown += chunk
    except OSError:  # the terminal's other end is closed: all read
        pass
    os.close(main)
    assert proc.returncode == 0
    # drawn at once, then at most every 0.25 s (tests/exploration/test_reports.py), cleared
    assert b"\r\x1b[K  snarl explore: 1/5 schedules, 0 failing" in shown
    assert shown.endswith(b"\r\x1b[K")
