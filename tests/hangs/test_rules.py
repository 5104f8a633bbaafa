"""The idle-or-stuck rule (snarl.hangs.rules), one wait pattern at a time, on live threads.

Each target parks a thread in one pattern at a line tagged ``# @marker``; once the thread is
parked, its innermost frame is classified and the verdict checked: may the wait become stuck,
with which kind, at which line.  The same patterns run untracked and under snarl.install().
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import os
import queue
import select
import threading
import time

import pytest

import snarl
from snarl.frames import held_frames
from snarl.hangs.rules import Classifier, Verdict, recorded_wait

from ..helpers import JOIN_TIMEOUT, line_of

HERE = __file__


def line(marker: str) -> int:
    return line_of(HERE, f"# @{marker}")


def verdict_of(thread: threading.Thread, strict: bool = False) -> Verdict:
    # (held: on a free-threaded build the thread is parked while its frames are read)
    with held_frames() as reading:
        top = reading.frames[thread.ident]
        try:
            return Classifier(strict=strict).classify(top, recorded_wait(thread.ident))
        finally:
            del top


def settled(
    thread: threading.Thread, kind: str, strict: bool = False, marker: str | None = None
) -> Verdict:
    """The first verdict of ``thread`` in a wait of ``kind`` at ``marker``'s line (a bounded
    poll: a thread in a loop passes through other states on its way back to the wait, and a
    thread just started may still wait in its start-up handshake, an Event too)."""
    deadline = time.monotonic() + JOIN_TIMEOUT
    while True:
        verdict = verdict_of(thread, strict)
        at = marker is None or (verdict.filename, verdict.lineno) == (HERE, line(marker))
        if (verdict.kind == kind and at) or time.monotonic() > deadline:
            return verdict
        time.sleep(0.001)


# ---- the patterns -------------------------------------------------------------------------


def queue_get(threads):
    jobs: queue.Queue = queue.Queue()
    threads.on_teardown(lambda: jobs.put(None))
    return threads.start(lambda: jobs.get(), name="getter")  # @queue-get


def simple_queue_get(threads):
    jobs: queue.SimpleQueue = queue.SimpleQueue()
    threads.on_teardown(lambda: jobs.put(None))
    return threads.start(lambda: jobs.get(), name="getter")  # @simple-queue-get


def pool_worker(threads):
    pool = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="idle-pool")
    pool.submit(int).result(JOIN_TIMEOUT)
    threads.on_teardown(pool.shutdown)
    [worker] = [t for t in threading.enumerate() if t.name.startswith("idle-pool")]
    return worker


def sleeping(threads):
    def nap() -> None:
        while not threads.stop.is_set():
            time.sleep(0.01)

    return threads.start(nap, name="napper")


def pipe_read(threads):
    r, w = os.pipe()

    def read() -> None:
        os.read(r, 1)  # @pipe-read
        os.close(r)

    def release() -> None:
        os.write(w, b"x")
        os.close(w)

    threads.on_teardown(release)
    return threads.start(read, name="reader")


def select_wait(threads):
    r, w = os.pipe()

    def wait() -> None:
        select.select([r], [], [])  # @select
        os.close(r)

    def release() -> None:
        os.write(w, b"x")
        os.close(w)

    threads.on_teardown(release)
    return threads.start(wait, name="selector")


def event_in_loop(threads):
    wake = threading.Event()

    def parked() -> None:
        while not threads.stop.is_set():
            wake.wait()  # @event-loop
            wake.clear()

    threads.on_teardown(wake.set)  # runs after stop.set (registered last, runs first)
    threads.on_teardown(threads.stop.set)
    return threads.start(parked, name="parked")


def event_once(threads):
    done = threading.Event()

    def once() -> None:
        done.wait()  # @event-once

    threads.on_teardown(done.set)
    return threads.start(once, name="once")


def next_job(wake: threading.Event) -> None:
    wake.wait()  # @event-helper
    wake.clear()


def event_in_helper_called_from_loop(threads):
    wake = threading.Event()

    def worker() -> None:
        while not threads.stop.is_set():
            next_job(wake)

    threads.on_teardown(wake.set)
    threads.on_teardown(threads.stop.set)
    return threads.start(worker, name="worker")


def condition_predicate_loop(threads):
    ready = threading.Condition()
    items: list[int] = []

    def consumer() -> None:
        with ready:
            while not items:
                ready.wait()  # @condition-loop

    def release() -> None:
        with ready:
            items.append(1)
            ready.notify_all()

    threads.on_teardown(release)
    return threads.start(consumer, name="consumer")


def condition_once(threads):
    ready = threading.Condition()

    def consumer() -> None:
        with ready:
            ready.wait()  # @condition-once

    def release() -> None:
        with ready:
            ready.notify_all()

    threads.on_teardown(release)
    return threads.start(consumer, name="consumer")


def semaphore_in_loop(threads):
    tokens = threading.Semaphore(0)

    def worker() -> None:
        while not threads.stop.is_set():
            tokens.acquire()  # @semaphore-loop

    threads.on_teardown(tokens.release)
    threads.on_teardown(threads.stop.set)
    return threads.start(worker, name="worker")


def lock_wait(threads):
    held = threading.Lock()
    held.acquire()
    threads.on_teardown(held.release)

    def wait() -> None:
        with held:  # @lock
            pass

    return threads.start(wait, name="waiter")


def rlock_wait(threads):
    held = threading.RLock()
    taken, release = threading.Event(), threading.Event()

    def hold() -> None:
        with held:
            taken.set()
            release.wait(JOIN_TIMEOUT)

    threads.start(hold, name="holder")
    assert taken.wait(JOIN_TIMEOUT)
    threads.on_teardown(release.set)

    def wait() -> None:
        with held:  # @rlock
            pass

    return threads.start(wait, name="waiter")


def barrier_in_loop(threads):
    both = threading.Barrier(2)
    threads.on_teardown(both.abort)

    def worker() -> None:
        while not threads.stop.is_set():
            both.wait()  # @barrier

    def run() -> None:
        with contextlib.suppress(threading.BrokenBarrierError):
            worker()

    return threads.start(run, name="phased")


def join_wait(threads):
    target = threads.start(threads.stop.wait, name="joined")

    def join() -> None:
        target.join()  # @join

    return threads.start(join, name="joiner")


def future_wait(threads):
    fut: concurrent.futures.Future = concurrent.futures.Future()
    threads.on_teardown(lambda: fut.set_result(None))

    def wait() -> None:
        fut.result()  # @future

    return threads.start(wait, name="awaiting")


def queue_put_in_loop(threads):
    full: queue.Queue = queue.Queue(maxsize=1)
    full.put(0)

    def producer() -> None:
        while not threads.stop.is_set():
            full.put(1)  # @queue-put

    def release() -> None:
        threads.stop.set()
        full.get_nowait()  # the producer's put completes, and it sees stop

    threads.on_teardown(release)
    return threads.start(producer, name="producer")


# (pattern, may it stick, with strict=True, kind, waiting-line marker or None)
CASES = [
    (queue_get, False, False, "queue-get", None),
    (simple_queue_get, False, False, "queue-get", None),
    (pool_worker, False, False, "queue-get", None),
    (sleeping, False, False, "sleep", None),
    (pipe_read, False, False, "io", "pipe-read"),
    (select_wait, False, False, "io", "select"),
    (event_in_loop, False, True, "event", "event-loop"),
    (event_once, True, True, "event", "event-once"),
    (event_in_helper_called_from_loop, False, True, "event", "event-helper"),
    (condition_predicate_loop, False, True, "condition", "condition-loop"),
    (condition_once, True, True, "condition", "condition-once"),
    (semaphore_in_loop, False, True, "semaphore", "semaphore-loop"),
    (lock_wait, True, True, "lock", "lock"),
    (rlock_wait, True, True, "rlock", "rlock"),
    (barrier_in_loop, True, True, "barrier", "barrier"),
    (join_wait, True, True, "thread-join", "join"),
    (future_wait, True, True, "future-result", "future"),
    (queue_put_in_loop, False, True, "queue-put", "queue-put"),
]


@pytest.mark.parametrize("tracked", [False, True], ids=["untracked", "tracked"])
@pytest.mark.parametrize(
    ("pattern", "sticks", "sticks_strict", "kind", "marker"),
    CASES,
    ids=[c[0].__name__ for c in CASES],
)
def test_verdict(threads, tracked, pattern, sticks, sticks_strict, kind, marker):
    if tracked:
        snarl.install()
        threads.on_teardown(snarl.uninstall)
    thread = pattern(threads)

    verdict = settled(thread, kind, marker=marker)
    strict = settled(thread, kind, strict=True, marker=marker)

    assert verdict.kind == kind, verdict
    assert verdict.may_stick is sticks, verdict
    assert strict.may_stick is sticks_strict, strict
    if marker is not None:
        assert (verdict.filename, verdict.lineno) == (HERE, line(marker)), verdict
    if sticks and tracked and kind in ("lock", "condition", "event"):
        # snarl's records know when the wait began: the "tracked" basis
        assert verdict.since is not None and verdict.since <= time.monotonic()
    if not sticks:
        assert verdict.reason.split(":")[0] in {"idle", "sleeping", "parked", "waiting for I/O"}


def test_a_running_thread_is_never_stuck(threads):
    spinning = threading.Event()

    def spin() -> None:
        spinning.set()
        while not threads.stop.is_set():
            pass

    thread = threads.start(spin, name="spinner")
    assert spinning.wait(JOIN_TIMEOUT)
    verdict = verdict_of(thread)
    assert (verdict.state, verdict.may_stick) == ("running", False)


def test_loop_ranges_cover_while_and_for_bodies_only():
    from snarl.hangs.rules import _loop_ranges

    def sample(items):
        before = 1
        while items:
            items.pop()
        for _ in range(3):
            before += 1
        return before

    ranges = _loop_ranges(sample.__code__)
    assert len(ranges) == 2
    assert all(start < end for start, end in ranges)
    assert _loop_ranges((lambda: 1).__code__) == ()
