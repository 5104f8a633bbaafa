"""Deadlocks found as cycles of the wait-for graph, from live threads and with-blocks alone.

Each deadlock here is undone at teardown: a plain Lock may be released by any thread, so the
test releases one lock of the cycle and lets the threads run out.  A thread that then releases
a lock that is no longer locked gets RuntimeError, which its target expects.
"""

from __future__ import annotations

import concurrent.futures
import threading

from ..helpers import JOIN_TIMEOUT, blocked, deadlocked, line_of, snapshot_when, started

HERE = __file__


def line(marker: str) -> int:
    return line_of(HERE, f"# @{marker}")


def steps_of(deadlock) -> dict:
    """thread name -> (wait kind, object name, holder name, holder basis)."""
    return {
        s.thread_name: (
            s.wait.kind,
            s.wait.object.name if s.wait.object else None,
            s.holder.name,
            s.holder.basis,
        )
        for s in deadlock.steps
    }


def assert_is_cycle(deadlock) -> None:
    steps = deadlock.steps
    for step, following in zip(steps, steps[1:] + steps[:1], strict=True):
        assert step.holder.ident == following.thread
        assert step.holder.alive
        assert step.holder in step.wait.holders


# ---- ABBA ----------------------------------------------------------------------------------


def take_a_then_b(lock_a, lock_b, both) -> None:
    try:
        with lock_a:  # @ab-holds-a
            both.wait()
            with lock_b:  # @ab-wants-b
                pass
    except RuntimeError:  # lock_a was released by the test to undo the deadlock
        pass


def take_b_then_a(lock_a, lock_b, both) -> None:
    try:
        with lock_b:  # @ba-holds-b
            both.wait()
            with lock_a:  # @ba-wants-a
                pass
    except RuntimeError:
        pass


def test_abba_deadlock(threads):
    lock_a, lock_b = threading.Lock(), threading.Lock()
    both = threading.Barrier(2)
    ab = threads.start(take_a_then_b, lock_a, lock_b, both, name="worker-AB")
    ba = threads.start(take_b_then_a, lock_a, lock_b, both, name="worker-BA")
    threads.on_teardown(lock_a.release)
    snap = deadlocked(ab, ba)

    [deadlock] = snap.deadlocks
    assert_is_cycle(deadlock)
    assert steps_of(deadlock) == {
        "worker-AB": ("lock", "lock_b", "worker-BA", "with-block"),
        "worker-BA": ("lock", "lock_a", "worker-AB", "with-block"),
    }
    assert {s.thread for s in deadlock.steps} == {ab.ident, ba.ident}
    assert not deadlock.certain  # both edges rest on with-block inference
    by_name = {s.thread_name: s for s in deadlock.steps}
    assert by_name["worker-AB"].wait.lineno == line("ab-wants-b")
    assert by_name["worker-AB"].holder.lineno == line("ba-holds-b")
    assert by_name["worker-BA"].wait.lineno == line("ba-wants-a")
    assert by_name["worker-BA"].holder.lineno == line("ab-holds-a")
    assert {s.wait.object.id for s in deadlock.steps} == {id(lock_a), id(lock_b)}

    ab_info = snap.thread("worker-AB")
    assert [(h.object.name, h.lineno) for h in ab_info.held] == [("lock_a", line("ab-holds-a"))]


# ---- a thread waiting for itself -----------------------------------------------------------


def reacquire(lock) -> None:
    with lock:
        lock.acquire()  # @self-deadlock


def test_thread_waiting_for_a_lock_it_holds(threads):
    lock = threading.Lock()
    t = threads.start(reacquire, lock, name="self-locked")
    threads.on_teardown(lock.release)
    snap = deadlocked(t)
    [deadlock] = snap.deadlocks
    [step] = deadlock.steps
    assert (step.thread, step.holder.ident) == (t.ident, t.ident)
    assert (step.wait.kind, step.wait.lineno, step.wait.object.name) == (
        "lock",
        line("self-deadlock"),
        "lock",
    )


# ---- thread-join cycle ---------------------------------------------------------------------


def join_while_holding(lock, other) -> None:
    try:
        with lock:  # @joiner-holds
            other.start()
            other.join()  # @joiner-joins
    except RuntimeError:
        pass


def wait_for_lock(lock) -> None:
    with lock:  # @joined-wants
        pass


def test_thread_join_cycle(threads):
    lock = threading.Lock()
    joined = threads.thread(wait_for_lock, lock, name="joined")
    joiner = threads.start(join_while_holding, lock, joined, name="joiner")
    threads.on_teardown(lock.release)
    started(joined)
    snap = deadlocked(joiner, joined)

    [deadlock] = snap.deadlocks
    assert_is_cycle(deadlock)
    assert steps_of(deadlock) == {
        "joiner": ("thread-join", "other", "joined", "joined"),
        "joined": ("lock", "lock", "joiner", "with-block"),
    }
    by_name = {s.thread_name: s for s in deadlock.steps}
    assert by_name["joiner"].wait.lineno == line("joiner-joins")
    assert by_name["joined"].wait.lineno == line("joined-wants")
    assert by_name["joined"].holder.lineno == line("joiner-holds")


# ---- a future whose task waits for the thread awaiting it ----------------------------------


def task_needs_lock(lock) -> None:
    with lock:  # @task-wants
        pass


def await_while_holding(lock, pool) -> None:
    try:
        with lock:  # @awaiter-holds
            fut = pool.submit(task_needs_lock, lock)
            fut.result()  # @awaiter-waits
    except RuntimeError:
        pass


def test_future_result_cycle(threads):
    lock = threading.Lock()
    pool = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="cyclepool")
    threads.on_teardown(lambda: pool.shutdown(wait=True))
    awaiter = threads.start(await_while_holding, lock, pool, name="awaiter")
    threads.on_teardown(lock.release)
    snapshot_when(
        lambda s: getattr(s.thread("awaiter").wait, "kind", None) == "future-result",
        "awaiter waits for its future",
    )
    [pool_thread] = [t for t in threading.enumerate() if t.name.startswith("cyclepool")]
    worker = pool_thread.name
    snap = deadlocked(awaiter, pool_thread)
    [deadlock] = snap.deadlocks
    assert_is_cycle(deadlock)
    assert steps_of(deadlock) == {
        "awaiter": ("future-result", "fut", worker, "running-task"),
        worker: ("lock", "lock", "awaiter", "with-block"),
    }
    by_name = {s.thread_name: s for s in deadlock.steps}
    assert by_name["awaiter"].wait.lineno == line("awaiter-waits")
    assert by_name[worker].wait.lineno == line("task-wants")


# ---- five philosophers, and a mixed RLock/Lock cycle ---------------------------------------


def philosopher(left, right, seated) -> None:
    try:
        with left:  # @left-fork
            seated.wait()
            with right:  # @right-fork
                pass
    except RuntimeError:
        pass


def test_five_philosophers_ring(threads):
    forks = [threading.Lock() for _ in range(5)]
    seated = threading.Barrier(5)
    diners = [
        threads.start(philosopher, forks[i], forks[(i + 1) % 5], seated, name=f"phil-{i}")
        for i in range(5)
    ]
    threads.on_teardown(forks[0].release)
    snap = deadlocked(*diners)
    [deadlock] = snap.deadlocks
    assert_is_cycle(deadlock)
    assert len(deadlock.steps) == 5
    assert steps_of(deadlock) == {
        f"phil-{i}": ("lock", "right", f"phil-{(i + 1) % 5}", "with-block") for i in range(5)
    }
    for step in deadlock.steps:
        i = int(step.thread_name.split("-")[1])
        assert step.wait.object.id == id(forks[(i + 1) % 5])
        assert step.wait.lineno == line("right-fork")
        assert step.holder.lineno == line("left-fork")


def rlock_then_lock(rlock, lock, both) -> None:
    with rlock:  # @mixed-rlock
        both.wait()
        with lock:
            pass


def lock_then_rlock(rlock, lock, both) -> None:
    try:
        with lock:  # @mixed-lock
            both.wait()
            with rlock:
                pass
    except RuntimeError:
        pass


def test_cycle_through_an_rlock_and_a_lock(threads):
    rlock, lock = threading.RLock(), threading.Lock()
    both = threading.Barrier(2)
    first = threads.start(rlock_then_lock, rlock, lock, both, name="has-rlock")
    second = threads.start(lock_then_rlock, rlock, lock, both, name="has-lock")
    threads.on_teardown(lock.release)
    snap = deadlocked(first, second)
    [deadlock] = snap.deadlocks
    assert_is_cycle(deadlock)
    assert steps_of(deadlock) == {
        "has-rlock": ("lock", "lock", "has-lock", "with-block"),
        "has-lock": ("rlock", "rlock", "has-rlock", "rlock-owner"),
    }
    assert not deadlock.certain


def test_no_cycle_when_the_holder_waits_for_something_else(threads):
    lock = threading.Lock()
    ready = threading.Event()

    def hold() -> None:
        with lock:
            ready.set()
            threads.stop.wait()

    holder = threads.start(hold, name="holder")
    assert ready.wait(JOIN_TIMEOUT)
    waiter = threads.start(wait_for_lock, lock, name="waiter")
    snap = blocked(holder, waiter)
    assert snap.thread("waiter").wait.holders[0].name == "holder"
    assert snap.deadlocks == ()
