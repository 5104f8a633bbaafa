"""Issue 16: the validator and the drop-in primitives on suites nobody on the team wrote.

Each test reproduces one finding with a small program of its own: the validator must not
deadlock, held stacks must not outlive their threads, a real ABBA must be refused before it
hangs, nested locks of one class are ordered per instance, a lock handed to another thread
leaves no stale entry, and the primitives keep threading's reprs and signatures.
"""

from __future__ import annotations

import _thread
import os
import re
import sys
import threading
import warnings

import pytest

import snarl
from snarl.errors import LockOrderViolation, LockOrderWarning
from snarl.sync import Barrier, BoundedSemaphore, Event, Lock, RLock, Semaphore

from .conftest import TIMEOUT, wait_until


def _in_raw_thread(fn):
    """Run ``fn`` in a ``_thread`` thread (unknown to threading); its result or exception."""
    done = _thread.allocate_lock()
    done.acquire()
    box: dict = {}

    def body():
        try:
            box["value"] = fn()
        except BaseException as exc:  # handed back to the caller
            box["error"] = exc
        finally:
            done.release()

    _thread.start_new_thread(body, ())
    assert done.acquire(timeout=TIMEOUT), "the _thread thread never finished"
    if "error" in box:
        raise box["error"]
    return box.get("value")


# -- 1. a new chain in a thread threading does not know ------------------------------------
def test_a_new_chain_in_a_foreign_thread_does_not_deadlock_the_validator(reports):
    outer, inner = threading.Lock(), threading.RLock()

    def nest():
        with outer, inner:  # a new chain: its report names the thread (a _DummyThread)
            return True

    assert _in_raw_thread(nest) is True
    with outer, inner:  # and the validator still answers in this thread
        pass
    assert reports == []


# -- 2. held stacks of threads that ended --------------------------------------------------
@pytest.mark.parametrize("starter", ["threading", "_thread"])
def test_a_thread_that_exits_holding_a_lock_leaves_no_held_stack(reports, starter):
    kept = threading.Lock()
    validator = snarl.sync.patch._options["lockorder"]
    idents = []

    def leave_it_held():
        kept.acquire()
        idents.append(threading.get_ident())

    if starter == "threading":
        t = threading.Thread(target=leave_it_held)
        t.start()
        t.join(TIMEOUT)
    else:
        _in_raw_thread(leave_it_held)
    (ident,) = idents
    # Gone with its thread (an ident is reused at once).  A _thread thread signals its caller
    # just before it ends: its end is awaited, with a deadline.
    wait_until(lambda: ident not in validator.held)
    kept.release()


def test_a_reused_ident_inherits_no_locks(reports):
    first, second = threading.Lock(), threading.Lock()
    validator = snarl.sync.patch._options["lockorder"]

    def take_second():
        with second:
            pass

    _in_raw_thread(first.acquire)  # ends holding `first`
    for _ in range(20):  # glibc hands the next threads the same ident: no false first→second
        _in_raw_thread(take_second)
    key_first, key_second = first._site_created.key, second._site_created.key
    assert key_second not in validator._graph.succ.get(key_first, {})
    first.release()
    assert reports == []


def test_a_held_lock_the_program_dropped_orders_nothing(reports):
    """CPython's test_acquire_destroy: ``lock.acquire(); del lock``.  Natively the lock is
    freed; it must not stay on the thread's stack and order every later lock after it."""
    validator = snarl.sync.patch._options["lockorder"]
    kept: list = []
    first, second = threading.Lock(), threading.Lock()

    def drop_one():
        lock = threading.Lock()
        lock.acquire()
        del lock

    def keep_one():
        lock = threading.Lock()
        lock.acquire()
        kept.append(lock)

    drop_one()
    keep_one()
    with first, second:
        pass
    drop_one()
    with second, first:  # would close a cycle through the dropped lock's class otherwise
        pass
    held = validator.held[threading.get_ident()]
    assert len(held) == 1 and held[0] is kept[0]  # the kept one stays: it is still held
    kept[0].release()
    assert reports == []


def test_a_thread_reusing_the_ident_is_not_named_the_owner(installed, threads):
    """A _thread thread ends holding a lock; a threading thread that gets its ident must
    not be reported as the lock's owner (the observer's side of finding 2)."""
    from snarl.runtime.observer import tracked_state

    left = threading.Lock()
    idents = []

    def take_and_end():
        left.acquire()
        idents.append(threading.get_ident())

    _in_raw_thread(take_and_end)
    wait_until(lambda: idents[0] not in sys._current_frames())
    gone, ready = threading.Event(), threading.Event()
    for _ in range(50):  # glibc hands the next thread the same ident, almost always at once
        t = threads.start(lambda: (ready.set(), gone.wait(TIMEOUT)))
        assert ready.wait(TIMEOUT)
        if t.ident == idents[0]:
            break
        ready.clear()
        gone.set()
        t.join(TIMEOUT)
        gone.clear()
    else:
        pytest.skip("the C library did not reuse the ident in 50 threads")
    facts = tracked_state()["locks"][id(left)]
    gone.set()
    assert facts["owner_alive"] is False
    assert facts["owner_exited"] is not None
    assert facts["owner_name"] != t.name
    left.release()


def _ended(ident: int, native_id: int) -> bool:
    """Whether a thread has ended, its OS thread too where Linux shows it (only then is its
    ident free for the next thread)."""
    if ident in sys._current_frames():
        return False
    return not os.path.isdir("/proc/self/task") or not os.path.exists(
        f"/proc/self/task/{native_id}"
    )


def test_a_raw_thread_reusing_the_ident_is_not_named_the_owner(installed):
    """A _thread thread ends holding a lock; a _thread thread that gets its ident (started
    with _thread.start_new_thread, unseen by threading) must not be named its owner either."""
    from snarl.runtime.observer import tracked_state

    left = threading.Lock()
    ended = []

    def take_and_end():
        left.acquire()
        ended.append((threading.get_ident(), threading.get_native_id()))

    _in_raw_thread(take_and_end)
    (first,) = ended
    for _ in range(20):  # glibc hands the next thread the same ident, almost always at once
        wait_until(lambda: all(_ended(*t) for t in ended))
        ready, gone, box = _thread.allocate_lock(), _thread.allocate_lock(), []
        ready.acquire()
        gone.acquire()

        def park(ready=ready, gone=gone, box=box):
            box.append(threading.get_native_id())
            ready.release()
            gone.acquire()

        ident = _thread.start_new_thread(park, ())
        assert ready.acquire(timeout=TIMEOUT)
        if ident == first[0]:
            break
        gone.release()
        ended.append((ident, box[0]))
    else:
        pytest.skip("the C library did not reuse the ident in 20 threads")
    try:
        facts = tracked_state()["locks"][id(left)]
        assert facts["owner"] == ident  # the same ident, now another thread's
        assert facts["owner_alive"] is False
        assert facts["owner_exited"] is not None
        assert facts["owner_name"].startswith("<ended _thread thread")
    finally:
        gone.release()
        left.release()


# -- 3. a lock released by another thread ---------------------------------------------------
def test_a_lock_released_by_another_thread_leaves_no_entry(reports):
    handed = threading.Lock()
    validator = snarl.sync.patch._options["lockorder"]
    other = threading.Lock()
    handed.acquire()  # this thread takes it; another releases it
    _in_raw_thread(handed.release)
    assert handed not in validator.held.get(threading.get_ident(), [])
    with other, handed:  # no stale `handed` below `other`
        pass
    with handed, other:
        pass
    assert reports == []


def test_a_readers_writer_resource_lock_is_not_reported(reports, threads):
    """The first reader takes the resource lock and the last releases it, under a counter
    lock: once one reader has released it for another, its class is group-owned and holding
    it orders nothing.  (For a report made before the first such hand-over, see the next
    test.)"""
    count_lock, resource = threading.Lock(), threading.Lock()
    readers = [0]

    def read_acquire():
        with count_lock:
            readers[0] += 1
            if readers[0] == 1:
                resource.acquire()

    def read_release():
        with count_lock:
            readers[0] -= 1
            if readers[0] == 0:
                resource.release()

    resource.acquire()  # a hand-over: taken here, released by another thread
    threads.start(resource.release).join(TIMEOUT)
    read_acquire()  # first reader
    threads.start(read_acquire).join(TIMEOUT)
    read_release()  # not the last: takes the counter lock while holding the resource lock
    threads.start(read_release).join(TIMEOUT)  # the last reader, another thread
    read_acquire()  # this thread alone, first and last reader
    read_release()
    assert reports == []


def _readers_writer():
    """A readers-writer lock's read side: the first reader takes the resource lock, the last
    releases it, both under the counter lock."""
    count_lock, resource = threading.Lock(), threading.Lock()
    readers = [0]

    def read_acquire():
        with count_lock:
            readers[0] += 1
            if readers[0] == 1:
                resource.acquire()

    def read_release():
        with count_lock:
            readers[0] -= 1
            if readers[0] == 0:
                resource.release()

    return read_acquire, read_release


@pytest.mark.parametrize("report", ["warn", "log", "callable"])
def test_a_readers_writer_report_before_the_first_hand_over_is_not_made(report, threads, caplog):
    """The validator used directly (no pytest plugin to drop reports at a phase's end): the
    first reader, still holding the resource lock, leaves while another reader reads (the
    counter lock taken while holding the resource lock closes a cycle), and the last reader,
    another thread, releases the resource lock.  The report was made at once before; it is
    held back until that release, which shows the lock is group-owned, and dropped."""
    found: list = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        snarl.install(lockorder=True, report=found.append if report == "callable" else report)
        try:
            read_acquire, read_release = _readers_writer()
            first, done = threading.Event(), threading.Event()

            def first_reader():
                read_acquire()
                first.set()
                assert done.wait(TIMEOUT)
                read_release()  # not the last reader: closes the cycle, keeps the resource

            t = threads.start(first_reader)
            assert first.wait(TIMEOUT)
            read_acquire()
            done.set()
            t.join(TIMEOUT)
            read_release()  # the last reader, another thread: releases the resource lock
            read_acquire()  # and this thread alone, first and last reader
            read_release()
        finally:
            snarl.uninstall()  # the end: whatever is still held back would be made here
    assert found == []
    assert [w for w in caught if issubclass(w.category, LockOrderWarning)] == []
    assert [r for r in caplog.records if r.name == "snarl.lockorder"] == []


def test_a_held_back_report_is_made_when_its_owner_releases_the_lock():
    """A real inversion, closed while holding a plain Lock: warned when the thread that took
    that lock releases it (a thread-owned lock after all), at the line that closed the cycle."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        snarl.install(lockorder=True)
        try:
            count_lock, resource = threading.Lock(), threading.Lock()
            with count_lock, resource:
                pass
            with resource:
                closing_line = sys._getframe().f_lineno + 1
                with count_lock:
                    pass
                assert [w for w in caught if w.category is LockOrderWarning] == []  # held back
            warned = [w for w in caught if w.category is LockOrderWarning]
            assert len(warned) == 1
            assert (warned[0].filename, warned[0].lineno) == (__file__, closing_line)
        finally:
            snarl.uninstall()


def test_a_held_back_report_is_made_at_the_end_if_the_lock_stays_held(caplog):
    """A lock never released: the report is made at the end (uninstall), logged here."""
    snarl.install(lockorder=True, report="log")
    try:
        first, second = threading.Lock(), threading.Lock()
        with first, second:
            pass
        second.acquire()
        first.acquire()  # second -> first: a cycle, held back while `second` is held
        first.release()
        assert [r for r in caplog.records if r.name == "snarl.lockorder"] == []
    finally:
        snarl.uninstall()
    assert len([r for r in caplog.records if r.name == "snarl.lockorder"]) == 1
    second.release()


def test_a_real_abba_is_reported_as_it_forms_without_refusing(threads):
    """No refuse_waits: the two threads deadlock, as natively, but the report (held back for a
    plain Lock otherwise) is made as the deadlock forms, not never."""
    found: list = []
    snarl.install(lockorder=True, report=found.append)
    try:
        lock_a, lock_b = threading.Lock(), threading.Lock()
        a_held, b_held = threading.Event(), threading.Event()

        def take_a_then_b():
            lock_a.acquire()  # released by the test, to end the deadlock
            a_held.set()
            assert b_held.wait(TIMEOUT)
            lock_b.acquire()
            lock_b.release()

        def take_b_then_a():
            with lock_b:
                b_held.set()
                assert a_held.wait(TIMEOUT)
                with lock_a:
                    pass

        t1, t2 = threads.start(take_a_then_b), threads.start(take_b_then_a)
        wait_until(lambda: found)  # reported while both threads wait
        assert t1.is_alive() and t2.is_alive()
        lock_a.release()  # (another thread's release: the deadlock ends)
        t1.join(TIMEOUT)
        t2.join(TIMEOUT)
        assert len(found) == 1
    finally:
        snarl.uninstall()


def test_a_writer_preferring_reentry_stays_reported(reports, threads):
    """Taking the resource lock while holding the counter lock, and the counter lock while
    holding the resource lock, by one thread that owns both: a real inversion."""
    count_lock, resource = threading.Lock(), threading.Lock()
    with count_lock, resource:
        pass
    with resource, count_lock:
        pass
    assert len(reports) == 1


# -- 4. a real ABBA ----------------------------------------------------------------------------
def test_a_real_abba_is_refused_before_it_hangs(threads):
    """Each thread holds one lock and waits for the other: the second wait closes the cycle
    as it begins, and is refused (report='raise'), so neither thread hangs."""
    snarl.install(lockorder=True, report="raise")
    try:
        lock_a, lock_b = threading.Lock(), threading.Lock()
        a_held, b_held = threading.Event(), threading.Event()
        errors: list[BaseException] = []

        def worker(mine, mine_held, theirs_held, theirs):
            try:
                with mine:
                    mine_held.set()
                    assert theirs_held.wait(TIMEOUT)
                    with theirs:
                        pass
            except LockOrderViolation as exc:
                errors.append(exc)

        t1 = threads.start(lambda: worker(lock_a, a_held, b_held, lock_b))
        t2 = threads.start(lambda: worker(lock_b, b_held, a_held, lock_a))
        t1.join(TIMEOUT)
        t2.join(TIMEOUT)
        assert not t1.is_alive() and not t2.is_alive(), "the ABBA deadlocked"
        assert len(errors) == 1
    finally:
        snarl.uninstall()


def test_a_contended_cycle_that_cannot_deadlock_is_not_refused(threads):
    """refuse_waits refuses only a wait that would deadlock: here the holder of the awaited
    lock waits for nothing this thread holds, so the wait goes on (and is reported)."""
    found: list = []
    installation = snarl.install(lockorder=True, report=found.append)
    installation.validator.refuse_waits = True
    try:
        count_lock, resource = threading.Lock(), threading.Lock()
        with count_lock, resource:  # count_lock -> resource
            pass
        held, errors = threading.Event(), []

        def hold_count_lock_until_reported():
            with count_lock:
                held.set()
                # the other thread's wait has closed the cycle (its report is held back until
                # that thread releases `resource`: it could be a readers-writer lock's)
                wait_until(lambda: found or installation.validator.pending)
            # released here: the other thread's wait ends

        t = threads.start(hold_count_lock_until_reported)
        assert held.wait(TIMEOUT)
        try:
            with resource, count_lock:  # resource -> count_lock, contended: not a deadlock
                pass
        except LockOrderViolation as exc:  # pragma: no cover - the failure being tested
            errors.append(exc)
        t.join(TIMEOUT)
        assert errors == []
        assert len(found) == 1
    finally:
        snarl.uninstall()


def test_the_edge_is_recorded_when_the_wait_begins(reports, threads):
    """A thread that waits for B while holding A records A→B before it gets B."""
    lock_a, lock_b = threading.Lock(), threading.Lock()
    validator = snarl.sync.patch._options["lockorder"]
    lock_b.acquire()
    waiting = threading.Event()

    def a_then_b():
        with lock_a:
            waiting.set()
            with lock_b:
                pass

    t = threads.start(a_then_b)
    assert waiting.wait(TIMEOUT)
    key_a, key_b = lock_a._site_created.key, lock_b._site_created.key
    deadline = __import__("time").monotonic() + TIMEOUT
    while key_b not in validator._graph.succ.get(key_a, {}):
        assert __import__("time").monotonic() < deadline, "A→B not recorded while waiting"
        __import__("time").sleep(0.001)
    lock_b.release()
    t.join(TIMEOUT)
    assert reports == []


# -- 5. per-instance order --------------------------------------------------------------------
class Account:
    def __init__(self, balance: int) -> None:
        self.lock = threading.Lock()
        self.balance = balance


def _transfer(src: Account, dst: Account, amount: int) -> None:
    with src.lock:  # noqa: SIM117 (two sites)
        with dst.lock:
            src.balance -= amount
            dst.balance += amount


def test_the_readme_bank_transfer_is_reported(reports):
    a, b = Account(100), Account(100)
    _transfer(a, b, 10)
    _transfer(b, a, 10)
    assert len(reports) == 1
    assert "lock" in reports[0].message()


def test_nesting_same_class_locks_by_id_is_not_reported(reports):
    accounts = [Account(100) for _ in range(4)]

    def ordered(src, dst, amount):
        first, second = sorted((src, dst), key=id)
        with first.lock, second.lock:
            src.balance -= amount
            dst.balance += amount

    for src in accounts:
        for dst in accounts:
            if src is not dst:
                ordered(src, dst, 1)
    assert reports == []


# -- 7. drop-in fidelity -------------------------------------------------------------------------
# CPython's patterns, with one difference by design: the module path is snarl.sync, two dots
# where CPython's pattern allows one (``<\w+\.Event``).  The name goes after the address.
@pytest.mark.parametrize(
    ("make", "pattern"),
    [
        (lambda: Event(name="e"), r"<[\w.]+\.Event at .*: unset>"),
        (lambda: Semaphore(3, name="s"), r"<[\w.]+\.Semaphore at .*: value=3>"),
        (lambda: BoundedSemaphore(3, name="b"), r"<[\w.]+\.BoundedSemaphore at .*: value=3/3>"),
        (lambda: Barrier(3, name="b"), r"<[\w.]+\.Barrier at .*: waiters=0/3>"),
        (lambda: Lock(name="l"), r"<unlocked .* object (.*)?at .*>"),
    ],
)
def test_reprs_match_threading_patterns(make, pattern):
    text = repr(make())
    assert re.search(pattern, text), text
    assert re.search(r"'[elsb]'", text), text  # the name is still shown


def test_lock_takes_no_positional_argument():
    with pytest.raises(TypeError):
        Lock(1)  # type: ignore[misc]
    with pytest.raises(TypeError):
        Lock(a=1)  # type: ignore[call-arg]
    assert Lock(name="named").name == "named"


def test_lock_cannot_be_subclassed():
    with pytest.raises(TypeError):

        class MyLock(Lock):
            pass


def test_rlock_arguments_as_threading():
    native = threading.RLock
    for args, kwargs in [((1,), {}), ((), {"a": 1}), ((1, 2), {"a": 1})]:
        with warnings.catch_warnings(record=True) as theirs:
            warnings.simplefilter("always")
            try:
                native(*args, **kwargs)
                native_error = None
            except TypeError as exc:
                native_error = type(exc)
        with warnings.catch_warnings(record=True) as ours:
            warnings.simplefilter("always")
            try:
                RLock(*args, **kwargs)
                our_error = None
            except TypeError as exc:
                our_error = type(exc)
        assert our_error == native_error, (args, kwargs)
        assert [w.category for w in ours] == [w.category for w in theirs], (args, kwargs)


def test_the_validator_reports_the_public_type_name(reports):
    lock, rlock = threading.Lock(), threading.RLock()
    assert type(lock).__name__ == "Lock"
    assert type(rlock).__name__ == "RLock"
    assert "Hooked" not in repr(lock) + repr(rlock) + repr(type(lock))


@pytest.mark.skipif(sys.version_info < (3, 13), reason="threading.Lock is a class from 3.13")
def test_isinstance_of_the_installed_lock(installed):
    assert isinstance(threading.Lock(), threading.Lock)
