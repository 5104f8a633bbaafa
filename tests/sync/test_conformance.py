"""snarl's primitives behave as threading's: the same test body runs against both.

Where a result or an error can be compared directly, ``outcome()`` of the native call is the
oracle for the snarl call (same value, or same exception type and message on this Python).
"""

from __future__ import annotations

import contextlib
import threading

import pytest

from .conftest import IMPLS, NATIVE, SNARL, TIMEOUT, outcome, wait_until

SHORT = 0.01  # a timeout that is meant to expire


def both(body):
    """Run ``body(ns)`` for threading and for snarl; return both outcomes."""
    return [outcome(lambda ns=ns: body(ns)) for ns in IMPLS]


def same(body) -> None:
    native, ours = both(body)
    assert native == ours


# -- Lock and RLock: arguments and errors ---------------------------------------------------
LOCK_CALLS = [
    ("acquire(False, 1)", lambda lk: lk.acquire(False, 1)),
    ("acquire(True, -2)", lambda lk: lk.acquire(True, -2)),
    ("acquire(timeout=-1.5)", lambda lk: lk.acquire(timeout=-1.5)),
    ("acquire(True, nan)", lambda lk: lk.acquire(True, float("nan"))),
    ("acquire(True, 'x')", lambda lk: lk.acquire(True, "x")),
    ("acquire(True, 1e300)", lambda lk: lk.acquire(True, 1e300)),
    ("acquire(blocking=False, timeout=-1)", lambda lk: lk.acquire(blocking=False, timeout=-1)),
    ("acquire(True, -1)", lambda lk: lk.acquire(True, -1)),
    ("acquire(True, -1.0)", lambda lk: lk.acquire(True, -1.0)),
    ("acquire(True, 0)", lambda lk: lk.acquire(True, 0)),
    ("acquire(0)", lambda lk: lk.acquire(0)),
    ("release()", lambda lk: lk.release()),
    ("locked()", lambda lk: lk.locked()),
]


@pytest.mark.parametrize("kind", ["Lock", "RLock"])
@pytest.mark.parametrize("call", LOCK_CALLS, ids=[c[0] for c in LOCK_CALLS])
def test_lock_arguments_and_errors_when_free(kind, call):
    _, fn = call
    if fn is LOCK_CALLS[-1][1] and kind == "RLock" and not hasattr(NATIVE.RLock(), "locked"):
        pytest.skip("RLock.locked() is new in 3.14; snarl's has it everywhere")
    same(lambda ns: fn(getattr(ns, kind)()))


NON_BLOCKING_CALLS = [c for c in LOCK_CALLS[:-1] if "1e300" not in c[0] and "(True, -1" not in c[0]]


@pytest.mark.parametrize("kind", ["Lock", "RLock"])
@pytest.mark.parametrize("call", NON_BLOCKING_CALLS, ids=[c[0] for c in NON_BLOCKING_CALLS])
def test_lock_arguments_and_errors_when_held_by_another_thread(kind, call, threads):
    _, fn = call
    results = []
    for ns in IMPLS:
        lock = getattr(ns, kind)()
        held = threading.Event()
        done = threading.Event()

        def holder(lock=lock, held=held, done=done):
            lock.acquire()
            held.set()
            done.wait(TIMEOUT)
            with contextlib.suppress(RuntimeError):  # release() by the test may have done it
                lock.release()

        t = threads.start(holder)
        held.wait(TIMEOUT)
        results.append(outcome(lambda lock=lock: fn(lock)))
        done.set()
        t.join(TIMEOUT)
    assert results[0] == results[1]


@pytest.mark.parametrize("kind", ["RLock"])
@pytest.mark.parametrize("call", LOCK_CALLS[:-1], ids=[c[0] for c in LOCK_CALLS[:-1]])
def test_rlock_arguments_and_errors_when_owned(kind, call):
    """Re-entry checks its arguments first, exactly as the native RLock does."""
    _, fn = call

    def body(ns):
        lock = ns.RLock()
        lock.acquire()
        try:
            return fn(lock), lock._is_owned()
        finally:  # leave nothing held: a bare hold stays recorded for this thread otherwise
            while lock._is_owned():
                lock.release()

    same(body)


def test_lock_basics(impl):
    lock = impl.Lock()
    assert lock.acquire() is True
    assert lock.locked()
    assert lock.acquire(False) is False
    assert lock.acquire(True, SHORT) is False
    assert lock.acquire(timeout=0) is False
    lock.release()
    assert not lock.locked()
    with lock:
        assert lock.locked()
    assert not lock.locked()
    with pytest.raises(RuntimeError, match="release unlocked lock"):
        lock.release()


def test_lock_released_by_another_thread(impl, threads):
    lock = impl.Lock()
    lock.acquire()
    t = threads.start(lock.release)
    t.join(TIMEOUT)
    assert not lock.locked()


def test_lock_at_fork_reinit(impl):
    lock = impl.Lock()
    lock.acquire()
    lock._at_fork_reinit()
    assert not lock.locked()
    assert lock.acquire(False)
    lock.release()


def test_rlock_recursion_and_ownership(impl, threads):
    lock = impl.RLock()
    assert lock.acquire()
    assert lock.acquire()
    with lock:
        assert lock._is_owned()
        if hasattr(NATIVE.RLock(), "_recursion_count"):
            assert lock._recursion_count() == 3
    lock.release()
    assert lock._is_owned()
    errors = []

    def other():
        errors.append(outcome(lock.release))
        errors.append(lock._is_owned())
        errors.append(lock.acquire(False))

    threads.start(other).join(TIMEOUT)
    assert errors == [(RuntimeError, "cannot release un-acquired lock"), False, False]
    lock.release()
    assert not lock._is_owned()
    with pytest.raises(RuntimeError, match="cannot release un-acquired lock"):
        lock.release()


def test_rlock_release_save_and_restore(impl):
    lock = impl.RLock()
    with pytest.raises(RuntimeError, match="cannot release un-acquired lock"):
        lock._release_save()
    lock.acquire()
    lock.acquire()
    state = lock._release_save()
    assert not lock._is_owned()
    lock._acquire_restore(state)
    assert lock._is_owned()
    lock.release()
    lock.release()
    assert not lock._is_owned()
    with pytest.raises(RuntimeError):
        lock.release()


def test_rlock_at_fork_reinit(impl):
    lock = impl.RLock()
    lock.acquire()
    lock._at_fork_reinit()
    assert not lock._is_owned()
    assert lock.acquire(False)
    lock.release()


def test_repr_shows_owner_and_name():
    lock_a = SNARL.Lock()
    assert "unlocked" in repr(lock_a) and "'lock_a'" in repr(lock_a)
    with lock_a:
        text = repr(lock_a)
    assert text.startswith("<locked snarl.sync.Lock object 'lock_a'")
    assert f"owner={threading.get_ident()}" in text and "'MainThread'" in text
    assert "acquired in a with block" in text  # the line is the owner's with-block (dumps)
    lock_a.acquire()
    text = repr(lock_a)
    lock_a.release()
    assert "acquired at test_conformance.py:" in text
    r = SNARL.RLock(name="custom")
    with r, r:
        assert "count=2" in repr(r) and "'custom'" in repr(r)


# -- Condition ------------------------------------------------------------------------------
def test_condition_errors(impl):
    for lock in (None, impl.Lock(), impl.RLock()):
        cond = impl.Condition(lock)
        with pytest.raises(RuntimeError, match="cannot wait on un-acquired lock"):
            cond.wait()
        with pytest.raises(RuntimeError, match="cannot notify on un-acquired lock"):
            cond.notify()
        with pytest.raises(RuntimeError, match="cannot notify on un-acquired lock"):
            cond.notify_all()


def test_condition_wait_timeout_and_wait_for(impl):
    cond = impl.Condition(impl.Lock())
    with cond:
        assert cond.wait(SHORT) is False
        assert cond.wait(0) is False
        assert cond.wait(-1) is False
        assert cond.wait_for(lambda: 0, SHORT) == 0
        assert cond.wait_for(lambda: "yes", SHORT) == "yes"
    assert not cond._lock.locked()


def test_condition_notify_n(impl, threads):
    cond = impl.Condition()
    woke = []

    def waiter():
        with cond:
            cond.wait(TIMEOUT)
            woke.append(1)

    for _ in range(3):
        threads.start(waiter)
    wait_until(lambda: len(cond._waiters) == 3)
    with cond:
        cond.notify(2)
        assert len(cond._waiters) == 1
    wait_until(lambda: len(woke) == 2)
    with cond:
        assert len(cond._waiters) == 1
        cond.notify_all()
    wait_until(lambda: len(woke) == 3)


def test_condition_with_a_lock_of_the_other_kind(threads):
    """snarl's Condition over a native RLock, and threading's over snarl's."""
    for cond in (SNARL.Condition(NATIVE.RLock()), NATIVE.Condition(SNARL.RLock())):
        flag = []

        def setter(cond=cond, flag=flag):
            with cond:
                flag.append(1)
                cond.notify()

        with cond:
            with cond:  # RLock re-entry survives the wait
                t = threads.start(setter)
                assert cond.wait_for(lambda flag=flag: flag, TIMEOUT) == [1]
            assert cond._is_owned()
        t.join(TIMEOUT)


# -- Semaphore ------------------------------------------------------------------------------
SEM_CALLS = [
    ("Semaphore(-1)", lambda ns: ns.Semaphore(-1)),
    ("acquire(False, 1)", lambda ns: ns.Semaphore(0).acquire(False, 1)),
    ("acquire(False)", lambda ns: ns.Semaphore(0).acquire(False)),
    ("acquire(timeout=0.01)", lambda ns: ns.Semaphore(0).acquire(timeout=SHORT)),
    ("acquire(timeout=0)", lambda ns: ns.Semaphore(0).acquire(timeout=0)),
    ("acquire()", lambda ns: ns.Semaphore(1).acquire()),
    ("release(0)", lambda ns: ns.Semaphore().release(0)),
    ("release(3) then 4 acquires", lambda ns: _release_then_take(ns.Semaphore(1), 3, 5)),
    ("Bounded over-release", lambda ns: ns.BoundedSemaphore(1).release()),
    ("Bounded release(2)", lambda ns: _release_then_take(ns.BoundedSemaphore(2), 0, 3)),
    ("Bounded(0)", lambda ns: ns.BoundedSemaphore(0).acquire(False)),
]


def _release_then_take(sem, n, takes):
    if n:
        sem.release(n)
    return [sem.acquire(False) for _ in range(takes)]


@pytest.mark.parametrize("call", SEM_CALLS, ids=[c[0] for c in SEM_CALLS])
def test_semaphore(call):
    same(call[1])


def test_semaphore_wakes_a_waiter(impl, threads):
    sem = impl.Semaphore(0)
    got = []
    t = threads.start(lambda: got.append(sem.acquire(timeout=TIMEOUT)))
    wait_until(lambda: len(sem._cond._waiters) == 1)
    sem.release()
    t.join(TIMEOUT)
    assert got == [True]
    assert sem.acquire(False) is False


def test_bounded_semaphore_context_manager(impl):
    sem = impl.BoundedSemaphore(2)
    with sem:
        assert sem.acquire(False)
        assert not sem.acquire(False)
        sem.release()
    with pytest.raises(ValueError, match="Semaphore released too many times"):
        sem.release()


# -- Event ----------------------------------------------------------------------------------
def test_event(impl, threads):
    ev = impl.Event()
    assert not ev.is_set()
    assert ev.wait(SHORT) is False
    assert ev.wait(0) is False
    got = []
    t = threads.start(lambda: got.append(ev.wait(TIMEOUT)))
    ev.set()
    t.join(TIMEOUT)
    assert got == [True]
    assert ev.is_set() and ev.wait() is True
    ev.clear()
    assert not ev.is_set()
    ev._at_fork_reinit()
    assert ev.wait(0) is False


# -- Barrier --------------------------------------------------------------------------------
def test_barrier_zero_parties_as_stdlib():
    same(lambda ns: ns.Barrier(0).parties)  # ValueError from 3.13 on, accepted before


def test_barrier_passes_and_runs_action_once(impl, threads):
    calls = []
    barrier = impl.Barrier(3, action=lambda: calls.append(1))
    indices = []
    ts = [threads.start(lambda: indices.append(barrier.wait(TIMEOUT))) for _ in range(3)]
    for t in ts:
        t.join(TIMEOUT)
    assert sorted(indices) == [0, 1, 2]
    assert calls == [1]
    assert barrier.parties == 3 and barrier.n_waiting == 0 and not barrier.broken


def test_barrier_abort_reset_timeout(impl, threads):
    barrier = impl.Barrier(2)
    errors = []

    def waiter():
        try:
            barrier.wait(TIMEOUT)
        except threading.BrokenBarrierError as exc:
            errors.append(type(exc))

    t = threads.start(waiter)
    wait_until(lambda: barrier.n_waiting == 1)
    barrier.abort()
    t.join(TIMEOUT)
    assert errors == [threading.BrokenBarrierError]
    assert barrier.broken
    with pytest.raises(threading.BrokenBarrierError):
        barrier.wait()
    barrier.reset()
    assert not barrier.broken
    with pytest.raises(threading.BrokenBarrierError):
        barrier.wait(SHORT)  # alone: times out and breaks it
    assert barrier.broken


def test_barrier_action_error_breaks_it(impl):
    def action():
        raise KeyError("boom")

    barrier = impl.Barrier(1, action=action)
    with pytest.raises(KeyError):
        barrier.wait()
    assert barrier.broken


def test_stdlib_users_work_installed(installed, threads):
    """queue, concurrent.futures and Thread itself run on snarl's primitives."""
    import queue
    from concurrent.futures import ThreadPoolExecutor

    q = queue.Queue(maxsize=1)
    assert isinstance(q.mutex, SNARL.Lock) and isinstance(q.not_empty, SNARL.Condition)
    t = threads.start(lambda: [q.put(i) for i in range(100)])
    assert [q.get(timeout=TIMEOUT) for _ in range(100)] == list(range(100))
    t.join(TIMEOUT)
    with ThreadPoolExecutor(4) as ex:
        assert list(ex.map(abs, range(-50, 0))) == list(range(50, 0, -1))
    timer = threading.Timer(0, lambda: None)
    timer.start()
    timer.join(TIMEOUT)
    assert not timer.is_alive()
