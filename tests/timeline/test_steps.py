"""Timelines of controlled executions: built from Step records, on a virtual clock."""

from __future__ import annotations

import itertools
from types import SimpleNamespace

import pytest

from snarl.runtime.controlled import Step
from snarl.timeline import timeline_from_failure, timeline_from_steps

from .programs import deadlock_steps

SITE = ("prog.py", 3, "work", "with lock:")


def spans(tl, lane):
    return [
        (s.kind, s.start, s.end) for s in sorted(tl.slices, key=lambda s: s.start) if s.lane == lane
    ]


def test_running_blocked_and_preempted_stretches():
    steps = [
        Step(0, "acquire", "SimLock", SITE, 0, True),
        Step(0, "acquire", "SimLock", SITE, 0, True),
        Step(0, "block", "Lock `a`", SITE, 1, False),  # T0 blocks: T1 runs
        Step(1, "release", "SimLock", None, 1, True),
        Step(1, "acquire", "SimLock", None, 0, True),  # T1 preempted: T0 runs
        Step(0, "release", "SimLock", SITE, 0, True),
        Step(0, "exit", None, None, 1, False),
        Step(1, "exit", None, None, None, False),
    ]
    tl = timeline_from_steps(steps, ["main", "worker"], title="t")
    assert tl.unit == "step" and (tl.start, tl.end) == (0, 8)
    assert spans(tl, 0) == [("running", 0, 3), ("lock", 3, 5), ("running", 5, 7)]
    assert spans(tl, 1) == [("running", 3, 5), ("ready", 5, 7), ("running", 7, 8)]
    [blocked] = [s for s in tl.slices if s.kind == "lock"]
    assert blocked.label == "blocked on Lock `a`" and blocked.flag == ""
    [first] = [s for s in tl.slices if s.lane == 0 and s.start == 0]
    assert first.label == "prog.py:3" and first.details["then"] == "blocked on Lock `a`"
    assert [(ln.name, ln.start, ln.end, ln.exited) for ln in tl.lanes] == [
        ("T0 main", 0, 7, True),
        ("T1 worker", 3, 8, True),
    ]
    assert tl.markers == []


def test_a_deadlocked_end_keeps_the_threads_blocked_to_the_end():
    steps = [
        Step(0, "block", "Lock `b`", SITE, 1, False),
        Step(1, "block", "Lock `a`", SITE, None, False),
    ]
    tl = timeline_from_steps(steps, ["one", "two"], ending="deadlock", deadlocked={0, 1})
    assert tl.end > 2  # room after the last switch point, to see who is stuck on what
    stuck = [s for s in tl.slices if s.flag == "deadlock"]
    assert sorted((s.lane, s.kind, s.start, s.end) for s in stuck) == [
        (0, "lock", 1, tl.end),
        (1, "lock", 2, tl.end),
    ]
    assert [ln.note for ln in tl.lanes] == ["deadlocked", "deadlocked"]
    [marker] = tl.markers
    assert (marker.time, marker.label, marker.kind) == (2, "deadlock", "deadlock")


def test_the_explorers_deadlock_as_a_timeline():
    steps, names, cycle, message = deadlock_steps()
    tl = timeline_from_steps(steps, names, ending=message, deadlocked=cycle)
    assert [ln.name for ln in tl.lanes] == ["T0 abba", "T1 one", "T2 two"]
    stuck = {s.lane: s.label for s in tl.slices if s.flag == "deadlock"}
    assert stuck == {1: "blocked on Lock `lock_b`", 2: "blocked on Lock `lock_a`"}
    [joining] = [s for s in tl.slices if s.lane == 0 and s.flag]
    assert joining.kind == "join" and joining.flag == "unfinished"
    # one thread runs at a time: running stretches never overlap
    running = sorted((s.start, s.end) for s in tl.slices if s.kind == "running")
    assert all(a[1] <= b[0] for a, b in itertools.pairwise(running))
    assert running[-1][1] == len(steps)


def test_a_failure_without_switch_points_cannot_be_drawn():
    with pytest.raises(ValueError, match="no switch points"):
        timeline_from_failure(SimpleNamespace(threads=("a",), message="x"))


def test_a_failure_with_its_trace():
    steps, names, cycle, message = deadlock_steps()
    deadlocks = [SimpleNamespace(steps=[SimpleNamespace(thread=t) for t in sorted(cycle)])]
    failure = SimpleNamespace(
        trace=tuple(steps), threads=tuple(names), message=message, deadlocks=deadlocks
    )
    tl = timeline_from_failure(failure)
    assert tl.title == f"snarl: {message}"
    assert {s.lane for s in tl.slices if s.flag == "deadlock"} == cycle
