"""The schedule shrinker, on failures the program model finds with random schedules."""

from __future__ import annotations

import pytest

from snarl.exploration.shrink import Shrunk, shrink
from snarl.exploration.strategies import RandomScheduler, ReplayScheduler
from snarl.runtime.scheduler import Choice, preemptions

from .model import (
    Execution,
    Program,
    abba,
    acquire,
    execute,
    explore,
    local,
    lost_update,
    main_with,
    release,
    run_lenient,
)


def messy_failure(program: Program, seed: int) -> Execution:
    """The failure with the most preemptions among the first five random ones."""
    found = [e for e in explore(program, RandomScheduler(seed, 300)) if e.failure]
    assert found
    return max(found[:5], key=lambda e: preemptions(e.choices))


def replays_strictly(program: Program, threads: list[int], failure: str) -> bool:
    scheduler = ReplayScheduler(threads)
    scheduler.new_execution()
    again = execute(program, scheduler)
    return again.failure == failure and not scheduler.finished_early()


def abba_with_bystander() -> Program:
    """The ABBA deadlock, and a third worker that holds A for a while: it runs 8 steps if it
    goes first, none if it finds A taken by the deadlock."""
    pad = [local()] * 3
    one = [*pad, acquire("A"), acquire("B"), release("B"), release("A")]
    two = [*pad, acquire("B"), acquire("A"), release("A"), release("B")]
    bystander = [acquire("A"), *[local()] * 6, release("A")]
    return main_with([one, two, bystander], lambda shared: True)


# Minimal schedules, by hand.  A lost update needs worker 1's read and write split by worker
# 2's read: one preemption, and a complete run of all 2 + 2 + 2 * 12 steps (lost_update(5)).
# The ABBA deadlock needs one preemption between the workers' first acquires: main's two
# spawns (its join blocks, so the choice after it is free), then 4 local steps and the first
# acquire of each worker: 2 + 6 + 6 steps (abba(5)); with the bystander main spawns it too,
# and it need not run: 3 + 4 + 4 steps.
CASES = [
    ("lost_update", lost_update(5), "assertion", 28),
    ("abba", abba(5), "deadlock", 14),
    ("abba_bystander", abba_with_bystander(), "deadlock", 11),
]


@pytest.mark.parametrize(("name", "program", "kind", "length"), CASES, ids=[c[0] for c in CASES])
def test_random_failures_shrink_to_the_minimal_schedule(name, program, kind, length):
    runs = []
    for seed in range(10):
        failure = messy_failure(program, seed)
        assert failure.failure == kind
        result = shrink(failure.choices, run_lenient(program, kind))
        assert result.preemptions_before == preemptions(failure.choices) >= 5
        assert (result.preemptions_after, len(result.choices)) == (1, length)
        assert preemptions(result.choices) == 1
        assert replays_strictly(program, result.threads, kind)
        runs.append(result.runs)
    # Measured over seeds 0-39 (deterministic): lost_update 13-24 runs, abba 4-6, abba beside
    # the bystander 5-19 (the figures in shrink's docstring).  A regression in the passes
    # shows up here first.
    assert max(runs) <= 25


def test_a_long_schedule_with_hundreds_of_preemptions_shrinks_in_tens_of_runs():
    program = lost_update(500)
    failure = next(e for e in explore(program, RandomScheduler(1, 100)) if e.failure)
    assert len(failure.choices) == 2008 and preemptions(failure.choices) > 900
    result = shrink(failure.choices, run_lenient(program, "assertion"))
    assert (result.preemptions_after, len(result.choices)) == (1, 2008)
    assert result.runs <= 40  # measured: 26


def test_shrinking_is_deterministic():
    program = lost_update(5)
    failure = messy_failure(program, 3)
    first = shrink(failure.choices, run_lenient(program, "assertion"))
    second = shrink(list(failure.choices), run_lenient(program, "assertion"))
    assert first == second
    assert isinstance(first, Shrunk)


@pytest.mark.parametrize("max_runs", [0, 1, 3, 10])
def test_shrinking_stops_at_max_runs(max_runs):
    program = lost_update(5)
    failure = messy_failure(program, 1)
    calls = []
    inner = run_lenient(program, "assertion")

    def run(threads: list[int]) -> list[Choice] | None:
        calls.append(threads)
        return inner(threads)

    result = shrink(failure.choices, run, max_runs=max_runs)
    assert result.runs == len(calls) <= max_runs
    if max_runs == 0:
        assert result.choices == failure.choices


def test_a_rejected_candidate_is_never_accepted():
    # An adversarial "same failure": only failures with at least two preemptions count.
    program = lost_update(5)
    failure = messy_failure(program, 2)
    inner = run_lenient(program, "assertion")
    accepted: list[list[Choice]] = []

    def run(threads: list[int]) -> list[Choice] | None:
        result = inner(threads)
        if result is None or preemptions(result) < 2:
            return None
        accepted.append(result)
        return result

    result = shrink(failure.choices, run)
    assert result.preemptions_after == 2
    assert result.choices in accepted


def test_nothing_is_accepted_when_every_candidate_fails_differently():
    program = lost_update(5)
    failure = messy_failure(program, 4)
    result = shrink(failure.choices, lambda threads: None)
    assert result.choices == failure.choices
    assert result.preemptions_after == result.preemptions_before
    assert 0 < result.runs <= 500


def test_a_minimal_schedule_is_left_alone():
    program = lost_update(5)
    failure = messy_failure(program, 5)
    minimal = shrink(failure.choices, run_lenient(program, "assertion")).choices
    again = shrink(minimal, run_lenient(program, "assertion"))
    assert again.choices == minimal
    assert again.preemptions_before == again.preemptions_after == 1


def test_length_shrinks_at_equal_preemptions():
    # The bystander runs first (a free choice: main's join blocks), then the deadlock: the
    # same one preemption as the minimal schedule, 8 steps longer.
    program = abba_with_bystander()
    inner = run_lenient(program, "deadlock")
    long = inner([0, 0, 0, *[3] * 8, 1, 1, 1, 1, 2, 2, 2, 2])
    assert long is not None and preemptions(long) == 1 and len(long) == 19
    result = shrink(long, inner)
    assert (result.preemptions_after, len(result.choices)) == (1, 11)
