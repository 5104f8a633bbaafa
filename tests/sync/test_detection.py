"""Deadlocks found from the observer's state and the one wait-for graph.

Each scenario builds a real deadlock (or a lock held by a dead thread), waits until the
observer's state shows every wait, checks what ``wait_edges`` + ``WaitGraph`` find, then
breaks the deadlock by releasing a Lock from the test thread (any thread may release a Lock).
"""

from __future__ import annotations

import contextlib
import threading

from snarl.analysis.waitgraph import WaitGraph
from snarl.runtime.observer import wait_edges
from snarl.sync import Lock

from .conftest import TIMEOUT, wait_for_state


def cycles(state):
    graph: WaitGraph = WaitGraph()
    for waiter, holder, payload in wait_edges(state):
        graph.add(waiter, holder, payload)
    return graph.cycles()


def lock_waits(state, n):
    return sum(w["kind"] == "lock" for w in state["waits"].values()) >= n


def test_abba_deadlock_is_a_cycle_of_two(threads):
    lock_a = Lock()
    lock_b = Lock()
    both_hold = threading.Barrier(2)

    def worker(first, second):
        first.acquire()
        both_hold.wait(TIMEOUT)
        second.acquire()
        second.release()
        with contextlib.suppress(RuntimeError):  # the test may have released it
            first.release()

    t1 = threads.start(worker, lock_a, lock_b, name="worker-AB")
    t2 = threads.start(worker, lock_b, lock_a, name="worker-BA")
    try:
        state = wait_for_state(lambda s: len(cycles(s)) == 1 and lock_waits(s, 2))
        (cycle,) = cycles(state)
        assert {step[0] for step in cycle} == {t1.ident, t2.ident}
        by_waiter = {waiter: (holder, payload) for waiter, holder, payload in cycle}
        assert by_waiter[t1.ident][0] == t2.ident
        assert by_waiter[t1.ident][1]["name"] == "lock_b"
        assert by_waiter[t2.ident][1]["name"] == "lock_a"
        lock_facts = state["locks"][id(lock_a)]
        assert lock_facts["owner"] == t1.ident and lock_facts["owner_name"] == "worker-AB"
        assert lock_facts["acquired"][0] == __file__
        assert lock_facts["waiters"][0][0] == t2.ident
        assert state["waits"][t2.ident]["since"] <= state["now"]
    finally:
        with contextlib.suppress(RuntimeError):  # break it (even after a failed assertion:
            lock_a.release()  # no thread is left stuck for the tests after this one)


def test_five_philosophers(threads):
    forks = [Lock(name=f"fork-{i}") for i in range(5)]
    seated = threading.Barrier(5)

    def philosopher(i):
        left, right = forks[i], forks[(i + 1) % 5]
        left.acquire()
        seated.wait(TIMEOUT)
        right.acquire()
        right.release()
        with contextlib.suppress(RuntimeError):
            left.release()

    ts = [threads.start(philosopher, i, name=f"phil-{i}") for i in range(5)]
    try:
        state = wait_for_state(lambda s: len(cycles(s)) == 1 and len(cycles(s)[0]) == 5)
        (cycle,) = cycles(state)
        assert {w for w, _, _ in cycle} == {t.ident for t in ts}
        assert {p["name"] for _, _, p in cycle} == {f"fork-{i}" for i in range(5)}
    finally:
        with contextlib.suppress(RuntimeError):  # break it even after a failed assertion
            forks[0].release()


def test_join_cycle(installed, threads):
    """A thread joins a thread that waits for a lock the joiner holds."""
    guard = Lock()
    started = threading.Event()
    holder_box = {}

    def waiter():
        started.set()
        guard.acquire()
        guard.release()

    def joiner():
        guard.acquire()
        t = threading.Thread(target=waiter, name="waiter", daemon=True)
        holder_box["waiter"] = t
        t.start()
        started.wait(TIMEOUT)
        t.join(TIMEOUT)
        with contextlib.suppress(RuntimeError):
            guard.release()

    j = threads.start(joiner, name="joiner")
    state = wait_for_state(lambda s: len(cycles(s)) == 1)
    (cycle,) = cycles(state)
    w = holder_box["waiter"]
    kinds = {waiter: p["kind"] for waiter, _, p in cycle}
    assert kinds == {j.ident: "join", w.ident: "lock"}
    assert state["waits"][j.ident]["target"] == w.ident
    guard.release()
    w.join(TIMEOUT)


def test_lock_held_by_an_exited_thread(installed, threads):
    blocker = Lock()
    t = threads.start(blocker.acquire, name="Thread-quitter")
    t.join(TIMEOUT)
    w = threads.start(blocker.acquire, name="stuck")
    state = wait_for_state(lambda s: w.ident in s["waits"])
    facts = state["locks"][id(blocker)]
    assert facts["name"] == "blocker"
    assert facts["owner"] == t.ident and facts["owner_alive"] is False
    assert facts["owner_exited"]["name"] == "Thread-quitter"
    assert id(blocker) in state["exited"][t.ident]["held"]
    assert facts["waiters"][0][0] == w.ident
    assert cycles(state) == []  # no cycle: a wait no one can end, reported as owner_exited
    assert wait_edges(state) == []
    blocker.release()  # the stuck thread now gets it
    w.join(TIMEOUT)
    assert tracked_owner(blocker) == w.ident


def tracked_owner(lock):
    return lock.owner


def test_internal_frames_are_marked(threads):
    """A dump can hide snarl's own frames: the first other frame is the acquiring line."""
    import sys

    from snarl.identity import INTERNAL_FILES

    held = Lock()
    held.acquire()

    def blocked_on():
        held.acquire()
        held.release()

    t = threads.start(blocked_on, name="blocked")
    try:
        wait_for_state(lambda s: t.ident in s["waits"])
        frame = sys._current_frames()[t.ident]
        assert frame.f_code.co_filename in INTERNAL_FILES
        while frame.f_code.co_filename in INTERNAL_FILES:
            frame = frame.f_back
        assert frame.f_code is blocked_on.__code__
    finally:
        held.release()
