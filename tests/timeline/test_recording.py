"""Recording real threads: waits, who released them, thread lives, the ring buffer, and that
nothing of the recording stays behind."""

from __future__ import annotations

import threading
from _thread import LockType

import pytest

import snarl
from snarl.interval.offer import Handoff
from snarl.runtime.observer import OBSERVER
from snarl.sync.condition import Condition
from snarl.sync.lock import Lock, RLock
from snarl.timeline import record

from .helpers import lane_of, recorded_waiting, slices, waits


def test_a_lock_handoff_is_a_wait_released_by_the_holder(threads):
    with record() as rec:
        lock = threading.Lock()
        held = threading.Event()
        go = threading.Event()

        def holder() -> None:
            with lock:
                held.set()
                go.wait()

        def waiter() -> None:
            held.wait()
            with lock:
                pass

        t1 = threads.start(holder, name="holder")
        t2 = threads.start(waiter, name="waiter")
        recorded_waiting(rec, lock)
        go.set()
        t1.join()
        t2.join()
    [wait] = waits(rec, "lock", "lock")
    _, t0, t1_, lane, _kind, obj, site, outcome, by = wait
    assert lane == lane_of(rec, "waiter")
    assert obj[1:] == ("Lock", "lock")
    assert outcome == "done"
    assert by is not None and by[0] == lane_of(rec, "holder")
    assert t0 <= by[1] <= t1_  # released while the waiter waited
    assert site is not None and site[0] == __file__ and site[2] == "waiter"
    tl = rec.timeline()
    [flow] = [f for f in tl.flows if f.dst_lane == lane_of(rec, "waiter")]
    assert (flow.src_lane, flow.label) == (lane_of(rec, "holder"), "released")
    assert flow.src_time == by[1] and flow.dst_time == t1_
    [s] = slices(tl, "lock", "Lock `lock`")
    assert s.details["released by"] == "holder"
    assert s.label == "Lock `lock`"


def test_a_bare_release_by_another_thread_is_the_releaser(threads):
    with record() as rec:
        turn = threading.Lock()
        turn.acquire()
        t = threads.start(turn.acquire, name="taker")
        recorded_waiting(rec, turn)
        turn.release()  # by the main thread
        t.join()
        turn.release()
    [wait] = waits(rec, "lock", "turn")
    assert wait[8][0] == lane_of(rec, threading.main_thread().name)


def test_a_condition_waiter_is_released_by_the_notifier(threads):
    with record() as rec:
        cond = threading.Condition(threading.Lock())
        ready = []

        def waiter() -> None:
            with cond:
                cond.wait_for(lambda: ready)

        def notifier() -> None:
            with cond:
                ready.append(1)
                cond.notify()

        t = threads.start(waiter, name="waiter")
        recorded_waiting(rec, cond)
        n = threads.start(notifier, name="notifier")
        t.join()
        n.join()
    [wait] = waits(rec, "condition")
    assert wait[3] == lane_of(rec, "waiter")
    assert wait[7] == "done"
    assert wait[8] is not None and wait[8][0] == lane_of(rec, "notifier")


def test_an_event_a_semaphore_and_a_default_condition_name_who_woke_them(threads):
    with record() as rec:
        event = threading.Event()
        sem = threading.Semaphore(0)
        cond = threading.Condition()  # over an RLock
        flag = []
        t_event = threads.start(event.wait, name="event-waiter")
        t_sem = threads.start(sem.acquire, name="sem-waiter")

        def cond_waiter() -> None:
            with cond:
                cond.wait_for(lambda: flag)

        t_cond = threads.start(cond_waiter, name="cond-waiter")
        recorded_waiting(rec, event)
        recorded_waiting(rec, sem)
        recorded_waiting(rec, cond)

        def wake() -> None:
            event.set()
            sem.release()
            with cond:
                flag.append(1)
                cond.notify_all()

        w = threads.start(wake, name="waker")
        for t in (t_event, t_sem, t_cond, w):
            t.join()
    waker = lane_of(rec, "waker")
    for kind, name in (("event", "event-waiter"), ("semaphore", "sem-waiter")):
        [wait] = [ev for ev in waits(rec, kind) if ev[3] == lane_of(rec, name)]
        assert wait[8] is not None and wait[8][0] == waker, kind
    [wait] = [ev for ev in waits(rec, "condition") if ev[3] == lane_of(rec, "cond-waiter")]
    assert wait[8] is not None and wait[8][0] == waker


def test_an_rlock_handed_over_by_a_bare_release(threads):
    with record() as rec:
        rlock = threading.RLock()
        rlock.acquire()
        rlock.acquire()  # re-entered: only the final release hands it over
        t = threads.start(rlock.acquire, name="taker")
        recorded_waiting(rec, rlock)
        rlock.release()
        rlock.release()
        t.join()
        # the taker holds it now; it ends holding it, which is no business of this test
    [wait] = waits(rec, "rlock")
    assert wait[8] is not None and wait[8][0] == lane_of(rec, threading.main_thread().name)


def test_a_join_is_released_by_the_thread_ending(threads):
    with record() as rec:
        go = threading.Event()
        t = threads.start(go.wait, name="worker")
        joiner = threads.start(t.join, name="joiner")
        recorded_waiting(rec, t)
        go.set()
        joiner.join()
    [wait] = [ev for ev in waits(rec, "join") if ev[3] == lane_of(rec, "joiner")]
    assert wait[5][1:] == ("Thread", "worker")
    assert wait[8] is not None and wait[8][0] == lane_of(rec, "worker")
    [exit_] = [ev for ev in rec.events if ev[0] == "exit" and ev[4] == "worker"]
    assert wait[8][1] == exit_[1]


def test_a_timeout_is_recorded_without_a_releaser():
    with record() as rec:
        lock = threading.Lock()
        lock.acquire()
        got = []
        t = threading.Thread(target=lambda: got.append(lock.acquire(timeout=0.01)))
        t.start()
        t.join()
        lock.release()
    assert got == [False]
    [wait] = waits(rec, "lock", "lock")
    assert wait[7] == "timeout" and wait[8] is None


def test_a_wait_still_going_at_the_stop_is_unfinished(threads):
    lock = None
    with record() as rec:
        lock = threading.Lock()
        lock.acquire()
        t = threads.start(lock.acquire, name="stuck")
        recorded_waiting(rec, lock)
    threads.on_teardown(lock.release)
    [wait] = waits(rec, "lock", "lock")
    assert wait[7] == "unfinished" and wait[2] == rec.ended
    tl = rec.timeline()
    [s] = slices(tl, "lock", "Lock `lock`")
    assert s.flag == "unfinished"
    assert tl.lane(lane_of(rec, "stuck")).end == rec.ended  # still alive at the end
    t.join(0)


def test_thread_lives_are_recorded():
    with record() as rec:
        t = threading.Thread(target=lambda: None, name="short")
        t.start()
        t.join()
    [start] = [ev for ev in rec.events if ev[0] == "thread" and ev[4] == "short"]
    [end] = [ev for ev in rec.events if ev[0] == "exit" and ev[4] == "short"]
    assert start[5] == "start" and start[1] <= end[1] and start[2] == end[2]
    lane = rec.timeline().lane(start[2])
    assert lane is not None and lane.exited and lane.name == "short"
    assert (lane.start, lane.end) == (start[1], end[1])


def test_the_ring_buffer_drops_the_oldest_and_says_how_many():
    with record(size=5) as rec:
        workers = [threading.Thread(target=int) for _ in range(15)]
        for t in workers:
            t.start()
        for t in workers:
            t.join()
    events = rec.events
    assert len(events) == 5
    # each thread's start and exit (30 events), and the main thread's joins: at least 25
    # of them dropped (a lock wait is not counted on: a waiter's lock may come free while it
    # gives the holder its turn, see ObserverRuntime.block)
    assert rec.dropped >= 25
    tl = rec.timeline()
    assert tl.dropped == rec.dropped
    assert any("dropped" in note for note in tl.notes)
    assert rec.to_chrome_trace()["otherData"]["dropped"] == rec.dropped


def test_nothing_of_a_recording_stays_behind(threads):
    notify = Condition.notify
    offer, ack = Handoff.offer, Handoff.ack
    with record(gil=True) as rec:
        assert OBSERVER.recorder is not None
        lock = threading.Lock()
        rlock = threading.RLock()
        idle = threading.Lock()
        for prim in (lock, rlock):
            prim.acquire()
            t = threads.start(prim.acquire, name=f"waits-{type(prim).__name__}")
            recorded_waiting(rec, prim)
            assert (type(prim._inner) is not LockType) if type(prim) is Lock else True
            prim.release()
            t.join()
        with idle:  # uncontended: the recorder never touches it
            assert type(idle._inner) is LockType and type(idle) is Lock
    assert OBSERVER.recorder is None
    assert type(lock) is Lock and type(lock._inner) is LockType
    assert type(rlock) is RLock
    assert Condition.notify is notify
    assert (Handoff.offer, Handoff.ack) == (offer, ack)


def test_the_ring_keeps_the_newest_events_and_counts_the_rest():
    rec = record(size=3)
    with rec:
        recorder = rec._recorder
        for i in range(10):
            recorder._add(("mark", i))
        assert rec.dropped == 7
    assert rec.events == [("mark", 7), ("mark", 8), ("mark", 9)]
    assert rec.dropped == 7


def test_record_installs_tracking_for_its_block_only():
    if snarl.sync.installed():
        pytest.skip("tracking is installed by the run; record() leaves it alone then")
    native = threading.Lock
    with record():
        assert threading.Lock is Lock
    assert threading.Lock is native


def test_one_recording_at_a_time():
    with record(), pytest.raises(RuntimeError, match="already running"), record():
        pass


@pytest.mark.parametrize("size", [0, -1, 1.5, True])
def test_size_must_be_a_positive_integer(size):
    with pytest.raises((ValueError, TypeError)):
        record(size=size)


def test_a_dump_while_recording_still_shows_the_holder_of_a_watched_lock(threads):
    with record() as rec:
        lock = threading.Lock()
        held = threading.Event()
        go = threading.Event()

        def holder() -> None:
            with lock:
                held.set()
                go.wait()

        h = threads.start(holder, name="holder")
        held.wait()
        w = threads.start(lock.acquire, name="waiter")
        threads.on_teardown(lambda: lock.release() if lock.locked() else None)
        recorded_waiting(rec, lock)
        snap = snarl.snapshot()
        go.set()
        h.join()
        w.join()
    [info] = [t for t in snap.threads if t.name == "holder"]
    assert [held.object.name for held in info.held] == ["lock"]
    [info] = [t for t in snap.threads if t.name == "waiter"]
    assert info.wait is not None and info.wait.object is not None
    assert info.wait.object.name == "lock"


def test_gil_offers_are_recorded_under_the_check_interval(threads):
    def spin() -> None:
        for _ in range(20_000):
            pass

    with record(gil=True) as rec:
        workers = [threading.Thread(target=spin, name=f"spin-{i}") for i in range(2)]
        with snarl.checkinterval(50):
            for t in workers:
                t.start()
            for t in workers:
                t.join()
    offers = [ev for ev in rec.events if ev[0] == "gil"]
    assert offers, "no GIL offer recorded"
    assert all(ev[1] <= ev[2] for ev in offers)
    assert [ev[2] for ev in rec.events if ev[0] == "interval"] == [True, False]
    tl = rec.timeline()
    assert any(s.kind == "running" for s in tl.slices)
    taken = [ev for ev in offers if ev[4] is not None]
    for ev in taken:  # the thread that took it is another one, during the offer
        assert ev[4][0] != ev[3] and ev[1] <= ev[4][1] <= ev[2]
