"""What ``snarl explore`` shows while it works and when it is cut short (issue 12, point 7):
the throttled progress line, the time cap on shrinking, Ctrl-C, a non-deterministic test.

Timing is never waited for: the progress line runs on a fake clock, the cap is proved with a
zero cap or a clock that counts runs, and interrupts are raised from callbacks (between two
executions, as the command line's own Ctrl-C handling does) or sent to this process while no
execution runs.
"""

from __future__ import annotations

import io
import signal

import pytest

import snarl
from snarl.errors import Flaky
from snarl.exploration.execution import Exploring, execute
from snarl.exploration.progress import Progress, duration
from snarl.exploration.runner import _fewer_preemptions
from snarl.exploration.shrink import Shrinking, shrink
from snarl.exploration.strategies import ReplayScheduler
from snarl.runtime.scheduler import Choice, preemptions

from .model import lost_update, run_lenient
from .programs import bugs
from .test_shrink import messy_failure


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def drawn(stream: io.StringIO) -> list[str]:
    """The lines drawn so far, in order (each draw starts by erasing the line)."""
    return [part for part in stream.getvalue().split("\r\033[K") if part]


# -- the progress line ----------------------------------------------------------------------
def test_the_line_is_redrawn_at_most_every_interval_with_the_rate_and_the_time_left():
    clock, out = FakeClock(), io.StringIO()
    line = Progress(out, clock=clock, interval=0.25)
    line.schedules(1, 1000, 0)  # the first call draws at once, with no rate yet
    for done, at in [(2, 100.1), (3, 100.2), (50, 100.24)]:
        clock.now = at
        line.schedules(done, 1000, 0)  # within 0.25 s of the last draw: not drawn
    clock.now = 100.5
    line.schedules(201, 1000, 1)  # 200 schedules in 0.5 s: 400/s, 799 left: 2 s
    clock.now = 100.7
    line.schedules(281, 1000, 1)  # 0.2 s after the last draw: not drawn
    assert drawn(out) == [
        "  snarl explore: 1/1000 schedules, 0 failing",
        "  snarl explore: 201/1000 schedules, 1 failing, 400 schedules/s, ETA 2 s",
    ]
    line.clear()
    assert out.getvalue().endswith("\r\033[K")


def test_shrinking_has_its_own_line_drawn_at_once_then_throttled():
    clock, out = FakeClock(), io.StringIO()
    line = Progress(out, clock=clock)
    line.schedules(7, 1000, 1)
    line.shrinking(1, 5, 40)  # a new phase: drawn at once
    clock.now += 0.1
    line.shrinking(2, 3, 38)
    clock.now += 0.2
    line.shrinking(3, 1, 20)
    assert drawn(out)[1:] == [
        "  snarl explore: shrinking: run 1, 5 preemptions, 40 switch points",
        "  snarl explore: shrinking: run 3, 1 preemption, 20 switch points",
    ]


def test_nothing_is_drawn_or_cleared_without_a_stream_or_a_line():
    out = io.StringIO()
    Progress(out).clear()  # nothing shown: nothing to erase
    assert out.getvalue() == ""
    quiet = Progress(None)
    quiet.schedules(1, 2, 0)
    quiet.shrinking(1, 1, 1)
    quiet.clear()


def test_durations_read_as_a_person_would_say_them():
    assert [duration(s) for s in (0, 7.4, 59.6, 200, 3599, 7500)] == [
        "0 s",
        "7 s",
        "1 min 00 s",
        "3 min 20 s",
        "59 min 59 s",
        "2 h 05 min",
    ]


def test_a_first_ctrl_c_is_raised_at_the_next_callback_and_a_second_at_once():
    before = signal.getsignal(signal.SIGINT)
    with Progress(None) as line:
        signal.raise_signal(signal.SIGINT)  # remembered: no exception here
        assert line.interrupts == 1
        with pytest.raises(KeyboardInterrupt):
            line.schedules(3, 10, 0)
        line.schedules(4, 10, 0)  # raised once: the explorer is already stopping
        with pytest.raises(KeyboardInterrupt):
            signal.raise_signal(signal.SIGINT)
    assert signal.getsignal(signal.SIGINT) is before


# -- the shrinking cap ----------------------------------------------------------------------
def test_shrink_stops_when_told_with_a_schedule_that_really_failed():
    program = lost_update(5)
    failure = messy_failure(program, 1)
    inner = run_lenient(program, "assertion")
    results: list[list[Choice] | None] = []

    def run(threads: list[int]) -> list[Choice] | None:
        results.append(inner(threads))
        return results[-1]

    result = shrink(failure.choices, run, should_stop=lambda: len(results) >= 3)
    assert result.runs == len(results) == 3 and result.stopped
    assert result.choices == failure.choices or result.choices in results
    unbounded = shrink(failure.choices, inner)
    assert unbounded.runs > 3 and not unbounded.stopped
    assert preemptions(unbounded.choices) < preemptions(result.choices)


def test_shrinking_keeps_the_smallest_and_stops_at_its_cap():
    clock = FakeClock()
    seen = []
    shrinking = Shrinking(
        [Choice(0, (0, 1), 0)] * 3,
        5.0,
        clock=clock,
        progress=lambda *a: seen.append(a),
    )
    assert not shrinking()
    shrinking.ran(None)
    shrinking.ran([Choice(0, (0, 1), 0)] * 2)
    shrinking.ran([Choice(0, (0, 1), 0)] * 4)  # larger: not kept
    assert len(shrinking.best) == 2 and seen == [(1, 0, 3), (2, 0, 2), (3, 0, 2)]
    clock.now += 5.0
    assert shrinking() and shrinking.reason == "cap"
    assert shrinking.why() == "shrinking stopped at its 5 s cap"


def test_a_zero_shrink_time_reports_the_failure_as_found_and_says_so():
    calls = []

    def test() -> None:
        calls.append(1)
        bugs.lost_update()

    result = snarl.explore(test, schedules=300, seed=1, shrink_seconds=0)
    f = result.failure
    assert f is not None and f.kind == "assertion" and f.shrink_stopped == "cap"
    # no shrinking run, no bounded search: the schedules, then the final replay
    assert len(calls) == result.schedules + 1
    assert (f.preemptions, f.steps) == (f.found_preemptions, f.found_steps)
    assert "shrinking stopped at its 0 s cap" in f.report
    assert result.to_dict()["failure"]["shrink_stopped"] == "cap"
    assert snarl.replay(test, f.token).kind == "assertion"
    shrunk = snarl.explore(test, schedules=300, seed=1).failure
    assert shrunk.shrink_stopped is None and shrunk.preemptions < f.preemptions


def test_the_bounded_search_obeys_the_cap():
    found = snarl.explore(bugs.lost_update, schedules=300, seed=1, shrink=False).failure
    assert found.preemptions >= 2
    with Exploring("sync"):
        scheduler = ReplayScheduler(list(found.schedule), strict=True)
        scheduler.new_execution()
        best = list(execute(bugs.lost_update, scheduler).choices)
        # A clock that counts runs: the cap is 3 runs.  A failure it never finds (another
        # exception type) would keep it searching through every bound.
        runs = [0]
        shrinking = Shrinking(
            best, 3, clock=lambda: runs[0], progress=lambda n, *_: runs.__setitem__(0, n)
        )
        fewer = _fewer_preemptions(
            bugs.lost_update, best, ("assertion", "NoSuchError"), "sync", 10_000, shrinking
        )
    assert fewer is None and shrinking.runs == 3 and shrinking.reason == "cap"


# -- interrupted ----------------------------------------------------------------------------
def test_an_interrupt_while_exploring_returns_what_ran_marked_interrupted():
    def progress(done: int, total: int, failing: int) -> None:
        if done == 7:
            raise KeyboardInterrupt

    result = snarl.explore(bugs.ordered, schedules=100, progress=progress)
    assert result.interrupted and not result.found
    assert result.schedules == 7 and 1 <= result.distinct <= 7
    assert result.statistics().endswith("; interrupted")
    assert str(result).startswith("Interrupted: no failing schedule found")
    assert result.to_dict()["interrupted"] is True
    assert not snarl.explore(bugs.ordered, schedules=5).interrupted


def test_an_interrupt_while_shrinking_reports_the_smallest_schedule_so_far():
    seen = []

    def shrink_progress(runs: int, preemptions: int, steps: int) -> None:
        seen.append((runs, preemptions, steps))
        if runs == 2:
            raise KeyboardInterrupt

    result = snarl.explore(bugs.lost_update, seed=1, shrink_progress=shrink_progress)
    f = result.failure
    assert result.interrupted and f is not None and f.shrink_stopped == "interrupted"
    assert [runs for runs, _, _ in seen] == [1, 2]  # no run after the interrupt
    assert (f.preemptions, f.steps) == seen[-1][1:]  # the smallest so far, replayed
    assert f.preemptions <= f.found_preemptions
    assert "shrinking interrupted" in f.report
    assert snarl.replay(bugs.lost_update, f.token).kind == "assertion"


def test_shrinking_progress_follows_the_smallest_schedule():
    seen = []
    f = snarl.explore(
        bugs.lost_update, seed=1, shrink_progress=lambda *a: seen.append(a)
    ).failure  # fmt: skip
    assert [runs for runs, _, _ in seen] == list(range(1, len(seen) + 1))
    keys = [(p, steps) for _, p, steps in seen]
    assert keys == sorted(keys, reverse=True)  # never grows
    assert keys[-1] == (f.preemptions, f.steps) and f.shrink_stopped is None


# -- a test that is not deterministic -------------------------------------------------------
def test_a_failure_that_does_not_come_back_is_flaky():
    calls = []

    def first_call_fails() -> None:
        calls.append(1)
        bugs.ordered()
        assert len(calls) > 1, "fails on its first call only"

    with pytest.raises(Flaky, match=r"did not fail when replayed: .* a pass"):
        snarl.explore(first_call_fails, schedules=10)


def test_control_characters_in_thread_names_reach_the_report_escaped():
    import threading

    def test() -> None:
        a, b = threading.Lock(), threading.Lock()

        def both(x: threading.Lock, y: threading.Lock) -> None:
            with x, y:
                pass

        ts = [
            threading.Thread(target=both, args=(a, b), name="evil\x1b[2J\x1b[31m"),
            threading.Thread(target=both, args=(b, a), name="forged\nline"),
        ]
        for t in ts:
            t.start()
        for t in ts:
            t.join()

    result = snarl.explore(test, schedules=200, shrink=False)
    assert result.failure is not None and result.failure.kind == "deadlock"
    report = result.failure.report
    assert "\x1b" not in report and "forged\nline" not in report
    assert "evil\\x1b[2J" in report and "forged\\x0aline" in report
