"""The watchdog and the dump on signal in child processes: abort, stuck GIL, signals.

Each child is a small program under ``programs/``; the tests read its output, exit code and
dump file.  Where a test must wait for the child, the child says when it is ready (a line on
stdout) and the test reads that line with a timeout.
"""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from snarl.errors import SnarlWarning
from snarl.frames import gil_off
from snarl.hangs import ABORT_EXIT_CODE, watch

from ..helpers import JOIN_TIMEOUT, REPO, line_of, run_python, snarl_env

PROGRAMS = Path(__file__).resolve().parent / "programs"
posix_signals = pytest.mark.skipif(not hasattr(signal, "SIGUSR1"), reason="needs SIGUSR1/2")


@pytest.mark.parametrize("code", [None, 5])
def test_abort_ends_the_process_with_the_documented_exit_code(code):
    program = PROGRAMS / "abort_on_deadlock.py"
    result = run_python(str(program), *([str(code)] if code is not None else []))

    expected = ABORT_EXIT_CODE if code is None else code
    assert result.returncode == expected, result.stderr
    assert result.stderr.startswith("snarl watchdog: 1 deadlock"), result.stderr
    assert f"abort_on_deadlock.py:{line_of(program, '# @second')}" in result.stderr
    assert f"deadlock found: aborting with exit code {expected}" in result.stderr
    assert "the watchdog did not abort" not in result.stderr


@pytest.mark.skipif(gil_off(), reason="no GIL for a C call to hold (see the next test)")
def test_a_gil_held_by_a_c_call_fires_faulthandlers_fallback_once():
    program = PROGRAMS / "gil_held.py"
    result = run_python(str(program))

    assert result.returncode == 0, result.stderr
    err = result.stderr
    before, _, during = err.partition("holding the GIL\n")
    assert "Timeout (" not in before, err  # re-armed at every check: it never fired early
    assert during.count("Timeout (0:00:00.300000)!") == 1, err
    assert "most recent call first" in during
    gil_line = line_of(program, "# @gil")
    assert f'File "{program}", line {gil_line} in main' in during, err
    assert during.index("Timeout (") < during.index("released the GIL")


@pytest.mark.skipif(not gil_off(), reason="a build without the GIL")
def test_no_fallback_timer_without_a_gil():
    # Nothing can hold the watchdog back, and faulthandler's walk of running threads is
    # unsafe: the timer is not armed (a slow first check fired it on 3.13t), and that is said.
    with pytest.warns(SnarlWarning, match="no fallback timer on a build without the GIL"):
        wd = watch(0.05, 10.0, fallback=True, fallback_timeout=0.3)
    try:
        assert not wd.fallback_armed
    finally:
        wd.stop()


def read_line(proc: subprocess.Popen, timeout: float = JOIN_TIMEOUT) -> str:
    ready, _, _ = select.select([proc.stdout], [], [], timeout)
    assert ready, f"no output from the child in {timeout} s"
    return proc.stdout.readline().strip()


def wait_for_text(path: Path, needle: str) -> str:
    deadline = time.monotonic() + JOIN_TIMEOUT
    while True:
        text = path.read_text(encoding="utf-8") if path.exists() else ""
        if needle in text:
            return text
        assert time.monotonic() < deadline, f"{needle!r} never written:\n{text}"
        time.sleep(0.01)


@posix_signals
def test_sigusr1_dumps_a_deadlocked_main_thread_and_sigusr2_runs_faulthandler(tmp_path):
    program = PROGRAMS / "signal_dump.py"
    out = tmp_path / "dumps.txt"
    proc = subprocess.Popen(
        [sys.executable, str(program), str(out)],
        cwd=REPO,
        env=snarl_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert read_line(proc) == "ready"
        os.kill(proc.pid, signal.SIGUSR1)
        assert read_line(proc) == "dumped 1"
        dump = out.read_text(encoding="utf-8")

        main_line = line_of(program, "# @main-waits")
        worker_line = line_of(program, "# @worker-waits")
        assert dump.startswith("snarl dump of pid")
        assert " · 3 threads · " in dump.splitlines()[0]  # main, worker, monitor: no helper
        assert "Found 1 deadlock:" in dump
        cycle = dump.split("Found 1 deadlock:")[1].split("\n\n")[0]
        assert '"MainThread" waits for Lock `lock_b` at ' in cycle
        assert f'signal_dump.py:{main_line}, held by "worker"' in cycle
        assert '"worker" waits for Lock `lock_a` at ' in cycle
        assert f'signal_dump.py:{worker_line}, held by "MainThread"' in cycle

        os.kill(proc.pid, signal.SIGUSR2)
        both = wait_for_text(out, f"line {worker_line} in worker\n")
        fallback = both[len(dump) :]
        assert "most recent call first" in fallback
        wait_for_text(out, f"line {main_line} in main\n")
    finally:
        proc.kill()
        proc.communicate(timeout=JOIN_TIMEOUT)


def test_a_program_that_ends_with_a_watchdog_running_exits_cleanly():
    code = (
        "import time\n"
        "from snarl.hangs import watch\n"
        "wd = watch(0.05, 0.3, fallback_timeout=0.2)\n"
        "while wd.checks < 10:\n"
        "    time.sleep(0.01)\n"
        "print('bye')\n"
    )
    result = run_python("-c", code)
    assert (result.returncode, result.stdout, result.stderr) == (0, "bye\n", "")
