"""The scheduling strategies, driven by the program model of :mod:`tests.exploration.model`."""

from __future__ import annotations

import pytest

from snarl.errors import DidNotReproduce
from snarl.exploration.strategies import (
    DfsScheduler,
    PctScheduler,
    RandomScheduler,
    ReplayScheduler,
    RoundRobinScheduler,
    default_choice,
    derive_seed,
    probability_bound,
)
from snarl.runtime.scheduler import Scheduler, preemptions

from .model import (
    Program,
    abba,
    all_executions,
    draw,
    execute,
    explore,
    local,
    lost_update,
    read,
    write,
)


def calibrated(program: Program) -> int:
    """The step count of the non-preemptive execution the runner calibrates PCT with."""
    scheduler = ReplayScheduler((), strict=False)
    assert scheduler.new_execution()
    return len(execute(program, scheduler).choices)


def per_index(program: Program, scheduler: Scheduler) -> dict[int, list[int]]:
    return {e.index: e.threads for e in explore(program, scheduler)}  # type: ignore[misc]


TWO_BY_TWO = Program(
    ((read("x"), write("x")), (read("x"), write("x"))),
    lambda shared: shared.get("x", 0) == 2,
    initial=(0, 1),
)


def test_every_strategy_is_a_scheduler():
    for scheduler in (
        RandomScheduler(0, 1),
        PctScheduler(0, 1, steps=5),
        DfsScheduler(),
        ReplayScheduler([0]),
        RoundRobinScheduler(),
    ):
        assert isinstance(scheduler, Scheduler)


# ---------------------------------------------------------------- seeds and --jobs


def test_derive_seed_is_fixed_across_processes_and_versions():
    # BLAKE2b of a fixed text: any change here changes every seeded exploration.
    assert derive_seed(0, 0) == 0x22D608969EFA3FDC
    assert derive_seed(0, 1) != derive_seed(0, 0) != derive_seed(1, 0)
    assert derive_seed(0, 0, "data") != derive_seed(0, 0)


@pytest.mark.parametrize(
    "make", [RandomScheduler, lambda seed, n, **kw: PctScheduler(seed, n, steps=8, **kw)]
)
def test_indices_follow_start_and_stride(make):
    scheduler = make(3, 10, start=1, stride=4)
    assert scheduler.index is None
    seen = []
    while scheduler.new_execution():
        seen.append(scheduler.index)
    assert seen == [1, 5, 9]
    assert scheduler.index is None
    assert not scheduler.new_execution()
    assert scheduler.seed_of(5) == make(3, 10).seed_of(5)


@pytest.mark.parametrize("bad", [{"schedules": -1}, {"start": -1}, {"stride": 0}])
def test_index_ranges_are_checked(bad):
    args = {"schedules": 5, **bad}
    with pytest.raises(ValueError):
        RandomScheduler(0, args.pop("schedules"), **args)


def test_random_is_deterministic_given_the_seed():
    program = lost_update(3)
    assert per_index(program, RandomScheduler(11, 30)) == per_index(
        program, RandomScheduler(11, 30)
    )
    assert per_index(program, RandomScheduler(11, 30)) != per_index(
        program, RandomScheduler(12, 30)
    )


@pytest.mark.parametrize("strategy", ["random", "pct"])
def test_jobs_split_explores_the_same_schedules_as_one_process(strategy):
    program = lost_update(3)
    k = calibrated(program)

    def make(start: int = 0, stride: int = 1) -> Scheduler:
        if strategy == "random":
            return RandomScheduler(42, 40, start=start, stride=stride)
        scheduler = PctScheduler(42, 40, depth=3, start=start, stride=stride)
        scheduler.calibrate(k)  # every process calibrates identically
        return scheduler

    alone = per_index(program, make())
    split: dict[int, list[int]] = {}
    for j in range(3):
        part = per_index(program, make(start=j, stride=3))
        assert set(part) == set(range(j, 40, 3))
        split.update(part)
    assert split == alone
    assert len({tuple(t) for t in alone.values()}) > 5  # the executions do differ


# ---------------------------------------------------------------- random


@pytest.mark.parametrize("seed", range(10))
def test_random_finds_the_lost_update(seed):
    found = [e for e in explore(lost_update(3), RandomScheduler(seed, 20)) if e.failure]
    assert found, "measured: the first failing index for seeds 0-9 is at most 7"
    assert found[0].failure == "assertion"
    assert found[0].shared["x"] == 1


def test_random_draws_are_their_own_stream():
    program = Program(((draw("d", 1000), local(), draw("e", 1000)),))
    a = [e.draws for e in explore(program, RandomScheduler(5, 10))]
    assert a == [e.draws for e in explore(program, RandomScheduler(5, 10))]
    assert len({tuple(d) for d in a}) == 10


# ---------------------------------------------------------------- PCT


def test_probability_bound_is_the_papers():
    assert probability_bound(2, 10, 1) == 1 / 2
    assert probability_bound(3, 8, 2) == 1 / 24
    assert probability_bound(3, 8, 3) == 1 / (3 * 64)
    with pytest.raises(ValueError):
        probability_bound(0, 8, 2)


def test_pct_needs_k_before_exploring():
    scheduler = PctScheduler(0, 5)
    with pytest.raises(RuntimeError, match="calibrate"):
        scheduler.new_execution()
    scheduler.calibrate(9)
    assert scheduler.k == 9 and scheduler.new_execution()
    assert PctScheduler(0, 5, steps=4).k == 4


def test_pct_observe_records_but_never_changes_k():
    scheduler = PctScheduler(0, 5)
    scheduler.calibrate(8)
    scheduler.observe(30)
    scheduler.observe(12)
    assert scheduler.k == 8 and scheduler.observed_steps == 30


def test_pct_depth_1_never_splits_the_two_accesses():
    # With no change point the highest-priority thread runs until it ends: no lost update.
    program = lost_update(0)
    scheduler = PctScheduler(1, 300, depth=1)
    scheduler.calibrate(calibrated(program))
    assert not [e for e in explore(program, scheduler) if e.failure]


@pytest.mark.parametrize(
    ("program", "measured"),
    [(lost_update(0), 0.139), (lost_update(3), 0.0535), (abba(0), 0.09), (abba(3), 0.046)],
    ids=["lost_update", "lost_update_padded", "abba", "abba_padded"],
)
def test_pct_depth_2_hit_rate_is_at_least_the_bound(program, measured):
    k = calibrated(program)
    scheduler = PctScheduler(7, 2000, depth=2)
    scheduler.calibrate(k)
    executions = list(explore(program, scheduler))
    rate = sum(e.failure is not None for e in executions) / len(executions)
    bound = probability_bound(3, k, 2)  # main and two workers
    assert scheduler.bound == pytest.approx(bound)
    assert rate >= bound
    assert rate == pytest.approx(measured)  # fixed seed: the figure is exact


def test_pct_priorities_run_the_highest_runnable_thread():
    # Depth 1 and all threads present from the start: one thread runs to its end, then the
    # next, never a preemption; the order is a permutation drawn per execution.
    program = Program(((local(),) * 3,) * 3, initial=(0, 1, 2))
    scheduler = PctScheduler(3, 60, depth=1, steps=9)
    orders = set()
    for execution in explore(program, scheduler):
        assert preemptions(execution.choices) == 0
        orders.add(tuple(dict.fromkeys(execution.threads)))
    assert len(orders) == 6


@pytest.mark.parametrize("depth", [2, 3, 4])
def test_pct_preempts_at_most_at_its_change_points(depth):
    # All threads present from the start and never blocking: a preemption happens only
    # where a change point lowers the running thread, at most depth - 1 times.
    program = Program(((local(),) * 4,) * 3, initial=(0, 1, 2))
    scheduler = PctScheduler(5, 300, depth=depth, steps=12)
    counts = {preemptions(e.choices) for e in explore(program, scheduler)}
    assert max(counts) == depth - 1


# ---------------------------------------------------------------- DFS


@pytest.mark.parametrize(("bound", "expected"), [(0, 2), (1, 4), (2, 6), (3, 6)])
def test_dfs_counts_on_two_threads_of_two_operations(bound, expected):
    # By hand, threads a and b of two steps each: aabb and bbaa have no preemption; abba and
    # baab have one (the switch back happens when a thread ends); abab and baba have two.
    scheduler = DfsScheduler(preemption_bound=bound)
    schedules = [e.threads for e in explore(TWO_BY_TWO, scheduler)]
    assert len(schedules) == expected
    assert scheduler.covered
    assert not scheduler.new_execution()
    if bound == 1:
        assert schedules == [[0, 0, 1, 1], [0, 1, 1, 0], [1, 1, 0, 0], [1, 0, 0, 1]]


@pytest.mark.parametrize("program", [lost_update(0), abba(0), lost_update(1)])
@pytest.mark.parametrize("bound", [0, 1, 2])
def test_dfs_explores_exactly_the_bounded_space(program, bound):
    expected = {
        tuple(e.threads) for e in all_executions(program) if preemptions(e.choices) <= bound
    }
    found = [tuple(e.threads) for e in explore(program, DfsScheduler(preemption_bound=bound))]
    assert len(found) == len(set(found))
    assert set(found) == expected


def test_dfs_finds_the_bugs_at_bound_1_and_not_at_0():
    for program in (lost_update(2), abba(2)):
        assert not [e for e in explore(program, DfsScheduler(preemption_bound=0)) if e.failure]
        found = [e for e in explore(program, DfsScheduler(preemption_bound=1)) if e.failure]
        assert found and all(preemptions(e.choices) == 1 for e in found)


def test_dfs_max_schedules_stops_before_covering():
    scheduler = DfsScheduler(preemption_bound=2, max_schedules=3)
    assert len(list(explore(TWO_BY_TWO, scheduler))) == 3
    assert not scheduler.covered
    assert not scheduler.new_execution()


def test_dfs_explores_draws_too():
    program = Program(((draw("d", 3), local()), (local(),)), initial=(0, 1))
    found = [(tuple(e.threads), tuple(e.draws)) for e in explore(program, DfsScheduler())]
    assert len(found) == len(set(found))
    assert {d for _, d in found} == {(0,), (1,), (2,)}
    # three draws in each of the three interleavings of one step against two
    assert len(found) == 3 * 3


def test_dfs_refuses_a_program_that_is_not_deterministic():
    scheduler = DfsScheduler(preemption_bound=1)
    assert scheduler.new_execution()
    assert scheduler.next_thread([0, 1], None, 0) == 0
    assert scheduler.next_thread([0, 1], 0, 1) == 0
    assert scheduler.new_execution()  # backtracks to step 1: thread 1 now
    with pytest.raises(DidNotReproduce, match="not deterministic") as caught:
        scheduler.next_thread([0, 2], None, 0)
    assert caught.value.step == 0
    assert "threads 0, 2" in str(caught.value) and "threads 0, 1" in str(caught.value)


def test_dfs_refuses_an_execution_that_ends_inside_its_prefix():
    scheduler = DfsScheduler(preemption_bound=1)
    scheduler.new_execution()
    scheduler.next_thread([0, 1], None, 0)
    scheduler.next_thread([0, 1], 0, 1)
    scheduler.next_thread([0, 1], 0, 2)
    scheduler.new_execution()  # must replay two steps before taking the alternative
    scheduler.next_thread([0, 1], None, 0)
    with pytest.raises(DidNotReproduce, match="ended after 1 decisions"):
        scheduler.new_execution()


# ---------------------------------------------------------------- replay


def recorded(program: Program, seed: int = 3):
    return next(explore(program, RandomScheduler(seed, 1)))


def test_strict_replay_reproduces_a_recorded_run():
    program = lost_update(3)
    for seed in range(5):
        original = recorded(program, seed)
        replay = ReplayScheduler(original.threads)
        assert replay.new_execution()
        again = execute(program, replay)
        assert again.choices == original.choices
        assert again.failure == original.failure and again.shared == original.shared
        assert not replay.finished_early()
        assert not replay.new_execution()  # one execution


def test_strict_replay_names_the_step_where_a_changed_program_diverges():
    program = lost_update(3)
    original = recorded(program)
    # Worker 1 loses its last (local) operation: it ends one step earlier than recorded.
    worker = program.threads[1][:-1]
    changed = Program((program.threads[0], worker, program.threads[2]), program.check)
    step = max(i for i, t in enumerate(original.threads) if t == 1)
    replay = ReplayScheduler(original.threads)
    replay.new_execution()
    with pytest.raises(DidNotReproduce) as caught:
        execute(changed, replay)
    assert caught.value.step == step
    assert f"replay diverged at step {step}: the recording ran thread 1, but only" in str(
        caught.value
    )


def test_divergence_message_by_hand():
    # The serial schedule of the lost update, replayed on a worker 1 that only reads: at step
    # 3 worker 1 has ended, and its end let main's join(1) proceed.
    program = lost_update(0)
    changed = Program((program.threads[0], (read("x"),), program.threads[2]), program.check)
    replay = ReplayScheduler([0, 0, 1, 1, 2, 2, 0, 0])
    replay.new_execution()
    with pytest.raises(DidNotReproduce) as caught:
        execute(changed, replay)
    assert str(caught.value) == (
        "replay diverged at step 3: the recording ran thread 1, but only threads 0, 2 can run"
    )
    assert caught.value.step == 3
    single = ReplayScheduler([1])
    single.new_execution()
    with pytest.raises(DidNotReproduce, match="recording ran thread 1, but only thread 0 can"):
        single.next_thread([0], None, 0)


def test_strict_replay_refuses_to_go_past_the_recording():
    original = recorded(lost_update(0))
    replay = ReplayScheduler(original.threads[:-2])
    replay.new_execution()
    with pytest.raises(DidNotReproduce, match=r"recording ends after 6 steps") as caught:
        execute(lost_update(0), replay)
    assert caught.value.step == 6


def test_finished_early_reports_unused_choices():
    original = recorded(lost_update(0))
    replay = ReplayScheduler([*original.threads, 0, 0])
    replay.new_execution()
    execute(lost_update(0), replay)
    assert replay.finished_early()


def test_lenient_replay_repairs_with_the_default_policy():
    program = lost_update(0)
    replay = ReplayScheduler([0, 0, 2, 2, 2, 2, 2], strict=False)  # 2 ends after two steps
    replay.new_execution()
    execution = execute(program, replay)
    assert execution.threads == [0, 0, 2, 2, 1, 1, 0, 0]
    assert preemptions(execution.choices) == 0
    assert default_choice([1, 2], None) == 1 and default_choice([1, 2], 2) == 2


def test_replay_of_draws():
    program = Program(((draw("d", 5), draw("e", 5)),))
    replay = ReplayScheduler([0, 0], draws=[4, 1])
    replay.new_execution()
    assert execute(program, replay).draws == [4, 1]
    short = ReplayScheduler([0, 0], draws=[4])
    short.new_execution()
    with pytest.raises(DidNotReproduce, match="random draw 1, but the recording has 1"):
        execute(program, short)
    lenient = ReplayScheduler([0, 0], draws=[9], strict=False)
    lenient.new_execution()
    assert execute(program, lenient).draws == [0, 0]


# ---------------------------------------------------------------- round robin


def test_round_robin_hands_over_cyclically():
    scheduler = RoundRobinScheduler()
    assert scheduler.new_execution()
    assert scheduler.next_thread([0, 1, 3], None, 0) == 0
    assert scheduler.next_thread([0, 1, 3], 0, 1) == 1
    assert scheduler.next_thread([0, 1, 3], None, 2) == 3  # 1 blocked: the next after it
    assert scheduler.next_thread([0, 1, 3], 3, 3) == 0  # wraps around
    assert scheduler.next_thread([0], 0, 4) == 0  # nobody else can run
    assert not scheduler.new_execution()


def test_round_robin_with_a_seed_is_random_among_the_others_and_deterministic():
    def run(seed: int) -> list[int]:
        scheduler = RoundRobinScheduler(seed)
        scheduler.new_execution()
        last, out = None, []
        for step in range(40):
            chosen = scheduler.next_thread([0, 1, 2, 3], last, step)
            assert chosen != last
            out.append(chosen)
            last = chosen
        return out

    assert run(1) == run(1)
    assert run(1) != run(2)
    assert set(run(1)) == {0, 1, 2, 3}
