"""snarl's bookkeeping under real parallelism: threads hammer tracked primitives while the main
thread takes snapshots.  Nothing may be lost or invented: every owner a snapshot names is a
live thread, at the end no lock has an owner and no thread a wait, and the lock-order
validator, with every thread taking the locks in one global order, reports no cycle, and no
snapshot reports a deadlock (a thread caught inside snarl's acquire after it got the lock, while
recording it, is not waiting: only snarl's records say a thread waits on snarl's locks).  On a
build with a GIL this checks the logic; on a free-threaded build (3.13t), where the threads
really run at once on the machine's cores, it checks that the bookkeeping races with nothing.
"""

from __future__ import annotations

import threading

import snarl
from snarl.runtime.observer import tracked_state
from snarl.threaddump import render

from ..helpers import JOIN_TIMEOUT

THREADS = 6
ROUNDS = 400


def test_parallel_hammering_leaves_no_lost_owner_no_phantom_waiter_no_false_cycle():
    inversions: list[object] = []
    errors: list[BaseException] = []
    with snarl.install(lockorder=True, report=inversions.append):
        locks = [threading.Lock() for _ in range(3)]
        rlock = threading.RLock()
        cond = threading.Condition(threading.Lock())
        sem = threading.BoundedSemaphore(2)
        ready = threading.Barrier(THREADS + 1)
        tokens: list[int] = []
        stop = threading.Event()

        def work(me: int) -> None:
            try:
                ready.wait(JOIN_TIMEOUT)
                for i in range(ROUNDS):
                    first = (me + i) % len(locks)
                    for lock in locks[first:]:  # always in ascending order: no cycle
                        lock.acquire()
                    for lock in reversed(locks[first:]):
                        lock.release()
                    with rlock, rlock, sem:
                        pass
                    if locks[0].acquire(timeout=0.001):
                        locks[0].release()
                    with cond:
                        tokens.append(me)
                        cond.notify()
                    with cond:
                        cond.wait_for(lambda: tokens or stop.is_set(), timeout=0.01)
                        if tokens:
                            tokens.pop()
            except BaseException as exc:  # (reported by the test, not lost in a thread)
                errors.append(exc)

        threads = [threading.Thread(target=work, args=(n,), name=f"w{n}") for n in range(THREADS)]
        for t in threads:
            t.start()
        ready.wait(JOIN_TIMEOUT)
        snapshots = 0
        while any(t.is_alive() for t in threads):
            snap = snarl.snapshot()
            snapshots += 1
            assert not snap.deadlocks, "\n".join(render.format_text(snap))
            stop.wait(0.005)  # (a snapshot parks every other thread: let them go on between)
            live = {t.ident for t in snap.threads}
            for t in snap.threads:
                for held in t.held:
                    assert t.ident in live, held
                if t.wait is not None:
                    for holder in t.wait.holders:
                        assert holder.ident is None or holder.ident in live or holder.exited, t
        stop.set()
        for t in threads:
            t.join(JOIN_TIMEOUT)
        state = tracked_state(all_locks=True)
    assert not errors, errors
    assert snapshots > 0
    assert not inversions, inversions
    mine = {id(p) for p in (*locks, rlock)}
    still = {k: v for k, v in state["locks"].items() if k in mine and v.get("owner") is not None}
    assert not still, still  # no lost owner
    assert not state["waits"], state["waits"]  # no phantom waiter
