"""Locks a thread holds because its frames are inside ``with`` blocks, checked against the lock."""

from __future__ import annotations

import threading

from ..helpers import JOIN_TIMEOUT, blocked, line_of

HERE = __file__


def line(marker: str) -> int:
    return line_of(HERE, f"# @{marker}")


def held_facts(info) -> set[tuple]:
    return {(h.object.name, h.object.id, h.basis, h.filename, h.lineno) for h in info.held}


def outer_frame(a, b, c, ready, stop) -> None:
    with a:  # @outer-a
        inner_frame(b, c, ready, stop)


def inner_frame(b, c, ready, stop) -> None:
    with b:  # @inner-b  # noqa: SIM117 (one line per block: each is checked)
        with c.lock:  # @inner-c
            ready.set()
            stop.wait()


class Box:
    def __init__(self, lock) -> None:
        self.lock = lock


def test_nested_with_blocks_across_frames(threads):
    a, b, c = threading.Lock(), threading.Lock(), threading.Lock()
    ready = threading.Event()
    t = threads.start(outer_frame, a, b, Box(c), ready, threads.stop, name="nested")
    assert ready.wait(JOIN_TIMEOUT)
    info = blocked(t).thread("nested")
    assert held_facts(info) == {
        ("a", id(a), "with-block", HERE, line("outer-a")),
        ("b", id(b), "with-block", HERE, line("inner-b")),
        ("c.lock", id(c), "with-block", HERE, line("inner-c")),
    }
    assert all(h.object.type == "_thread.lock" and h.object.locked for h in info.held)


def hold_rlock_and_condition(rlock, cond, ready, stop) -> None:
    with rlock:  # @rlock-with  # noqa: SIM117
        with cond:  # @cond-with
            ready.set()
            stop.wait()


def test_rlock_and_condition_held_by_their_owner(threads):
    rlock, cond = threading.RLock(), threading.Condition()
    ready = threading.Event()
    t = threads.start(hold_rlock_and_condition, rlock, cond, ready, threads.stop, name="owner")
    assert ready.wait(JOIN_TIMEOUT)
    info = blocked(t).thread("owner")
    assert held_facts(info) == {
        ("rlock", id(rlock), "rlock-owner", HERE, line("rlock-with")),
        ("cond", id(cond), "rlock-owner", HERE, line("cond-with")),
    }
    types = {h.object.name: h.object.type for h in info.held}
    assert types == {"rlock": "_thread.RLock", "cond": "threading.Condition"}


def hold_non_locks(sem, ready, stop) -> None:
    # A Semaphore is not a lock (several threads may be inside), nor is a file.
    with sem, open(__file__, encoding="utf-8"):
        ready.set()
        stop.wait()


def test_with_blocks_on_non_locks_are_not_held_locks(threads):
    ready = threading.Event()
    t = threads.start(hold_non_locks, threading.Semaphore(2), ready, threads.stop, name="nonlock")
    assert ready.wait(JOIN_TIMEOUT)
    assert blocked(t).thread("nonlock").held == ()


def hold_after_as_target(lock, ready, stop) -> None:
    with open(__file__, encoding="utf-8") as source, lock:  # @as-target-with
        ready.set()
        stop.wait()
        source.close()


def test_lock_after_an_as_target_in_one_with_statement(threads):
    # On 3.13 `as source, lock` compiles to one STORE_FAST_LOAD_FAST instruction.
    lock = threading.Lock()
    ready = threading.Event()
    t = threads.start(hold_after_as_target, lock, ready, threads.stop, name="as-target")
    assert ready.wait(JOIN_TIMEOUT)
    info = blocked(t).thread("as-target")
    assert held_facts(info) == {("lock", id(lock), "with-block", HERE, line("as-target-with"))}


def hold_in_except(lock, ready, stop) -> None:
    with lock:  # @except-with
        try:
            raise ValueError("inside the with block")
        except ValueError:
            ready.set()
            stop.wait()


def hold_in_finally(lock, ready, stop) -> None:
    with lock:  # @finally-with
        try:
            pass
        finally:
            ready.set()
            stop.wait()


def hold_then_return(lock, ready, stop) -> int:
    with lock:  # @return-with
        if lock.locked():
            return wait_and_return(ready, stop)
        return 0


def wait_and_return(ready, stop) -> int:
    ready.set()
    stop.wait()
    return 1


def test_with_block_around_except_finally_and_return(threads):
    targets = {"except": hold_in_except, "finally": hold_in_finally, "return": hold_then_return}
    locks = {}
    started = []
    for label, target in targets.items():
        locks[label] = threading.Lock()
        ready = threading.Event()
        started.append(threads.start(target, locks[label], ready, threads.stop, name=label))
        assert ready.wait(JOIN_TIMEOUT)
    snap = blocked(*started)
    for label in targets:
        assert held_facts(snap.thread(label)) == {
            ("lock", id(locks[label]), "with-block", HERE, line(f"{label}-with"))
        }, label


def release_by_hand(lock, ready, stop) -> None:
    with lock:  # @manual-release
        lock.release()
        ready.set()
        stop.wait()
        lock.acquire()


def test_lock_released_by_hand_inside_its_block_is_not_held(threads):
    lock = threading.Lock()
    ready = threading.Event()
    t = threads.start(release_by_hand, lock, ready, threads.stop, name="released")
    assert ready.wait(JOIN_TIMEOUT)
    info = blocked(t).thread("released")
    assert info.held == ()
    assert not lock.locked()


def take_rlock(rlock, ready, stop) -> None:
    rlock.acquire()
    ready.set()
    stop.wait()
    rlock.release()


def test_rlock_released_by_hand_and_taken_by_another_thread(threads):
    rlock = threading.RLock()
    ready, taken = threading.Event(), threading.Event()
    t = threads.start(release_by_hand, rlock, ready, threads.stop, name="gave-up")
    assert ready.wait(JOIN_TIMEOUT)
    other = threads.start(take_rlock, rlock, taken, threads.stop, name="taker")
    assert taken.wait(JOIN_TIMEOUT)
    snap = blocked(t, other)
    assert snap.thread("gave-up").held == ()  # its with-block is contradicted by the owner
    assert snap.thread("taker").held == ()  # a bare acquire() is not a with-block


def wait_on_condition(cond, stop) -> None:
    with cond:  # @cond-wait-with
        while not stop.is_set():
            cond.wait()


def test_condition_wait_lets_go_of_its_lock(threads):
    cond = threading.Condition(threading.Lock())

    def release():
        threads.stop.set()
        with cond:
            cond.notify_all()

    threads.on_teardown(release)
    t = threads.start(wait_on_condition, cond, threads.stop, name="cond")
    info = blocked(t).thread("cond")
    assert info.wait.kind == "condition"
    assert info.held == ()


def test_current_thread_reports_its_own_with_blocks():
    import snarl

    lock = threading.Lock()
    with lock:  # @current-with
        snap = snarl.snapshot()
    [me] = [t for t in snap.threads if t.current]
    assert ("lock", id(lock), "with-block", HERE, line("current-with")) in held_facts(me)


def hold_both(a, r, ready, stop) -> None:
    with a:  # @validated-a  # noqa: SIM117 (one line per block: each is checked)
        with r:  # @validated-r
            ready.set()
            stop.wait()


def test_locks_under_the_lock_order_validator_show_as_held(threads):
    # The validator makes snarl's locks hooked subclasses: they are still snarl's Lock and
    # RLock for the dump (it used to match their exact type and miss them).
    import snarl

    with snarl.install(lockorder=True):
        a = threading.Lock()
        r = threading.RLock()
        assert type(a) is not snarl.sync.Lock  # the hooked variant
        ready = threading.Event()
        t = threads.start(hold_both, a, r, ready, threads.stop, name="validated")
        assert ready.wait(JOIN_TIMEOUT)
        snap = blocked(t)
    [info] = [x for x in snap.threads if x.name == "validated"]
    held = {(h.object.name, h.lineno) for h in info.held}
    assert held == {("a", line("validated-a")), ("r", line("validated-r"))}
