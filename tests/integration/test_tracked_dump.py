"""Dumps of programs using snarl's tracked primitives: recorded owners, exits and wait times.

Without tracking a dump can only infer a holder from a ``with`` block; with tracking, a lock
taken by a bare ``acquire()``, or held by a thread that has since exited, has a known owner,
and every wait knows how long it has lasted.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

import snarl
from snarl.sync import Lock

from ..helpers import JOIN_TIMEOUT, deadlocked, line_in, snapshot_when

HERE = Path(__file__)
SNARL_DIR = str(Path(snarl.__file__).resolve().parent)


def take(first: Lock, second: Lock, both: threading.Barrier) -> None:
    first.acquire()
    both.wait(JOIN_TIMEOUT)
    second.acquire()
    second.release()
    if first.locked():  # the test released AB's first lock to end the deadlock
        first.release()


def test_abba_with_bare_acquires_is_a_certain_deadlock(threads):
    lock_a, lock_b = Lock(name="lock_a"), Lock(name="lock_b")
    both = threading.Barrier(2)
    ab = threads.start(take, lock_a, lock_b, both, name="AB")
    ba = threads.start(take, lock_b, lock_a, both, name="BA")
    threads.on_teardown(lock_a.release)  # any thread may release a Lock: AB then finishes

    snap = deadlocked(ab, ba)

    [cycle] = snap.deadlocks
    assert cycle.certain  # recorded owners, no with-block inference
    acquire_line = line_in(HERE, "take", "second.acquire()")
    first_line = line_in(HERE, "take", "first.acquire()")
    by_waiter = {s.thread_name: s for s in cycle.steps}
    assert by_waiter["AB"].wait.object.name == "lock_b"
    assert by_waiter["AB"].holder.name == "BA"
    assert by_waiter["BA"].wait.object.name == "lock_a"
    assert by_waiter["BA"].holder.name == "AB"
    text = snarl.format_dump(snap)
    for step in cycle.steps:
        assert step.holder.basis == "tracked"
        assert step.holder.lineno == first_line, text  # where the holder took it
        assert step.wait.lineno == acquire_line, text
    assert snap.tracked
    assert "Found 1 deadlock:" in text
    assert 'held by "BA" since ' in text
    assert f"test_tracked_dump.py:{first_line}" in text


def test_lock_held_by_an_exited_thread_is_a_wait_no_one_can_end(threads):
    blocker = Lock(name="blocker")
    holder = threads.start(blocker.acquire, name="holder")
    holder.join(JOIN_TIMEOUT)
    assert not holder.is_alive()
    threads.on_teardown(blocker.release)

    def wait_for_it() -> None:
        with blocker:
            pass

    waiter = threads.start(wait_for_it, name="waiter")
    snap = snarl.wait_until_blocked(waiter, kinds={"lock"}, timeout=JOIN_TIMEOUT)

    info = snap.thread("waiter")
    [who] = info.wait.holders
    assert (who.name, who.alive, who.basis) == ("holder", False, "tracked")
    assert snap.stranded == (info,)
    assert not snap.deadlocks
    text = snarl.format_dump(snap)
    assert "Found 1 wait no one can end (the holder has exited):" in text
    assert '"waiter" waits for Lock `blocker`' in text
    assert 'held by "holder" (exited)' in text


def test_wait_times_grow_and_holds_list_bare_acquires(threads):
    gate = Lock(name="gate")
    gate.acquire()
    threads.on_teardown(gate.release)
    waiter = threads.start(gate.acquire, name="waiter")

    first = snarl.wait_until_blocked(waiter, kinds={"lock"}, timeout=JOIN_TIMEOUT)
    later = snapshot_when(
        lambda s: s.thread("waiter").wait.since > first.thread("waiter").wait.since,
        "the wait time to grow",
    )

    assert first.thread("waiter").wait.since >= 0
    me = later.thread(threading.current_thread().name)
    [held] = [h for h in me.held if h.object.name == "gate"]
    assert held.basis == "tracked"
    assert held.lineno == line_in(
        HERE, "test_wait_times_grow_and_holds_list_bare_acquires", "gate.acquire()"
    )
    [holder] = later.thread("waiter").wait.holders
    assert holder.ident == threading.get_ident()


def test_snarl_frames_are_hidden_and_json_says_tracked(threads):
    lock = Lock(name="lock")
    lock.acquire()
    threads.on_teardown(lock.release)
    waiter = threads.start(lock.acquire, name="waiter")
    snap = snarl.wait_until_blocked(waiter, kinds={"lock"}, timeout=JOIN_TIMEOUT)

    for t in snap.threads:
        assert not any(f.filename.startswith(SNARL_DIR) for f in t.frames), t.name
    data = json.loads(snarl.format_dump(snap, "json"))
    assert data["tracked"] is True
    [waiting] = [t for t in data["threads"] if t["name"] == "waiter"]
    assert waiting["wait"]["kind"] == "lock"
    assert waiting["wait"]["since"] is not None
    assert waiting["wait"]["holders"][0]["basis"] == "tracked"
    # one spelling of the type, whether frames or snarl's records supplied the object
    [me] = [t for t in data["threads"] if t["current"]]
    [held] = [h for h in me["held"] if h["object"]["name"] == "lock"]
    assert waiting["wait"]["object"]["type"] == held["object"]["type"] == "snarl.sync.lock.Lock"


def test_installed_threading_code_is_tracked(threads):
    with snarl.install():
        blocker = threading.Lock()  # snarl's Lock now
        blocker.acquire()
        threads.on_teardown(blocker.release)
        waiter = threads.start(blocker.acquire, name="waiter")
        snap = snarl.wait_until_blocked(waiter, kinds={"lock"}, timeout=JOIN_TIMEOUT)
    info = snap.thread("waiter")
    assert info.wait.object.name == "blocker"
    assert info.wait.holders[0].ident == threading.get_ident()
    assert info.wait.holders[0].basis == "tracked"


@pytest.mark.parametrize("kind", ["event", "condition", "semaphore"])
def test_tracked_waits_on_other_primitives_have_a_kind_and_a_time(threads, kind):
    from snarl.sync import Condition, Event, Semaphore

    if kind == "event":
        obj = Event(name="ready")
        threads.on_teardown(obj.set)
        target = obj.wait
    elif kind == "condition":
        obj = Condition(name="ready")

        def target() -> None:
            with obj:
                obj.wait(JOIN_TIMEOUT)

        def wake() -> None:
            with obj:
                obj.notify_all()

        threads.on_teardown(wake)
    else:
        obj = Semaphore(0, name="ready")
        threads.on_teardown(obj.release)
        target = obj.acquire
    waiter = threads.start(target, name="waiter")
    snap = snarl.wait_until_blocked(waiter, kinds={kind}, timeout=JOIN_TIMEOUT)
    wait = snap.thread("waiter").wait
    assert wait.kind == kind
    assert wait.since is not None
    assert wait.holders == ()  # anyone could end these waits: no wait-for edge


@pytest.mark.parametrize("kind", ["lock", "rlock", "condition"])
def test_with_acquired_tracked_lock_gets_its_line_from_the_with_block(threads, kind):
    # An uncontended `with` records the owner but not the line; the dump reads the line from
    # the owner's with-block, so nothing is lost (a Condition's `with` holds its RLock).
    from snarl.sync import Condition, RLock

    gate = {"lock": Lock, "rlock": RLock, "condition": Condition}[kind](name="gate")
    inside = threading.Event()

    def hold() -> None:
        with gate:
            inside.set()
            threads.stop.wait(JOIN_TIMEOUT)

    holder = threads.start(hold, name="holder")
    assert inside.wait(JOIN_TIMEOUT)
    waiter = threads.start(gate.acquire, name="waiter")  # gets it once the holder leaves
    snap = snarl.wait_until_blocked(
        holder, waiter, kinds={"lock", "rlock", "event"}, timeout=JOIN_TIMEOUT
    )

    with_line = line_in(HERE, "hold", "with gate:")
    [who] = snap.thread("waiter").wait.holders
    assert (who.name, who.basis, who.lineno) == ("holder", "tracked", with_line)
    [held] = [h for h in snap.thread("holder").held if h.object.name == "gate"]
    assert (held.basis, held.lineno) == ("tracked", with_line)


@pytest.mark.parametrize("kind", ["lock", "rlock", "condition"])
def test_lock_held_by_with_is_listed_with_no_waiter(threads, kind):
    # The observer records only bare holds; a `with` hold is found on the owner's stack and
    # its owner read from the lock itself, so it is still certain ("tracked").
    from snarl.sync import Condition, RLock

    gate = {"lock": Lock, "rlock": RLock, "condition": Condition}[kind](name="gate")
    inside = threading.Event()

    def keep() -> None:
        with gate:
            inside.set()
            threads.stop.wait(JOIN_TIMEOUT)

    holder = threads.start(keep, name="holder")
    assert inside.wait(JOIN_TIMEOUT)
    snap = snarl.wait_until_blocked(holder, kinds={"event"}, timeout=JOIN_TIMEOUT)
    [held] = snap.thread("holder").held
    assert (held.basis, held.lineno) == ("tracked", line_in(HERE, "keep", "with gate:"))
    assert held.object.name == "gate" and snap.tracked


@pytest.mark.parametrize("kind", ["lock", "rlock", "condition"])
def test_a_released_bare_acquire_leaves_no_stale_line(threads, kind):
    # A bare acquire records its line; after the final release that line is history, and a
    # later uncontended `with` (which records none) must not inherit it.
    from snarl.runtime.observer import OBSERVER
    from snarl.sync import Condition, RLock

    gate = {"lock": Lock, "rlock": RLock, "condition": Condition}[kind](name="gate")
    gate.acquire()  # bare: the line is recorded
    gate.release()
    inside = threading.Event()

    def hold_fresh() -> None:
        with gate:
            inside.set()
            threads.stop.wait(JOIN_TIMEOUT)

    holder = threads.start(hold_fresh, name="holder")
    assert inside.wait(JOIN_TIMEOUT)
    lock = gate._lock if kind == "condition" else gate
    assert OBSERVER.lock_facts(lock)["acquired"] is None
    waiter = threads.start(gate.acquire, name="waiter")
    snap = snarl.wait_until_blocked(
        holder, waiter, kinds={"lock", "rlock", "event"}, timeout=JOIN_TIMEOUT
    )
    [who] = snap.thread("waiter").wait.holders
    assert who.lineno == line_in(HERE, "hold_fresh", "with gate:")


def test_tracked_rlock_owner_and_count_come_from_the_interpreter(threads):
    from snarl.runtime.observer import tracked_state
    from snarl.sync import RLock

    lock = RLock(name="reentrant")
    lock.acquire()  # first: the site a dump shows
    lock.acquire(True)  # re-entry: count 2, same site
    threads.on_teardown(lambda: (lock.release(), lock.release()))
    waiter = threads.start(lock.acquire, name="waiter")
    snap = snarl.wait_until_blocked(waiter, kinds={"rlock"}, timeout=JOIN_TIMEOUT)

    wait = snap.thread("waiter").wait
    assert (wait.object.name, wait.object.locked) == ("reentrant", True)
    [holder] = wait.holders
    assert (holder.ident, holder.basis) == (threading.get_ident(), "tracked")
    here = "test_tracked_rlock_owner_and_count_come_from_the_interpreter"
    assert holder.lineno == line_in(HERE, here, "lock.acquire()  # first")
    facts = tracked_state()["locks"][id(lock)]
    assert (facts["owner"], facts["count"]) == (threading.get_ident(), 2)
