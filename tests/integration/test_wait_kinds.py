"""Every wait kind and thread state, inferred from live threads without instrumentation.

Each target function below parks on one primitive at a line tagged ``# @marker``; the tests
find that line by its marker, take a snapshot once the thread is parked, and check the kind,
the state, the object (type, id, name as the code spells it), the waiting line and the holders.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import os
import queue
import select
import selectors
import socket
import threading
import time
from pathlib import Path
from time import sleep

import pytest

import snarl
from snarl import Holder
from snarl.threaddump.model import STATES, WAIT_KINDS

from ..helpers import JOIN_TIMEOUT, blocked, line_of, snapshot_when

HERE = __file__
WARM_TIMEOUT = 3.0  # parking takes milliseconds; a thread misread as running fails sooner
SOURCE_LINES = Path(HERE).read_text(encoding="utf-8").splitlines()

blocker = threading.Lock()  # replaced by test_lock_acquire_on_global_names_it


def line(marker: str) -> int:
    return line_of(HERE, f"# @{marker}")


def assert_waits_at(info: snarl.ThreadInfo, marker: str, function: str) -> snarl.WaitInfo:
    wait = info.wait
    assert wait is not None, f"{info.label} has no wait (state {info.state}, in {info.in_call})"
    assert wait.filename == HERE
    assert wait.lineno == line(marker)
    assert wait.function == function
    assert wait.source == SOURCE_LINES[wait.lineno - 1].strip()
    return wait


# ---- targets -------------------------------------------------------------------------------


def acquire_global_blocker() -> None:
    blocker.acquire()  # @global-lock


def acquire_lock(lock: threading.Lock) -> None:
    lock.acquire()  # @lock-acquire
    lock.release()


def enter_lock(lock: threading.Lock) -> None:
    with lock:  # @lock-with-enter
        pass


def hold_in_with(lock: threading.Lock, ready: threading.Event, stop: threading.Event) -> None:
    with lock:  # @hold-with
        ready.set()
        stop.wait()  # @hold-with-wait


def acquire_in_argument(note: list, lock: threading.Lock) -> None:
    # On 3.13 `note, lock` load as one LOAD_FAST_LOAD_FAST: the receiver is its second half.
    note.append((note, lock.acquire()))  # @lock-in-argument
    lock.release()


def hold_rlock(rlock: threading.RLock, ready: threading.Event, stop: threading.Event) -> None:
    rlock.acquire()
    try:
        ready.set()
        stop.wait()
    finally:
        rlock.release()


def acquire_rlock(rlock: threading.RLock) -> None:
    rlock.acquire()  # @rlock-acquire
    rlock.release()


def hold_rlock_in_with(
    rlock: threading.RLock, ready: threading.Event, stop: threading.Event
) -> None:
    with rlock:  # @rlock-hold-with
        ready.set()
        stop.wait()


def enter_rlock(rlock: threading.RLock) -> None:
    with rlock:  # @rlock-with-enter
        pass


def acquire_py_rlock(prl: threading.RLock) -> None:
    prl.acquire()  # @py-rlock-acquire
    prl.release()


def wait_condition(cond: threading.Condition, stop: threading.Event) -> None:
    with cond:
        while not stop.is_set():
            cond.wait()  # @condition-wait


def wait_condition_for(cond: threading.Condition, stop: threading.Event) -> None:
    with cond:
        cond.wait_for(stop.is_set)  # @condition-wait-for


def wait_event(ev: threading.Event) -> None:
    ev.wait()  # @event-wait


def acquire_semaphore(sem: threading.Semaphore) -> None:
    sem.acquire()  # @semaphore-acquire


def wait_barrier(barrier: threading.Barrier) -> None:
    with contextlib.suppress(threading.BrokenBarrierError):  # aborted at teardown
        barrier.wait()  # @barrier-wait


def get_item(q: queue.Queue) -> None:
    q.get()  # @queue-get


def get_simple(sq: queue.SimpleQueue) -> None:
    sq.get()  # @simple-queue-get


def put_item(q: queue.Queue) -> None:
    q.put("second")  # @queue-put


def join_queue(q: queue.Queue) -> None:
    q.join()  # @queue-join


def join_thread(target: threading.Thread) -> None:
    target.join()  # @thread-join


def wait_result(fut: concurrent.futures.Future) -> None:
    fut.result()  # @future-result


def wait_futures(fut: concurrent.futures.Future) -> None:
    concurrent.futures.wait([fut])  # @futures-wait


def nap_module_attr(stop: threading.Event) -> None:
    while not stop.is_set():
        time.sleep(0.01)  # @time-sleep


def nap_bare_name(stop: threading.Event) -> None:
    while not stop.is_set():
        sleep(0.01)  # @bare-sleep


def select_pipe(r: int) -> None:
    select.select([r], [], [])  # @select


def read_pipe(r: int) -> None:
    os.read(r, 1)  # @os-read


WARMUP = 1000  # calls that let the interpreter specialize (3.11+) the code before it blocks


def select_after_warmup(r: int, w: int, warmed: threading.Event) -> None:
    for i in range(WARMUP + 1):
        timeout = 0 if i < WARMUP else None
        if i == WARMUP:
            warmed.set()
        select.select([r], [], [], timeout)  # @warm-select


def read_after_warmup(r: int, w: int, warmed: threading.Event) -> None:
    for i in range(WARMUP + 1):
        if i < WARMUP:
            os.write(w, b"x")
        else:
            warmed.set()
        os.read(r, 1)  # @warm-read


def recv_socket(sock: socket.socket) -> None:
    sock.recv(1)  # @socket-recv


class LockBox:
    """Its ``lock`` is a property: snarl must not call it, so the wait is ``unknown``."""

    def __init__(self, lock: threading.Lock) -> None:
        self._lock = lock
        self.reads = 0

    @property
    def lock(self) -> threading.Lock:
        self.reads += 1
        return self._lock


def acquire_through_property(box: LockBox) -> None:
    box.lock.acquire()  # @unknown-acquire


def acquire_through_a_name(lock: threading.Lock) -> None:
    acquire = lock.acquire
    acquire()  # @bound-method


def spin(flag: list, started: threading.Event) -> None:
    started.set()
    n = 0
    while not flag[0]:  # @spin-loop
        n += 1  # @spin-body


# ---- locks ---------------------------------------------------------------------------------


def test_lock_acquire_on_global_names_it(threads):
    global blocker
    lock = blocker = threading.Lock()
    lock.acquire()
    threads.on_teardown(lock.release)
    t = threads.start(acquire_global_blocker, name="global-lock-waiter")
    info = blocked(t).thread("global-lock-waiter")
    assert info.state == "waiting"
    wait = assert_waits_at(info, "global-lock", "acquire_global_blocker")
    assert wait.kind == "lock"
    assert wait.call == "blocker.acquire"
    assert wait.object is not None
    assert wait.object.type == "_thread.lock"
    assert wait.object.name == "blocker"
    assert wait.object.id == id(lock)
    assert wait.object.locked is True
    assert wait.holders == ()  # held by a plain acquire(): not knowable without tracking


def test_lock_acquire_held_by_acquire_has_no_holder(threads):
    lock = threading.Lock()
    lock.acquire()
    threads.on_teardown(lock.release)
    t = threads.start(acquire_lock, lock, name="lock-waiter")
    snap = blocked(t)
    info = snap.thread("lock-waiter")
    wait = assert_waits_at(info, "lock-acquire", "acquire_lock")
    assert (info.state, wait.kind, wait.call) == ("waiting", "lock", "lock.acquire")
    assert (wait.object.type, wait.object.name, wait.object.id) == (
        "_thread.lock",
        "lock",
        id(lock),
    )
    assert wait.holders == ()
    assert snap.deadlocks == ()


def test_lock_held_in_with_block_names_the_holder(threads):
    lock = threading.Lock()
    ready = threading.Event()
    holder = threads.start(hold_in_with, lock, ready, threads.stop, name="lock-holder")
    assert ready.wait(JOIN_TIMEOUT)
    waiter = threads.start(enter_lock, lock, name="with-waiter")
    snap = blocked(holder, waiter)

    info = snap.thread("with-waiter")
    wait = assert_waits_at(info, "lock-with-enter", "enter_lock")
    assert (info.state, wait.kind, wait.call) == ("waiting", "lock", "with lock")
    assert (wait.object.type, wait.object.name, wait.object.id) == (
        "_thread.lock",
        "lock",
        id(lock),
    )
    assert wait.object.locked is True
    assert wait.holders == (
        Holder(holder.ident, "lock-holder", True, "with-block", HERE, line("hold-with"), "waiting"),
    )
    assert info.held == ()

    held = snap.thread("lock-holder")
    assert held.state == "waiting"
    assert held.wait.kind == "event"
    assert held.wait.lineno == line("hold-with-wait")
    assert [(h.object.name, h.object.id, h.basis, h.filename, h.lineno) for h in held.held] == [
        ("lock", id(lock), "with-block", HERE, line("hold-with"))
    ]
    assert snap.deadlocks == ()


def test_receiver_loaded_by_a_superinstruction(threads):
    lock = threading.Lock()
    lock.acquire()
    threads.on_teardown(lock.release)
    t = threads.start(acquire_in_argument, [], lock, name="superinstruction")
    info = blocked(t).thread("superinstruction")
    wait = assert_waits_at(info, "lock-in-argument", "acquire_in_argument")
    assert (wait.kind, wait.call, wait.object.name, wait.object.id) == (
        "lock",
        "lock.acquire",
        "lock",
        id(lock),
    )


def test_rlock_owner_is_known_without_a_with_block(threads):
    rlock = threading.RLock()
    ready = threading.Event()
    owner = threads.start(hold_rlock, rlock, ready, threads.stop, name="rlock-owner")
    assert ready.wait(JOIN_TIMEOUT)
    waiter = threads.start(acquire_rlock, rlock, name="rlock-waiter")
    snap = blocked(owner, waiter)
    info = snap.thread("rlock-waiter")
    wait = assert_waits_at(info, "rlock-acquire", "acquire_rlock")
    assert (info.state, wait.kind, wait.call) == ("waiting", "rlock", "rlock.acquire")
    assert (wait.object.type, wait.object.name, wait.object.id) == (
        "_thread.RLock",
        "rlock",
        id(rlock),
    )
    assert wait.object.locked is True
    assert wait.holders == (
        Holder(owner.ident, "rlock-owner", True, "rlock-owner", state="waiting"),
    )
    assert snap.thread("rlock-owner").held == ()  # acquire() is no with-block


def test_rlock_held_in_with_block(threads):
    rlock = threading.RLock()
    ready = threading.Event()
    owner = threads.start(hold_rlock_in_with, rlock, ready, threads.stop, name="rlock-with")
    assert ready.wait(JOIN_TIMEOUT)
    waiter = threads.start(enter_rlock, rlock, name="rlock-enter")
    snap = blocked(owner, waiter)
    info = snap.thread("rlock-enter")
    wait = assert_waits_at(info, "rlock-with-enter", "enter_rlock")
    assert (wait.kind, wait.call, wait.object.name) == ("rlock", "with rlock", "rlock")
    assert wait.holders == (
        Holder(
            owner.ident,
            "rlock-with",
            True,
            "rlock-owner",
            HERE,
            line("rlock-hold-with"),
            "waiting",
        ),
    )
    [held] = snap.thread("rlock-with").held
    assert (held.object.type, held.object.name, held.basis, held.lineno) == (
        "_thread.RLock",
        "rlock",
        "rlock-owner",
        line("rlock-hold-with"),
    )


def take_rlock_and_leave(rlock: threading.RLock, ready: threading.Event, go: threading.Event):
    rlock.acquire()
    ready.set()
    go.wait()  # then exit without releasing


def test_rlock_owned_by_an_exited_thread(threads):
    rlock = threading.RLock()
    ready, go = threading.Event(), threading.Event()
    owner = threads.start(take_rlock_and_leave, rlock, ready, go, name="leaver")
    assert ready.wait(JOIN_TIMEOUT)
    waiter = threads.start(acquire_rlock, rlock, name="orphan-waiter")  # started before exit
    blocked(owner, waiter)
    go.set()
    owner.join(JOIN_TIMEOUT)
    assert not owner.is_alive()
    threads.on_teardown(rlock._release_save)  # the C RLock lets any thread undo its count
    snap = blocked(waiter)
    wait = snap.thread("orphan-waiter").wait
    assert wait.kind == "rlock"
    assert wait.holders == (Holder(owner.ident, None, False, "rlock-owner", state="gone"),)
    assert snap.deadlocks == ()


def test_lock_held_by_the_thread_taking_the_snapshot(threads):
    lock = threading.Lock()
    with lock:  # @dumper-holds
        waiter = threads.start(enter_lock, lock, name="waits-for-dumper")
        snap = blocked(waiter)
    wait = snap.thread("waits-for-dumper").wait
    me = threading.current_thread()
    assert wait.holders == (
        Holder(me.ident, me.name, True, "with-block", HERE, line("dumper-holds"), "running"),
    )
    assert snap.deadlocks == ()


def test_python_rlock(threads):
    prl = threading._PyRLock()
    ready = threading.Event()
    owner = threads.start(hold_rlock, prl, ready, threads.stop, name="py-rlock-owner")
    assert ready.wait(JOIN_TIMEOUT)
    waiter = threads.start(acquire_py_rlock, prl, name="py-rlock-waiter")
    snap = blocked(owner, waiter)
    info = snap.thread("py-rlock-waiter")
    wait = assert_waits_at(info, "py-rlock-acquire", "acquire_py_rlock")
    assert (info.state, wait.kind, wait.call) == ("waiting", "rlock", "prl.acquire")
    assert (wait.object.type, wait.object.name, wait.object.id) == (
        "threading._RLock",
        "prl",
        id(prl),
    )
    assert wait.holders == (
        Holder(owner.ident, "py-rlock-owner", True, "rlock-owner", state="waiting"),
    )


# ---- threading primitives built on Condition -----------------------------------------------


def test_condition_wait(threads):
    cond = threading.Condition()

    def release():
        threads.stop.set()
        with cond:
            cond.notify_all()

    threads.on_teardown(release)
    t = threads.start(wait_condition, cond, threads.stop, name="cond-waiter")
    info = blocked(t).thread("cond-waiter")
    wait = assert_waits_at(info, "condition-wait", "wait_condition")
    assert (info.state, wait.kind, wait.call) == ("waiting", "condition", "cond.wait")
    assert (wait.object.type, wait.object.name, wait.object.id) == (
        "threading.Condition",
        "cond",
        id(cond),
    )
    assert wait.holders == ()
    assert info.held == ()  # Condition.wait released the lock its with-block took


def test_condition_wait_for(threads):
    cond = threading.Condition()

    def release():
        threads.stop.set()
        with cond:
            cond.notify_all()

    threads.on_teardown(release)
    t = threads.start(wait_condition_for, cond, threads.stop, name="cond-wait-for")
    info = blocked(t).thread("cond-wait-for")
    wait = assert_waits_at(info, "condition-wait-for", "wait_condition_for")
    assert (wait.kind, wait.call, wait.object.name, wait.object.id) == (
        "condition",
        "cond.wait_for",
        "cond",
        id(cond),
    )
    assert info.held == ()


def test_event_wait(threads):
    ev = threading.Event()
    threads.on_teardown(ev.set)
    t = threads.start(wait_event, ev, name="event-waiter")
    info = blocked(t).thread("event-waiter")
    wait = assert_waits_at(info, "event-wait", "wait_event")
    assert info.held == ()  # the stdlib's own with-block lock was let go by its wait
    assert (info.state, wait.kind, wait.call) == ("waiting", "event", "ev.wait")
    assert (wait.object.type, wait.object.name, wait.object.id) == (
        "threading.Event",
        "ev",
        id(ev),
    )
    assert wait.object.locked is None
    assert wait.holders == ()


@pytest.mark.parametrize(
    ("make", "type_name"),
    [
        (lambda: threading.Semaphore(0), "threading.Semaphore"),
        (lambda: threading.BoundedSemaphore(1), "threading.BoundedSemaphore"),
    ],
)
def test_semaphore_acquire(threads, make, type_name):
    sem = make()
    if type_name == "threading.BoundedSemaphore":
        assert sem.acquire(blocking=False)
    threads.on_teardown(sem.release)
    t = threads.start(acquire_semaphore, sem, name="sem-waiter")
    info = blocked(t).thread("sem-waiter")
    wait = assert_waits_at(info, "semaphore-acquire", "acquire_semaphore")
    assert info.held == ()  # the stdlib's own with-block lock was let go by its wait
    assert (info.state, wait.kind, wait.call) == ("waiting", "semaphore", "sem.acquire")
    assert (wait.object.type, wait.object.name, wait.object.id) == (type_name, "sem", id(sem))
    assert wait.holders == ()


def test_barrier_wait(threads):
    barrier = threading.Barrier(3)
    threads.on_teardown(barrier.abort)
    parties = [threads.start(wait_barrier, barrier, name=f"party-{i}") for i in range(2)]
    snap = blocked(*parties)
    for t in parties:
        info = snap.thread(t.name)
        wait = assert_waits_at(info, "barrier-wait", "wait_barrier")
        assert info.held == ()  # the stdlib's own with-block lock was let go by its wait
        assert (info.state, wait.kind, wait.call) == ("waiting", "barrier", "barrier.wait")
        assert (wait.object.type, wait.object.name, wait.object.id) == (
            "threading.Barrier",
            "barrier",
            id(barrier),
        )


# ---- queues --------------------------------------------------------------------------------


@pytest.mark.parametrize("make", [queue.Queue, queue.LifoQueue, queue.PriorityQueue])
def test_queue_get_is_idle(threads, make):
    q: queue.Queue = make()
    threads.on_teardown(lambda: q.put(None))
    t = threads.start(get_item, q, name="consumer")
    info = blocked(t).thread("consumer")
    wait = assert_waits_at(info, "queue-get", "get_item")
    assert info.held == ()  # the stdlib's own with-block lock was let go by its wait
    assert (info.state, wait.kind, wait.call) == ("idle", "queue-get", "q.get")
    assert (wait.object.type, wait.object.name, wait.object.id) == (
        f"queue.{make.__name__}",
        "q",
        id(q),
    )


def test_simple_queue_get_is_idle(threads):
    sq: queue.SimpleQueue = queue.SimpleQueue()
    threads.on_teardown(lambda: sq.put(None))
    t = threads.start(get_simple, sq, name="simple-consumer")
    info = blocked(t).thread("simple-consumer")
    wait = assert_waits_at(info, "simple-queue-get", "get_simple")
    assert (info.state, wait.kind, wait.call) == ("idle", "queue-get", "sq.get")
    assert (wait.object.type, wait.object.name, wait.object.id) == (
        "_queue.SimpleQueue",
        "sq",
        id(sq),
    )


def test_queue_put_on_full_queue(threads):
    q: queue.Queue = queue.Queue(maxsize=1)
    q.put("first")
    threads.on_teardown(q.get)
    t = threads.start(put_item, q, name="producer")
    info = blocked(t).thread("producer")
    wait = assert_waits_at(info, "queue-put", "put_item")
    assert info.held == ()  # the stdlib's own with-block lock was let go by its wait
    assert (info.state, wait.kind, wait.call) == ("waiting", "queue-put", "q.put")
    assert (wait.object.type, wait.object.name, wait.object.id) == ("queue.Queue", "q", id(q))


def test_queue_join_with_unfinished_task(threads):
    q: queue.Queue = queue.Queue()
    q.put("task")

    def finish():
        q.get()
        q.task_done()

    threads.on_teardown(finish)
    t = threads.start(join_queue, q, name="queue-joiner")
    info = blocked(t).thread("queue-joiner")
    wait = assert_waits_at(info, "queue-join", "join_queue")
    assert info.held == ()  # the stdlib's own with-block lock was let go by its wait
    assert (info.state, wait.kind, wait.call) == ("waiting", "queue-join", "q.join")
    assert (wait.object.type, wait.object.name, wait.object.id) == ("queue.Queue", "q", id(q))


# ---- threads and futures -------------------------------------------------------------------


def test_thread_join(threads):
    target = threads.start(threads.stop.wait, name="join-target")
    joiner = threads.start(join_thread, target, name="joiner")
    blocked(target, joiner)

    def joining(snap: snarl.Snapshot) -> bool:
        # Parked is not enough on 3.13t: a thread just started may still wait in its own
        # start-up (seen once in CI: a wait inside threading.py), so wait for the join itself.
        wait = snap.thread("joiner").wait
        return wait is not None and wait.filename == HERE and wait.lineno == line("thread-join")

    snap = snapshot_when(joining, "the joiner waiting in target.join()")
    info = snap.thread("joiner")
    wait = assert_waits_at(info, "thread-join", "join_thread")
    assert (info.state, wait.kind, wait.call) == ("waiting", "thread-join", "target.join")
    assert (wait.object.type, wait.object.name, wait.object.id) == (
        "threading.Thread",
        "target",
        id(target),
    )
    assert wait.holders == (Holder(target.ident, "join-target", True, "joined", state="waiting"),)
    assert snap.deadlocks == ()


def test_future_result_names_the_pool_thread_running_it(threads):
    gate = threading.Event()
    pool = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="fpool")
    threads.on_teardown(lambda: pool.shutdown(wait=True))
    threads.on_teardown(gate.set)
    fut = pool.submit(gate.wait)
    waiter = threads.start(wait_result, fut, name="result-waiter")
    [worker] = [t for t in threading.enumerate() if t.name.startswith("fpool")]
    snap = blocked(waiter, worker)
    info = snap.thread("result-waiter")
    wait = assert_waits_at(info, "future-result", "wait_result")
    assert info.held == ()  # the stdlib's own with-block lock was let go by its wait
    assert (info.state, wait.kind, wait.call) == ("waiting", "future-result", "fut.result")
    assert (wait.object.type, wait.object.name, wait.object.id) == (
        "concurrent.futures._base.Future",
        "fut",
        id(fut),
    )
    assert wait.holders == (
        Holder(worker.ident, worker.name, True, "running-task", state="waiting"),
    )
    assert snap.thread(worker.name).wait.kind == "event"  # the task's gate.wait()


def test_pool_worker_blocked_inside_a_task_is_not_idle(threads):
    # `idle` is waiting for work; a worker parked inside the task it runs is busy with it.
    gate = threading.Event()
    pool = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="busypool")
    threads.on_teardown(lambda: pool.shutdown(wait=True))
    threads.on_teardown(gate.set)
    pool.submit(gate.wait)
    [worker] = [t for t in threading.enumerate() if t.name.startswith("busypool")]
    info = blocked(worker).thread(worker.name)
    assert info.wait.kind == "event"
    assert info.wait.object.id == id(gate)
    assert info.state == "waiting"


def test_futures_wait(threads):
    fut: concurrent.futures.Future = concurrent.futures.Future()
    threads.on_teardown(lambda: fut.set_result(None))
    t = threads.start(wait_futures, fut, name="futures-waiter")
    info = blocked(t).thread("futures-waiter")
    wait = assert_waits_at(info, "futures-wait", "wait_futures")
    assert (info.state, wait.kind) == ("waiting", "future-result")


def test_idle_pool_worker(threads):
    pool = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="idlepool")
    threads.on_teardown(lambda: pool.shutdown(wait=True))
    assert pool.submit(int, "7").result(JOIN_TIMEOUT) == 7
    [worker] = [t for t in threading.enumerate() if t.name.startswith("idlepool")]
    info = blocked(worker).thread(worker.name)
    assert info.state == "idle"
    assert info.wait.kind == "queue-get"
    assert info.wait.filename == concurrent.futures.thread.__file__


def test_asyncio_event_loop_is_idle(threads):
    import asyncio

    loop = asyncio.new_event_loop()

    def run() -> None:
        try:
            loop.run_forever()
        finally:
            loop.close()

    threads.on_teardown(lambda: loop.call_soon_threadsafe(loop.stop))
    t = threads.start(run, name="event-loop")
    info = blocked(t).thread("event-loop")
    assert (info.state, info.wait.kind) == ("idle", "io")


def test_socketserver_serve_forever_is_idle(threads):
    import socketserver

    server = socketserver.TCPServer(("127.0.0.1", 0), socketserver.BaseRequestHandler)
    threads.on_teardown(server.server_close)
    threads.on_teardown(server.shutdown)
    # Warm the selector code up first, as any earlier use of it in the process would have
    # (the result must not depend on which tests ran before).
    with socketserver._ServerSelector() as selector:
        selector.register(server, selectors.EVENT_READ)
        for _ in range(WARMUP):
            selector.select(0)
    t = threads.start(server.serve_forever, 0.05, name="server")  # short poll: quick shutdown
    info = snarl.wait_until_blocked(t, timeout=WARM_TIMEOUT).thread("server")
    assert (info.state, info.wait.kind) == ("idle", "io")


def test_timer_waits_on_its_event():
    timer = threading.Timer(3600, print)
    timer.name = "timer"
    timer.daemon = True
    timer.start()
    try:
        info = blocked(timer).thread("timer")
        assert info.state == "waiting"  # a Timer is no idle loop: it waits for one thing
        assert info.wait.kind == "event"
        assert info.wait.object.type == "threading.Event"
        assert info.wait.object.id == id(timer.finished)
        assert info.wait.object.name == "self.finished"
        assert info.wait.call == "self.finished.wait"
        assert info.wait.filename == threading.__file__
    finally:
        timer.cancel()
        timer.join(JOIN_TIMEOUT)
    assert not timer.is_alive()


# ---- sleep and I/O -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("target", "marker", "call"),
    [(nap_module_attr, "time-sleep", "time.sleep"), (nap_bare_name, "bare-sleep", "sleep")],
)
def test_sleep(threads, target, marker, call):
    t = threads.start(target, threads.stop, name="sleeper")
    info = blocked(t).thread("sleeper")
    wait = assert_waits_at(info, marker, target.__name__)
    assert (info.state, wait.kind, wait.call, wait.object) == ("sleeping", "sleep", call, None)


@pytest.fixture
def pipe():
    r, w = os.pipe()
    yield r, w
    os.close(r)
    os.close(w)


@pytest.mark.parametrize(
    ("target", "marker", "call"),
    [(select_pipe, "select", "select.select"), (read_pipe, "os-read", "os.read")],
)
def test_io_on_a_pipe(pipe, threads, target, marker, call):
    r, w = pipe
    threads.on_teardown(lambda: os.write(w, b"x"))
    t = threads.start(target, r, name="io-waiter")
    info = blocked(t).thread("io-waiter")
    wait = assert_waits_at(info, marker, target.__name__)
    assert (info.state, wait.kind, wait.call) == ("waiting", "io", call)


@pytest.mark.parametrize(
    ("target", "marker", "call"),
    [
        (select_after_warmup, "warm-select", "select.select"),
        (read_after_warmup, "warm-read", "os.read"),
    ],
)
def test_io_in_warmed_up_code(pipe, threads, target, marker, call):
    # The same call, after the interpreter has specialized it (3.11 runs such a call from
    # its PRECALL instruction, so that is where the parked frame's f_lasti points).
    r, w = pipe
    threads.on_teardown(lambda: os.write(w, b"x"))
    warmed = threading.Event()
    t = threads.start(target, r, w, warmed, name="warm-io")
    assert warmed.wait(JOIN_TIMEOUT)
    info = snarl.wait_until_blocked(t, timeout=WARM_TIMEOUT).thread("warm-io")
    wait = assert_waits_at(info, marker, target.__name__)
    assert (info.state, wait.kind, wait.call) == ("waiting", "io", call)


@pytest.fixture
def socket_pair():
    a, b = socket.socketpair()
    yield a, b
    a.close()
    b.close()


def test_io_socket_recv(socket_pair, threads):
    a, b = socket_pair
    threads.on_teardown(lambda: b.sendall(b"x"))
    t = threads.start(recv_socket, a, name="recv-waiter")
    info = blocked(t).thread("recv-waiter")
    wait = assert_waits_at(info, "socket-recv", "recv_socket")
    assert (info.state, wait.kind, wait.call) == ("waiting", "io", "sock.recv")
    assert (wait.object.type, wait.object.name, wait.object.id) == ("socket.socket", "sock", id(a))


# ---- unknown and running -------------------------------------------------------------------


def test_unresolvable_receiver_is_unknown(threads):
    lock = threading.Lock()
    lock.acquire()
    threads.on_teardown(lock.release)
    box = LockBox(lock)
    t = threads.start(acquire_through_property, box, name="unknown-waiter")
    info = blocked(t).thread("unknown-waiter")
    wait = assert_waits_at(info, "unknown-acquire", "acquire_through_property")
    assert (info.state, wait.kind, wait.call) == ("waiting", "unknown", "box.lock.acquire")
    assert wait.object is None
    assert box.reads == 1  # only the thread's own call: snarl never ran the property


def test_bound_method_called_through_a_name(threads):
    # `acquire = lock.acquire; acquire()`: the callee is a bound C method of a Lock, readable
    # without running code (its __self__ and __name__ are C slots).
    lock = threading.Lock()
    lock.acquire()
    threads.on_teardown(lock.release)
    t = threads.start(acquire_through_a_name, lock, name="bound-method")
    info = snarl_parked_or_running(t)
    assert info.state == "waiting", f"state {info.state}, in C call {info.in_call}"
    wait = assert_waits_at(info, "bound-method", "acquire_through_a_name")
    assert (wait.kind, wait.object.id) == ("lock", id(lock))


def test_thread_whose_target_is_a_bound_c_method(threads):
    # threading.Thread(target=lock.acquire): Thread.run calls self._target(...)
    lock = threading.Lock()
    lock.acquire()
    threads.on_teardown(lock.release)
    t = threading.Thread(target=lock.acquire, name="target-acquire", daemon=True)
    threads.started.append(t)
    t.start()
    info = snarl_parked_or_running(t)
    assert info.state == "waiting", f"state {info.state}, in C call {info.in_call}"
    assert (info.wait.kind, info.wait.object.id) == ("lock", id(lock))


def snarl_parked_or_running(t: threading.Thread) -> snarl.ThreadInfo:
    """The thread once its top frame sits on a call (parked, or in an unclassified C call)."""
    snap = snapshot_when(
        lambda s: s.thread(t.name).wait is not None or s.thread(t.name).in_call is not None,
        f"{t.name} is in a call",
    )
    return snap.thread(t.name)


def test_running_thread(threads):
    flag = [False]
    started = threading.Event()
    threads.on_teardown(lambda: flag.__setitem__(0, True))
    t = threads.start(spin, flag, started, name="spinner")
    assert started.wait(JOIN_TIMEOUT)
    deadline = time.monotonic() + JOIN_TIMEOUT
    while True:  # until the snapshot catches it in its loop rather than leaving Event.set
        info = snarl.snapshot().thread("spinner")
        if info.frames[0].function == "spin" or time.monotonic() > deadline:
            break
    assert info.frames[0].function == "spin"
    assert info.frames[0].lineno in (line("spin-loop"), line("spin-body"))
    assert (info.state, info.wait, info.in_call) == ("running", None, None)
    assert info.ident == t.ident


def test_current_and_main_thread():
    snap = snarl.snapshot()  # @current-snapshot
    [me] = [t for t in snap.threads if t.current]
    assert me.ident == threading.get_ident()
    assert me.state == "running"
    assert me.wait is None
    assert me.frames[0].function == "test_current_and_main_thread"
    assert me.frames[0].lineno == line("current-snapshot")
    snarl_dir = os.path.dirname(snarl.__file__)
    assert not any(f.filename.startswith(snarl_dir) for f in me.frames)  # its own are cut
    main = threading.main_thread()
    [m] = [t for t in snap.threads if t.main]
    assert (m.ident, m.name, m.origin) == (main.ident, main.name, "threading")
    assert snap.threads[0].main  # the main thread comes first


def test_every_state_and_kind_is_covered_by_this_module():
    text = "\n".join(SOURCE_LINES)
    for state in STATES:
        if state != "unknown":  # a registered thread without a Python frame: not reproducible
            assert f'"{state}"' in text, state
    for kind in WAIT_KINDS:
        assert f'"{kind}"' in text, kind
