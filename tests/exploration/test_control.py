"""Issue 12, point 1 and 2: every blocking operation under control, whenever its object was
made (at import, as a default argument, by ``_thread``, lazily in an earlier execution), and
C-implemented blocking (``queue.SimpleQueue``, so ``concurrent.futures`` thread pools)."""

from __future__ import annotations

import _thread
import os
import subprocess
import sys
import threading

import pytest

from snarl.exploration.runner import explore

from .programs import control

LOCK_TYPE = type(_thread.allocate_lock())
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _found(fn, **options):
    options.setdefault("schedules", 200)
    return explore(fn, **options)


@pytest.mark.parametrize(
    "program",
    [
        control.module_abba,
        control.thread_module_abba,
        control.rlock_abba,
        control.default_argument_abba,
        control.closure_abba,
        control.lazy_abba,
    ],
    ids=lambda f: f.__name__,
)
def test_a_deadlock_between_locks_made_before_the_exploration_is_found(program):
    result = _found(program)
    assert result.failure is not None, str(result)
    assert result.failure.kind == "deadlock"
    assert len(result.failure.deadlocks) == 1


def test_locks_taken_in_one_order_pass():
    result = _found(control.module_abba_ordered)
    assert result.failure is None, str(result)
    assert result.distinct > 1  # the locks were switch points: more than one interleaving


def test_the_natives_are_given_back_after_the_exploration():
    _found(control.module_abba)
    assert type(control.A) is LOCK_TYPE and type(control.C) is LOCK_TYPE
    assert type(control.JOBS.mutex) is LOCK_TYPE
    assert type(control.JOBS.not_empty) is type(threading.Condition()) or (
        type(control.JOBS.not_empty).__module__ == "threading"
    )
    assert type(control.SIMPLE) is type(__import__("queue").SimpleQueue())
    assert control.Account.__init__.__defaults__ == (threading.Lock,) or (
        control.Account.__init__.__defaults__[0] in (_thread.allocate_lock, LOCK_TYPE)
    )


def test_a_module_level_queue_is_controlled():
    result = _found(control.module_queue_lost_item, schedules=20)
    assert result.failure is not None and result.failure.kind == "deadlock", str(result)
    assert "lost wakeup" in result.failure.message


def test_a_simple_queue_is_controlled():
    result = _found(control.simple_queue_pipeline)
    assert result.failure is None, str(result)
    assert result.distinct > 1


def test_a_module_level_simple_queue_is_controlled():
    result = _found(control.module_simple_queue_starved, schedules=20)
    assert result.failure is not None and "lost wakeup" in result.failure.message, str(result)


def test_a_thread_pool_runs_under_control():
    result = _found(control.executor_round_trip, schedules=100)
    assert result.failure is None, str(result)
    assert result.distinct > 10


def test_a_pool_task_waiting_on_its_own_pool_is_a_deadlock():
    result = _found(control.executor_waits_on_itself, schedules=50)
    assert result.failure is not None and result.failure.kind == "deadlock", str(result)


def test_threads_started_by_thread_module_are_managed():
    result = _found(control.start_new_thread_lost_update)
    assert result.failure is not None and result.failure.kind == "assertion", str(result)


def test_every_execution_names_its_threads_as_a_plain_run_does():
    seen: list[list[str]] = []

    def test() -> None:
        seen.append(control.names())

    _found(test, schedules=5)
    assert len(seen) >= 5
    assert all(names == seen[0] for names in seen), seen


def test_the_command_line_finds_a_deadlock_between_module_level_locks(tmp_path):
    target = tmp_path / "abba_at_import.py"
    target.write_text(
        "import threading, _thread\n"
        "from threading import Lock\n"
        "A = Lock()\n"
        "B = _thread.allocate_lock()\n"
        "def worker(x, y):\n"
        "    with x, y:\n"
        "        pass\n"
        "def test():\n"
        "    ts = [threading.Thread(target=worker, args=p) for p in ((A, B), (B, A))]\n"
        "    for t in ts: t.start()\n"
        "    for t in ts: t.join()\n"
    )
    env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "src"))
    done = subprocess.run(
        [sys.executable, "-m", "snarl", "explore", f"{target}::test", "--schedules", "50"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        cwd=tmp_path,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "deadlock" in done.stdout
    assert '"Thread-1 (worker)"' in done.stdout  # numbered as in a plain run


@pytest.mark.parametrize(
    "program", [control.daemon_parked_at_end, control.executor_not_shut_down], ids=str
)
def test_a_daemon_or_pool_worker_parked_at_the_end_is_no_failure(program):
    result = _found(program, schedules=100)
    assert result.failure is None, str(result)


def test_a_non_daemon_thread_parked_at_the_end_is_still_reported():
    result = _found(control.non_daemon_parked_at_end, schedules=20)
    assert result.failure is not None and result.failure.kind == "deadlock", str(result)


def test_daemons_in_a_cycle_at_the_end_are_still_a_deadlock():
    result = _found(control.daemons_deadlocked_at_end, schedules=200)
    assert result.failure is not None and result.failure.kind == "deadlock", str(result)
    assert result.failure.deadlocks


def test_the_programs_own_excepthook_handles_thread_errors(monkeypatch):
    monkeypatch.setattr(threading, "excepthook", control._log_and_go_on)
    control.HANDLED.clear()
    result = _found(control.handled_by_own_excepthook, schedules=5)
    assert result.failure is None, str(result)
    assert control.HANDLED and "ZeroDivisionError" in control.HANDLED[0]


def test_without_an_own_excepthook_a_thread_error_is_a_failure():
    result = _found(control.handled_by_own_excepthook, schedules=5)
    assert result.failure is not None and result.failure.kind == "exception"


def test_thread_locals_do_not_carry_over_between_executions():
    result = _found(control.thread_local_starts_empty, schedules=20)
    assert result.failure is None, str(result)


def test_a_pool_is_deterministic_under_dfs_and_its_workers_unwind_quietly(caplog):
    result = _found(control.executor_round_trip, strategy="dfs", schedules=150)
    assert result.failure is None, str(result)
    assert "Exception in worker" not in caplog.text


def test_a_spin_in_the_sync_half_of_auto_runs_at_shared_instead():
    result = _found(control.spin_wait, schedules=20)
    assert result.failure is None, str(result)
    assert "spins without synchronisation" in (result.points or "")


def test_a_spin_at_sync_granularity_is_named_as_a_busy_loop():
    from snarl.exploration.runner import StuckOutsideControl

    with pytest.raises(StuckOutsideControl) as caught:
        _found(control.spin_wait, granularity="sync", schedules=20)
    message = str(caught.value)
    assert 'thread "spin_wait"' in message and "busy loop" in message, message
    assert "control.py" in message and "while not FLAG[0]" in message, message


def test_a_thread_blocked_in_io_is_named_with_its_call():
    from snarl.exploration.runner import StuckOutsideControl

    with pytest.raises(StuckOutsideControl) as caught:
        _found(control.blocked_in_io, schedules=5)
    message = str(caught.value)
    assert 'thread "reader"' in message and "blocked" in message, message
    assert "a.recv(10)" in message, message


class _Hostile(type):
    """A metaclass that answers for its classes' __dict__ and __module__ by raising."""

    @property
    def __dict__(cls):  # type: ignore[override]
        raise RuntimeError("no")


class _Guarded(metaclass=_Hostile):
    lock = threading.Lock()


class _Trap:
    def __getattr__(self, name):
        raise AssertionError(f"the scan asked for {name}")

    @property
    def __dict__(self):  # type: ignore[override]
        raise AssertionError("the scan read __dict__ through a property")


TRAP = _Trap()


def test_the_takeover_runs_no_user_code_and_leaves_the_gc_as_it_found_it():
    import gc

    gc.disable()
    try:
        result = _found(control.module_abba, schedules=20)
        assert not gc.isenabled()
    finally:
        gc.enable()
    assert result.failure is not None and result.failure.kind == "deadlock"
    given_back = type.__dict__["__dict__"].__get__(_Guarded)["lock"]
    assert type(given_back) is LOCK_TYPE


def test_stdlib_locks_made_before_are_controlled_and_given_back():
    seen: list[list[str]] = []
    _found(lambda: seen.append(control.stdlib_locks_seen()), schedules=2)
    assert seen and all(module.startswith("snarl.") for module in seen[0]), seen
    assert not any(m.startswith("snarl.") for m in control.stdlib_locks_seen())  # given back
