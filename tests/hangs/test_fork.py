"""Fork under ``snarl.watch()`` and ``snarl run``: the child ends normally, and has no watchdog.

The child's watchdog (none: its thread did not survive the fork), its timeline (not written:
the file is the parent's) and snarl's tracked locks held at fork (as native locks behave).
"""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest

from snarl.frames import gil_off

from .procs import finish, snarl_run, spawn

PROGRAMS = Path(__file__).resolve().parent / "programs"
needs_fork = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")


@needs_fork
@pytest.mark.parametrize("child", ["exit", "watch"])
def test_a_child_forked_under_watch_exits(child):
    code, out, err = finish(spawn(PROGRAMS / "fork_child.py", "watch", child))
    assert code == 0, err
    lines = out.splitlines()
    assert "in child: watchdog threads [], running=False" in lines
    assert "child 0" in lines, out  # not "child hung": the timer was not inherited armed
    if child == "watch":
        assert "own watchdog checks True" in lines
    # re-armed after the fork (a build without the GIL arms no fallback timer at all)
    assert f"parent watchdog running=True armed={not gil_off()}" in lines


@needs_fork
def test_a_child_forked_under_snarl_run_exits_and_leaves_the_timeline_to_the_parent(tmp_path):
    timeline = tmp_path / "t.json"
    proc = snarl_run("--timeline", timeline, PROGRAMS / "fork_child.py", "run", "exit")
    code, out, err = finish(proc)
    assert code == 0, err
    assert "child 0" in out.splitlines(), out
    assert err.count("timeline written to") == 1, err  # the parent's only
    assert "Traceback" not in err


LOCKS = textwrap.dedent(
    """
    import os, sys, threading

    if sys.argv[1] == "tracked":
        import snarl
        snarl.install()

    other_lock, mine, other_rlock, my_rlock = (
        threading.Lock(), threading.Lock(), threading.RLock(), threading.RLock())
    holding, done = threading.Event(), threading.Event()

    def holder():
        other_lock.acquire()
        other_rlock.acquire()
        holding.set()
        done.wait()

    t = threading.Thread(target=holder, daemon=True)
    t.start()
    holding.wait()
    mine.acquire()
    my_rlock.acquire()
    my_rlock.acquire()

    def attempt(f):
        try:
            return repr(f())
        except Exception as exc:
            return type(exc).__name__

    pid = os.fork()
    if pid == 0:
        results = [
            attempt(lambda: other_lock.acquire(timeout=0.05)),
            attempt(lambda: other_lock.locked()),
            attempt(lambda: mine.locked()),
            attempt(mine.release),
            attempt(lambda: mine.acquire(False)),
            attempt(my_rlock.release),
            attempt(my_rlock.release),
            attempt(my_rlock.release),
            attempt(lambda: my_rlock.acquire(False)),
            attempt(lambda: other_rlock.acquire(timeout=0.05)),
            attempt(other_rlock.release),
        ]
        ev = threading.Event()
        th = threading.Thread(target=ev.set)
        th.start()
        th.join(5)
        results.append(attempt(lambda: ev.wait(5)))
        results.append(attempt(lambda: (threading.Lock().acquire(), threading.RLock().acquire())))
        print("|".join(results), flush=True)
        os._exit(0)
    os.waitpid(pid, 0)
    """
)


@needs_fork
def test_tracked_locks_held_at_fork_behave_in_the_child_as_native_ones(tmp_path):
    script = tmp_path / "locks.py"
    script.write_text(LOCKS, encoding="utf-8")
    native = finish(spawn(script, "native"))
    tracked = finish(spawn(script, "tracked"))
    assert native[0] == tracked[0] == 0, (native[2], tracked[2])
    assert native[1].strip().split("|") == [
        "False", "True", "True", "None", "True", "None", "None", "RuntimeError", "True",
        "False", "RuntimeError", "True", "(True, True)",
    ]  # fmt: skip
    assert tracked[1] == native[1], tracked[2]
