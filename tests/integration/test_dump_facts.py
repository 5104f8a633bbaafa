"""A dump says everything it knows: names under tracking, "no deadlock" said outright, the
unfinished count of a ``Queue.join``, a future's state and pool (and a pool whose every worker
waits for its own queued tasks as a deadlock), and what a lock's holder is doing."""

from __future__ import annotations

import json
import queue
import threading
from concurrent.futures import ThreadPoolExecutor

import snarl
from snarl.sync import Lock

from ..helpers import JOIN_TIMEOUT, REPO, blocked, snapshot_when
from ..schema import validate

SCHEMA = json.loads((REPO / "docs" / "snapshot.schema.json").read_text(encoding="utf-8"))


class Pair:
    def __init__(self, lock_type: type) -> None:
        forks = [lock_type() for _ in range(2)]  # a creating line that names no lock
        self.left = forks[0]
        self.go = threading.Event()

    def hold_left(self) -> None:
        with self.left:
            self.go.wait(JOIN_TIMEOUT)


def test_a_tracked_lock_held_by_with_is_named_as_the_code_names_it(threads):
    pair = Pair(Lock)
    holder = threads.start(pair.hold_left, name="holder")
    threads.on_teardown(pair.go.set)
    snap = blocked(holder)
    assert snap.tracked
    [held] = snap.thread("holder").held
    assert held.object.name == "self.left", snarl.format_dump(snap)
    assert "holds Lock `self.left`" in snarl.format_dump(snap)


def test_a_tracked_lock_waited_for_is_named_as_the_code_names_it(threads):
    pair = Pair(Lock)
    holder = threads.start(pair.hold_left, name="holder")
    threads.on_teardown(pair.go.set)
    blocked(holder)
    waiter = threads.start(pair.hold_left, name="waiter")
    snap = snarl.wait_until_blocked(waiter, kinds={"lock"}, timeout=JOIN_TIMEOUT)
    wait = snap.thread("waiter").wait
    assert wait.object.name == "self.left"
    assert wait.holders[0].name == "holder"


def test_no_deadlock_is_said_outright_in_text_and_json(threads):
    go = threading.Event()
    t = threads.start(go.wait, JOIN_TIMEOUT, name="waits")
    threads.on_teardown(go.set)
    snap = blocked(t)
    assert snap.deadlocks == ()
    text = snarl.format_dump(snap)
    assert "\nNo deadlock: no cycle among the threads' waits.\n" in text
    data = json.loads(snarl.format_dump(snap, "json"))
    assert data["deadlocks"] == [] and data["deadlocks_checked"] is True


def test_a_queue_join_says_how_many_tasks_are_unfinished(threads):
    jobs: queue.Queue[int] = queue.Queue()
    for i in range(3):
        jobs.put(i)
    t = threads.start(jobs.join, name="joiner")

    def finish() -> None:
        for _ in range(3):
            jobs.get_nowait()
            jobs.task_done()

    threads.on_teardown(finish)
    snap = snarl.wait_until_blocked(t, kinds={"queue-join"}, timeout=JOIN_TIMEOUT)
    wait = snap.thread("joiner").wait
    assert wait.unfinished == 3
    assert "3 unfinished tasks" in snarl.format_dump(snap)
    data = json.loads(snarl.format_dump(snap, "json"))
    assert data["threads"][1]["wait"]["unfinished"] == 3
    validate(data, SCHEMA)


def test_a_future_wait_says_the_futures_state_and_pool(threads):
    release = threading.Event()
    with ThreadPoolExecutor(1, thread_name_prefix="pool") as pool:
        running = pool.submit(release.wait, JOIN_TIMEOUT)
        queued = pool.submit(int)
        a = threads.start(running.result, JOIN_TIMEOUT, name="on-running")
        b = threads.start(queued.result, JOIN_TIMEOUT, name="on-queued")
        try:
            snap = snarl.wait_until_blocked(a, b, timeout=JOIN_TIMEOUT)
        finally:
            release.set()
    on_running, on_queued = snap.thread("on-running").wait, snap.thread("on-queued").wait
    assert (on_running.future_state, on_running.pool) == ("running", "pool")
    assert (on_queued.future_state, on_queued.pool) == ("pending", "pool")
    text = snarl.format_dump(snap)
    assert "(running in pool `pool`)" in text and "(pending in pool `pool`)" in text


def test_a_pool_whose_every_worker_waits_for_its_own_queued_tasks_is_a_deadlock():
    pool = ThreadPoolExecutor(2, thread_name_prefix="selfish")
    started = threading.Barrier(3)
    inners = []

    def outer() -> int:
        # Both outer tasks are running (the pool is full) before either queues its inner
        # task: no worker is free, and none will be started for it.
        started.wait(JOIN_TIMEOUT)
        inner = pool.submit(int)
        inners.append(inner)
        return inner.result(JOIN_TIMEOUT)

    tasks = [pool.submit(outer) for _ in range(2)]
    try:
        started.wait(JOIN_TIMEOUT)

        def both_wait(snap: snarl.Snapshot) -> bool:
            workers = [t for t in snap.threads if (t.name or "").startswith("selfish")]
            return len(workers) == 2 and all(
                t.wait is not None and t.wait.kind == "future-result" for t in workers
            )

        snap = snapshot_when(both_wait, "both workers wait on queued futures")
    finally:
        for inner in inners:
            inner.cancel()  # (still queued: each outer task ends with CancelledError)
    [cycle] = snap.deadlocks
    assert {s.thread_name for s in cycle.steps} == {"selfish_0", "selfish_1"}
    assert {s.holder.basis for s in cycle.steps} == {"pool-worker"}
    text = snarl.format_dump(snap)
    assert "Found 1 deadlock:" in text and "pending in pool `selfish`" in text
    validate(json.loads(snarl.format_dump(snap, "json")), SCHEMA)  # pool-worker, future_state
    for task in tasks:
        assert task.exception(JOIN_TIMEOUT) is not None
    pool.shutdown()


def test_a_lock_wait_says_what_the_holder_is_doing(threads):
    blocker = threading.Lock()
    go = threading.Event()

    def hold() -> None:
        with blocker:
            go.wait(JOIN_TIMEOUT)

    def want() -> None:
        with blocker:
            pass

    holder = threads.start(hold, name="holder")
    threads.on_teardown(go.set)
    blocked(holder)
    waiter = threads.start(want, name="waiter")
    snap = snarl.wait_until_blocked(waiter, kinds={"lock"}, timeout=JOIN_TIMEOUT)
    [who] = snap.thread("waiter").wait.holders
    assert who.state == "waiting"
    [line] = [x for x in snarl.format_dump(snap).splitlines() if x.startswith("    waits for Lock")]
    assert 'held by "holder" (inferred from with-block at ' in line
    assert line.endswith("; waiting)")
    data = json.loads(snarl.format_dump(snap, "json"))
    [w] = [t for t in data["threads"] if t["name"] == "waiter"]
    assert w["wait"]["holders"][0]["state"] == "waiting"


def test_a_pool_with_a_worker_that_will_free_itself_is_no_deadlock():
    pool = ThreadPoolExecutor(2, thread_name_prefix="busy")
    gate, started = threading.Event(), threading.Barrier(3)

    def blocked_on_gate() -> None:
        started.wait(JOIN_TIMEOUT)
        gate.wait(JOIN_TIMEOUT)

    def waits_for_queued() -> int:
        started.wait(JOIN_TIMEOUT)  # both workers busy: the inner task is queued
        return pool.submit(int).result(JOIN_TIMEOUT)

    tasks = [pool.submit(blocked_on_gate), pool.submit(waits_for_queued)]
    try:
        started.wait(JOIN_TIMEOUT)

        def both_parked(snap: snarl.Snapshot) -> bool:
            kinds = sorted(
                t.wait.kind
                for t in snap.threads
                if (t.name or "").startswith("busy") and t.wait is not None
            )
            return kinds == ["event", "future-result"]

        snap = snapshot_when(both_parked, "one worker on the gate, one on a queued future")
    finally:
        gate.set()
    assert snap.deadlocks == ()  # the gate's worker will be free to run the queued task
    [waiter] = [t for t in snap.threads if t.wait is not None and t.wait.kind == "future-result"]
    assert (waiter.wait.future_state, waiter.wait.pool, waiter.wait.holders) == (
        "pending",
        "busy",
        (),
    )
    for task in tasks:
        task.result(JOIN_TIMEOUT)
    pool.shutdown()
