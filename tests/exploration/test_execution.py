"""One controlled execution and what an exploration shares between executions: the
scheduler's errors on both switch paths, hooks started once, the CPU pin."""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Sequence

import pytest

import snarl
from snarl.exploration import execution as execution_module
from snarl.exploration.execution import Exploring, execute
from snarl.exploration.granularity import PreemptionHooks
from snarl.exploration.strategies import ReplayScheduler
from snarl.runtime.base import current_runtime


class Scripted:
    """A scheduler that runs thread 0 on, except at one step where it misbehaves."""

    def __init__(self, at: int, misbehave: str) -> None:
        self.at, self.misbehave = at, misbehave

    def new_execution(self) -> bool:
        return True

    def next_thread(self, runnable: Sequence[int], current: int | None, step: int) -> int:
        if step == self.at:
            if self.misbehave == "raise":
                raise ValueError("the strategy broke")
            return 99
        return current if current is not None else runnable[0]

    def next_int(self, bound: int) -> int:
        return 0


def locking() -> None:
    lock = threading.Lock()
    for _ in range(5):
        with lock:
            pass


@pytest.mark.parametrize("misbehave", ["raise", "unknown thread"])
@pytest.mark.parametrize("at", [0, 3])  # thread 0's first acquire; a later release
def test_a_misbehaving_scheduler_ends_the_execution_with_its_error(misbehave, at):
    with Exploring():
        rt = execute(locking, Scripted(at, misbehave))
    assert rt.outcome is not None and rt.outcome.kind == "scheduler-error"
    assert len(rt.choices) == at  # the bad step recorded no choice
    text = str(rt.outcome.exception)
    assert ("the strategy broke" in text) if misbehave == "raise" else ("chose 99" in text)
    assert rt.threads[0].state == "finished"  # thread 0 (the runner's) unwound


def test_a_misbehaving_scheduler_at_a_blocked_thread_is_reported_too():
    def blocking() -> None:
        ready = threading.Event()
        threading.Thread(target=ready.set).start()
        ready.wait()  # blocks thread 0 (a slow-path switch) unless the set ran first

    with Exploring():
        rt = execute(blocking, Scripted(2, "raise"))
    assert rt.outcome is not None and rt.outcome.kind == "scheduler-error"


def counting() -> None:
    total = 0
    for i in range(3):
        total += i


def test_an_exploration_starts_its_hooks_once(monkeypatch):
    starts: list[str] = []
    start = PreemptionHooks.start

    def counted(self: PreemptionHooks) -> None:
        starts.append(self.granularity)
        start(self)

    monkeypatch.setattr(PreemptionHooks, "start", counted)
    result = snarl.explore(counting, schedules=20, granularity="line", shrink=False)
    assert result.schedules == 20 and not result.found
    assert starts == ["line"]
    assert execution_module._shared == {}  # and it is gone afterwards


def test_shared_hooks_reach_each_execution_and_nothing_between():
    with Exploring("line") as exploring:
        hooks = exploring.hooks
        assert hooks is not None
        lengths = []
        for _ in range(2):
            scheduler = ReplayScheduler((), strict=False)
            scheduler.new_execution()
            rt = execute(counting, scheduler, granularity="line")
            lengths.append(len(rt.choices))
            assert hooks.target == execution_module._nothing  # between executions: no one
        assert lengths[0] == lengths[1] > 5  # a switch point per line, in both executions
        with Exploring("line") as inner:  # nested: the outer one's hooks serve
            assert inner.hooks is None
    assert execution_module._shared == {}
    if sys.version_info >= (3, 12):
        assert all(sys.monitoring.get_tool(t) is None for t in (3, 4, 5))
    else:
        assert threading.gettrace() is None  # type: ignore[attr-defined]


def test_an_execution_on_its_own_starts_and_stops_its_hooks():
    scheduler = ReplayScheduler((), strict=False)
    scheduler.new_execution()
    with Exploring():  # primitives installed; no hooks of any granularity shared
        rt = execute(counting, scheduler, granularity="line")
    assert len(rt.choices) > 5
    if sys.version_info >= (3, 12):
        assert all(sys.monitoring.get_tool(t) is None for t in (3, 4, 5))


linux_smp = pytest.mark.skipif(
    not hasattr(os, "sched_setaffinity") or len(os.sched_getaffinity(0)) < 2,
    reason="needs Linux's sched_setaffinity and two CPUs",
)


def where() -> tuple[set[int], int]:
    return set(os.sched_getaffinity(0)), os.sched_getscheduler(0)


@linux_smp
def test_an_exploration_runs_its_threads_on_one_cpu_without_wakeup_preemption():
    seen: list[tuple[set[int], int]] = []

    def test() -> None:
        worker = threading.Thread(target=lambda: seen.append(where()))
        worker.start()
        worker.join()
        seen.append(where())

    before = where()
    snarl.explore(test, schedules=3, shrink=False)
    assert where() == before  # the caller's mask and policy are back
    assert len(seen) == 6
    assert all(len(cpus) == 1 and cpus <= before[0] for cpus, _ in seen)
    assert {policy for _, policy in seen} == {os.SCHED_BATCH}


@linux_smp
def test_snarl_pin_0_leaves_the_threads_alone(monkeypatch):
    monkeypatch.setenv("SNARL_PIN", "0")
    seen: list[tuple[set[int], int]] = []
    before = where()
    snarl.explore(lambda: seen.append(where()), schedules=2, shrink=False)
    assert seen == [before, before]


def test_the_runtime_is_restored_after_an_exploration():
    before = current_runtime()
    snarl.explore(counting, schedules=2, granularity="bytecode", shrink=False)
    assert current_runtime() is before


def test_a_started_thread_is_alive_with_its_ident_before_it_first_runs():
    seen: list[tuple[bool, bool, bool]] = []

    def test() -> None:
        worker = threading.Thread(target=lambda: None)
        worker.start()  # the runtime starts it; the scheduler below never lets it run first
        seen.append((worker.is_alive(), worker.ident is not None, worker._started.is_set()))
        worker.join()
        seen.append((worker.is_alive(), worker.native_id is not None, True))

    with Exploring():
        scheduler = ReplayScheduler((), strict=False)  # no preemption: the parent goes on
        scheduler.new_execution()
        rt = execute(test, scheduler)
    assert rt.outcome is not None and rt.outcome.kind == "ok"
    assert seen == [(True, True, True), (False, True, True)]


def test_a_thread_abandoned_before_it_ran_is_not_left_alive():
    import time

    started: list[threading.Thread] = []

    def test() -> None:
        worker = threading.Thread(target=lambda: None)
        started.append(worker)
        worker.start()
        raise AssertionError("the test fails before its thread ever runs")

    began = time.monotonic()
    with Exploring():
        scheduler = ReplayScheduler((), strict=False)
        scheduler.new_execution()
        rt = execute(test, scheduler)
    assert rt.outcome is not None and rt.outcome.kind == "exception"
    assert not started[0].is_alive()
    assert started[0] not in threading.enumerate()
    assert time.monotonic() - began < 2.5  # reaping it did not wait out a timeout (5 s)


def test_thread_0_is_one_thread_for_an_exploration_and_the_threads_it_starts_are_new(
    monkeypatch,
):
    # A threading.local kept in any module gives every execution a new thread 0 (see
    # execution._Runner); the control programs keep one, if another test imported them.
    control = sys.modules.get("tests.exploration.programs.control")
    if control is not None:
        monkeypatch.setattr(control, "LOCAL", None)
    idents: list[tuple[int, threading.Thread, str]] = []  # (workers kept: ids stay unique)

    def test() -> None:
        worker = threading.Thread(target=lambda: None)
        worker.start()
        worker.join()
        idents.append((threading.get_ident(), worker, threading.current_thread().name))

    result = snarl.explore(test, schedules=5, shrink=False)
    assert result.schedules == 5
    assert len({ident for ident, _, _ in idents}) == 1
    assert len({id(worker) for _, worker, _ in idents}) == 5
    assert {name for _, _, name in idents} == {"test"}
    assert execution_module._runners == []  # gone with the exploration


def test_a_thread_0_stuck_outside_snarl_gets_a_new_thread_0_for_the_next_execution():
    import _thread

    native = _thread.allocate_lock()
    native.acquire()
    ran: list[int] = []

    def stuck() -> None:
        ran.append(threading.get_ident())
        native.acquire()  # a native lock: the runtime cannot see this wait

    def fine() -> None:
        ran.append(threading.get_ident())

    try:
        with Exploring():
            first = ReplayScheduler((), strict=False)
            first.new_execution()
            rt = execute(stuck, first, stuck_after=0.3)
            assert rt.outcome is not None and rt.outcome.kind == "stuck"
            second = ReplayScheduler((), strict=False)
            second.new_execution()
            rt = execute(fine, second)
            assert rt.outcome is not None and rt.outcome.kind == "ok"
    finally:
        native.release()
    assert len(ran) == 2 and ran[0] != ran[1]


@linux_smp
def test_a_preferred_cpu_is_taken_in_turn_from_those_allowed():
    from snarl.exploration.pinning import pinned

    allowed = sorted(os.sched_getaffinity(0))
    for prefer in range(len(allowed) + 1):
        with pinned(prefer):
            assert os.sched_getaffinity(0) == {allowed[prefer % len(allowed)]}
    assert sorted(os.sched_getaffinity(0)) == allowed


def test_an_exploring_that_fails_to_start_its_hooks_leaves_everything_as_found(monkeypatch):
    from snarl.sync.patch import installed

    def no_tool(self: PreemptionHooks) -> None:
        raise RuntimeError("snarl: no free sys.monitoring tool id (3, 4 and 5 are in use)")

    monkeypatch.setattr(PreemptionHooks, "start", no_tool)
    was_installed = installed()
    before = where() if hasattr(os, "sched_getaffinity") else None
    with pytest.raises(RuntimeError, match=r"no free sys\.monitoring tool id"), Exploring("line"):
        pass  # never reached
    assert installed() == was_installed
    assert execution_module._shared == {} and execution_module._runners == []
    if before is not None:
        assert where() == before


@pytest.mark.skipif(sys.version_info >= (3, 13), reason="3.13 starts threads with a handle")
def test_a_thread_abandoned_before_its_os_thread_ran_is_reaped_at_once(monkeypatch):
    # The OS thread starts late (as under load): the explorer's reaping join is already
    # waiting on the stand-in _tstate_lock when the thread is abandoned.
    import time

    from snarl.runtime import controlled

    native = controlled._start_new_thread

    def late(function, args):
        def slow():
            time.sleep(0.3)
            function(*args)

        return native(slow, ())

    monkeypatch.setattr(controlled, "_start_new_thread", late)

    def test() -> None:
        threading.Thread(target=lambda: None).start()
        raise AssertionError("the test fails before its thread ever runs")

    began = time.monotonic()
    with Exploring():
        scheduler = ReplayScheduler((), strict=False)
        scheduler.new_execution()
        rt = execute(test, scheduler)
    assert rt.outcome is not None and rt.outcome.kind == "exception"
    assert time.monotonic() - began < 2.5  # not the reap's 5 s timeout
