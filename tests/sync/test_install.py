"""install()/uninstall(): what gets patched, idempotence, reversal, and a live thread pool."""

from __future__ import annotations

import os
import queue
import sys
import threading
import warnings
from concurrent.futures import ThreadPoolExecutor

import pytest

import snarl
import snarl.sync
from snarl.runtime.observer import OBSERVER, tracked_state

from .conftest import NATIVE, TIMEOUT, wait_until

NAMES = ("Lock", "RLock", "Condition", "Semaphore", "BoundedSemaphore", "Event", "Barrier")


def natives():
    return {name: getattr(threading, name) for name in NAMES}


def test_install_patches_and_uninstall_restores():
    before = natives()
    join = threading.Thread.join
    with snarl.install() as inst:
        for name in NAMES:
            assert getattr(threading, name) is getattr(snarl.sync, name)
        native = snarl.sync.thread.thread_originals()["join"]
        assert threading.Thread.join is not native  # hooked
        assert inst.validator is None
        snarl.install()  # idempotent
        assert snarl.sync.installed()
        made = threading.Lock()
    assert natives() == before and threading.Thread.join is join
    assert not snarl.sync.installed()
    with made:  # objects made while installed keep working
        assert made.locked()
    snarl.uninstall()  # idempotent too
    assert natives() == before


def test_nested_context_restores_the_outer_state():
    with snarl.install():
        with snarl.install(lockorder=True) as inner:
            assert inner.validator is not None
        assert snarl.sync.installed()
        assert snarl.sync.patch._options["lockorder"] is None
    assert not snarl.sync.installed()


def test_install_and_uninstall_under_a_running_pool():
    stop = threading.Event()
    results = []
    errors = []

    def producer(ex):
        i = 0
        while not stop.is_set():
            try:
                results.append((i, ex.submit(pow, i, 2)))
            except Exception as exc:  # pragma: no cover - reported below
                errors.append(exc)
                return
            i += 1

    with ThreadPoolExecutor(8) as ex:
        t = threading.Thread(target=producer, args=(ex,))
        t.start()
        for _ in range(30):
            n = len(results)
            with snarl.install(lockorder=True):
                wait_until(lambda n=n: len(results) > n + 5)
            n = len(results)
            wait_until(lambda n=n: len(results) > n + 5)
        stop.set()
        t.join(TIMEOUT)
        assert all(f.result(TIMEOUT) == i * i for i, f in results)
    assert not errors and len(results) > 300
    tracked = sum(isinstance(f._condition, snarl.sync.Condition) for _, f in results)
    assert 0 < tracked < len(results)  # both kinds ran side by side
    assert threading.Lock is NATIVE.Lock


def test_queue_waits_are_tracked(installed, threads):
    q = queue.Queue()
    getter = threads.start(q.get, name="getter")
    state = wait_until_waiting(getter)
    wait = state["waits"][getter.ident]
    assert wait["type"] == "Condition" and wait["name"] == "self.not_empty"
    assert wait["lock"] == id(q.mutex)
    q.put(1)
    getter.join(TIMEOUT)


def wait_until_waiting(t):
    holder = {}

    def seen():
        holder["s"] = tracked_state()
        return t.ident in holder["s"]["waits"]

    wait_until(seen)
    return holder["s"]


def test_event_semaphore_barrier_waits_name_the_primitive(installed, threads):
    ready = threading.Event()
    gate = threading.Semaphore(0)
    meet = threading.Barrier(2)
    ts = [threads.start(f) for f in (ready.wait, gate.acquire, meet.wait)]
    state = None
    for t in ts:
        state = wait_until_waiting(t)
    kinds = {state["waits"][t.ident]["kind"]: state["waits"][t.ident]["name"] for t in ts}
    assert kinds == {"event": "ready", "semaphore": "gate", "barrier": "meet"}
    ready.set()
    gate.release()
    meet.wait(TIMEOUT)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
@pytest.mark.parametrize("lockorder", [False, True], ids=["tracked", "lockorder"])
def test_fork_while_tracked_locks_are_held(threads, lockorder):
    with snarl.install(lockorder=lockorder, report="raise"):
        _fork_while_held(threads)


def _fork_while_held(threads):
    mine = snarl.sync.Lock()
    theirs = snarl.sync.Lock()
    rl = snarl.sync.RLock()
    cond = snarl.sync.Condition()
    held = threading.Event()
    done = threading.Event()

    def other():
        with theirs:
            held.set()
            done.wait(TIMEOUT)

    threads.start(other)
    held.wait(TIMEOUT)
    mine.acquire()
    rl.acquire()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # 3.12+: fork with threads
        pid = os.fork()
    if pid == 0:  # child: only this thread exists
        code = 1
        try:
            mine.release()  # held by this (surviving) thread: usable
            rl.release()
            assert theirs.locked()  # held by a thread that does not exist here
            state = tracked_state()
            assert OBSERVER.lock_facts(theirs)["owner_alive"] is False  # held by `with`
            assert all(ident == threading.get_ident() for ident in state["waits"])
            theirs._at_fork_reinit()
            with theirs, mine, rl, cond:
                cond.notify()
            code = 0
        finally:
            os._exit(code)
    done.set()
    _, status = os.waitpid(pid, 0)
    mine.release()
    rl.release()
    assert os.waitstatus_to_exitcode(status) == 0


def test_names_and_sites_are_inferred():
    class Holder:
        def __init__(self):
            self._lock = snarl.sync.Lock()
            self.inner = type("Box", (), {})()
            self.inner.cond = snarl.sync.Condition()

    h = Holder()
    plain = snarl.sync.RLock()
    named = snarl.sync.Lock(name="explicit")
    listed = [snarl.sync.Lock()]
    assert h._lock.name == "self._lock"
    assert h.inner.cond.name == "self.inner.cond"
    assert plain.name == "plain" and named.name == "explicit" and listed[0].name is None
    state = tracked_state(all_locks=True)
    facts = state["locks"][id(h._lock)]
    assert facts["created"][0] == __file__
    assert facts["created"][1] == Holder.__init__.__code__.co_firstlineno + 1
    cond_lock = state["locks"][id(h.inner.cond._lock)]
    assert cond_lock["part_of"] == id(h.inner.cond) and cond_lock["type"] == "RLock"


def test_tracked_state_shape(installed, threads):
    lock = threading.Lock()
    lock.acquire()  # a bare acquire records its site (an uncontended `with` leaves it to dumps)
    state = tracked_state()
    lock.release()
    assert set(state) == {"now", "locks", "waits", "exited"}
    facts = state["locks"][id(lock)]
    assert set(facts) == {
        "id",
        "type",
        "name",
        "created",
        "part_of",
        "locked",
        "owner",
        "owner_name",
        "owner_alive",
        "owner_exited",
        "count",
        "acquired",
        "since",
        "stack",
        "waiters",
    }
    assert facts["owner"] == threading.get_ident() and facts["owner_alive"] is True
    assert facts["count"] == 1 and facts["acquired"][0] == __file__
    assert id(lock) not in tracked_state()["locks"]  # unlocked, unwaited: left out


def test_full_stacks_on_request():
    with snarl.install(stacks=True):
        lock = threading.Lock()
        with lock:
            facts = OBSERVER.lock_facts(lock)  # held by `with`: not in tracked_state()
    assert facts["stack"][-1][0] == __file__
    assert facts["since"] is not None and facts["since"] <= tracked_state()["now"]
    assert facts["stack"][-1][2] == sys._getframe().f_code.co_name


def test_install_before_a_scripts_first_line(tmp_path):
    """What ``snarl run`` will do: install, then run the script as ``__main__``."""
    import subprocess

    from tests.helpers import snarl_env

    script = tmp_path / "target.py"
    script.write_text(
        "import queue, threading\n"
        "lock = threading.Lock()\n"
        "q = queue.Queue()\n"
        "print(type(lock).__module__, lock.name, type(q.mutex).__module__)\n"
    )
    runner = (
        "import runpy, sys, snarl; snarl.install(); "
        "runpy.run_path(sys.argv[1], run_name='__main__')"
    )
    out = subprocess.run(
        [sys.executable, "-c", runner, str(script)],
        capture_output=True,
        text=True,
        env=snarl_env(),
        timeout=60,
        check=True,
    ).stdout.split()
    assert out == ["snarl.sync.lock", "lock", "snarl.sync.lock"]
