"""gdb mode: a process without the agent is dumped by snarl's snapshot run inside it."""

from __future__ import annotations

import io
import os
import sys
from pathlib import Path

import pytest

from snarl.remote import NoMethod, fetch, main_dump

from .conftest import needs_gdb, wait_for

pytestmark = needs_gdb

READ = 0  # x86-64 system call number of read()


def test_gdb_dump_of_a_program_without_the_agent(spawn):
    target = spawn("parked.py")
    got = fetch(target.pid, method="gdb", timeout=20)
    assert got.method == "gdb"
    snap = got.snapshot
    assert snap.pid == target.pid and not snap.tracked
    assert [t.name for t in snap.threads] == [
        "MainThread",
        "idle-0",
        "idle-1",
        "idle-2",
        "queue-worker",
        "sleeper",
    ]  # the injected thread is left out
    assert snap.thread("sleeper").state == "sleeping"
    worker = snap.thread("queue-worker")
    assert worker.wait is not None and worker.wait.kind == "queue-get"
    assert worker.wait.object is not None and worker.wait.object.name == "jobs"
    idle = snap.thread("idle-0")
    assert idle.wait is not None and idle.wait.kind == "event"
    assert idle.wait.object is not None and idle.wait.object.name == "stop"
    assert got.cannot and "bare acquire()" in got.cannot[0]
    assert any("ran snarl's snapshot there" in n for n in got.notes)
    assert not any("has no snarl" in n for n in got.notes)  # parked.py imports snarl itself
    target.ping()  # the program runs on
    again = fetch(target.pid, method="gdb", timeout=20)
    assert [t.name for t in again.snapshot.threads] == [t.name for t in snap.threads]
    assert target.close_stdin() == 0  # and ends normally
    assert target.popen.stderr is not None and target.popen.stderr.read() == ""


def ask(target, question: str) -> str:
    assert target.popen.stdin is not None
    target.popen.stdin.write(question + "\n")
    target.popen.stdin.flush()
    return target.readline(timeout=10)


def test_gdb_sends_snarl_to_a_program_that_has_none_and_leaves_it_without(spawn):
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)  # the program cannot import snarl by itself
    target = spawn("plain.py", "--threading", env=env)
    assert ask(target, "snarl?") == "snarl imported: False"
    got = fetch(target.pid, method="gdb", timeout=20)
    assert any("the process has no snarl" in n for n in got.notes)
    [main] = got.snapshot.threads
    assert main.main and main.name == "MainThread"
    assert ask(target, "snarl?") == "snarl imported: False"  # its modules were removed after
    again = fetch(target.pid, method="gdb", timeout=20)
    assert [t.name for t in again.snapshot.threads] == ["MainThread"]
    assert target.close_stdin() == 0
    assert target.popen.stderr is not None and target.popen.stderr.read() == ""


def test_gdb_dump_of_a_tracked_deadlock_has_the_owners(spawn):
    target = spawn("abba.py", "--tracked", "--bare")  # tracked, but no agent
    out, err = io.StringIO(), io.StringIO()
    assert main_dump(str(target.pid), method="gdb", timeout=20, stdout=out, stderr=err) == 0
    text = out.getvalue()
    assert "Found 1 deadlock:" in text
    assert '"worker-AB" waits' in text and 'held by "worker-BA" since' in text
    [note] = err.getvalue().splitlines()
    assert note.startswith(f"snarl dump: pid {target.pid} via gdb injection")
    assert note.endswith("lock owners tracked")
    target.ping()


def test_gdb_dump_with_locals(spawn):
    target = spawn("parked.py", "--threads", "1")
    snap = fetch(target.pid, method="gdb", locals=True, timeout=20).snapshot
    run = next(f for f in snap.thread("idle-0").frames if f.function.endswith("run"))
    assert run.locals is not None and "self" in dict(run.locals)


def test_auto_mode_skips_a_missing_agent_and_uses_gdb(spawn):
    target = spawn("parked.py")
    got = fetch(target.pid, timeout=20)
    assert got.method == "gdb"


def _threads(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/task"))


def _in_syscall(pid: int, number: int) -> bool:
    try:
        first = Path(f"/proc/{pid}/task/{pid}/syscall").read_text().split()[0]
    except (OSError, IndexError):
        return False
    return first == str(number)


def test_a_held_gil_times_out_with_exit_code_8_and_the_program_runs_on(spawn, monkeypatch):
    monkeypatch.setenv("PATH", os.defpath)  # whatever py-spy is installed: not used here
    target = spawn("stuck_gil.py")
    # The main thread holds the GIL from before "ready" until a byte reaches its stdin; wait
    # until it is inside that read (its current system call), so the timeout below is certain.
    # The timeout leaves gdb seconds to attach even on a loaded machine: a shorter one would
    # be blamed on itself ("give a longer --timeout"), not on the GIL.
    wait_for(lambda: _in_syscall(target.pid, READ), "the target reading in C with the GIL")
    threads = _threads(target.pid)
    out, err = io.StringIO(), io.StringIO()
    code = main_dump(str(target.pid), method="gdb", timeout=6.0, stdout=out, stderr=err)
    assert code == 8
    assert out.getvalue() == ""
    [line] = err.getvalue().splitlines()
    assert line.startswith(f"snarl dump: error: process {target.pid} did not answer in 6 s")
    assert "holds the GIL" in line and "faulthandler" in line and "py-spy dump --pid" in line
    # The program was not harmed: let the read end, and it goes on; the thread gdb started
    # takes the GIL then, finds the client gone and ends: nothing is left behind.
    assert target.popen.stdin is not None
    target.popen.stdin.write("x")
    target.popen.stdin.flush()
    assert target.readline(timeout=15) == "awake"
    wait_for(lambda: _threads(target.pid) == threads, f"the target back to {threads} threads")
    assert target.close_stdin() == 0
    assert target.popen.stderr is not None and target.popen.stderr.read() == ""


def test_a_program_that_never_imported_threading(spawn):
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    target = spawn("plain.py", env=env)
    imported = ask(target, "threading?") == "threading imported: True"  # by a .pth file
    if imported or sys.version_info >= (3, 13):  # 3.13's threading finds the main thread
        [main] = fetch(target.pid, method="gdb", timeout=20).snapshot.threads
        assert main.main and main.name == "MainThread"
    else:
        with pytest.raises(NoMethod, match="never imported threading"):
            fetch(target.pid, method="gdb", timeout=20)
        assert ask(target, "snarl?") == "snarl imported: False"  # nothing was imported
    target.ping()
    assert target.close_stdin() == 0
    assert target.popen.stderr is not None and target.popen.stderr.read() == ""


def test_gdb_dump_of_a_program_with_the_agent_leaves_the_agent_thread_out(spawn):
    target = spawn("parked.py", "--agent", "--threads", "1")
    snap = fetch(target.pid, method="gdb", timeout=20).snapshot
    names = [t.name for t in snap.threads]
    assert names == ["MainThread", "idle-0", "queue-worker", "sleeper"]
