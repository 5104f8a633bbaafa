"""``snarl run``'s live diagnosis end to end: the watchdog's report and abort, JSON reports,
the dump on SIGUSR1, and ``snarl dump PID`` through the agent it starts."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

import pytest

from tests.helpers import EXAMPLES, REPO, run_python, snarl_env

SERVICE = str(EXAMPLES / "hung_service.py")


def test_the_watchdog_reports_the_deadlock_once_and_aborts_with_70():
    proc = run_python(
        "-m", "snarl", "run", "--stuck", "1", "--period", "0.2", "--abort-on-deadlock", SERVICE
    )
    assert proc.returncode == 70, proc.stderr
    err = proc.stderr
    assert err.count("Deadlock 1 of 1, reported once:") == 1
    assert '"audit" waits for Lock `accounts`' in err and 'held by "transfer"' in err
    assert "aborting with exit code 70" in err
    assert "pool_" not in err.split("snarl dump of pid")[0]  # idle workers are not findings


def test_json_reports_go_to_the_report_file(tmp_path):
    report = tmp_path / "hangs.jsonl"
    proc = run_python(
        "-m", "snarl", "run", "--json", "--report", str(report), "--stuck", "1",
        "--period", "0.2", "--abort-on-deadlock", SERVICE,
    )  # fmt: skip
    assert proc.returncode == 70, proc.stderr
    [line] = [ln for ln in report.read_text().splitlines() if ln.strip()]
    data = json.loads(line)
    assert data["schema"] == 1 and data["report"] == "snarl-watchdog"
    assert data["kinds"] == ["deadlock"]
    [cycle] = data["deadlocks"]
    assert {s["thread_name"] for s in cycle["steps"]} == {"audit", "transfer"}


def _serve(*options: str) -> tuple[subprocess.Popen[str], int]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "snarl", "run", *options, SERVICE],
        cwd=REPO,
        env=snarl_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None
    line = proc.stderr.readline()  # "pid N: serving" once the deadlock is set up
    assert "serving" in line, line
    return proc, int(line.split()[1].rstrip(":"))


def _stop(proc: subprocess.Popen[str]) -> str:
    proc.kill()
    _, err = proc.communicate(timeout=30)
    return err


def test_snarl_dump_pid_reaches_the_agent_of_snarl_run():
    proc, pid = _serve("--no-watchdog")
    try:
        dump = run_python("-m", "snarl", "dump", str(pid), "--json")
        assert dump.returncode == 0, dump.stderr
        assert "via snarl's agent" in dump.stderr
        data = json.loads(dump.stdout)
        assert data["tracked"] is True
        [cycle] = data["deadlocks"]
        assert {s["thread_name"] for s in cycle["steps"]} == {"audit", "transfer"}
        names = {t["name"] for t in data["threads"]}
        assert "snarl-agent" not in names and "consumer" in names
        text = run_python("-m", "snarl", "dump", str(pid))
        assert text.returncode == 0 and "Found 1 deadlock:" in text.stdout
    finally:
        _stop(proc)


def test_sigusr1_writes_the_full_dump(tmp_path):
    report = tmp_path / "dumps.log"
    proc, _pid = _serve("--no-watchdog", "--no-agent", "--report", str(report))
    try:
        proc.send_signal(signal.SIGUSR1)
        deadline = time.monotonic() + 30  # a bounded wait for the handler's write
        while "Found 1 deadlock:" not in (report.read_text() if report.exists() else ""):
            assert time.monotonic() < deadline, "no dump after SIGUSR1"
            time.sleep(0.01)
    finally:
        _stop(proc)
    text = report.read_text()
    assert "snarl dump of pid" in text and "tracked" in text
    assert 'held by "audit"' in text


@pytest.mark.parametrize(
    ("pid", "code"), [("nope", 2), ("0", 2), ("999999999", 4)], ids=["text", "zero", "missing"]
)
def test_snarl_dump_errors_are_one_line_with_their_code(pid, code):
    proc = run_python("-m", "snarl", "dump", pid)
    assert proc.returncode == code, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr


def test_run_options_that_make_no_sense_are_usage_errors():
    # (an unwritable --report is no usage error: the program runs, reports go to stderr, and
    # one line says so; see test_run_startup.py)
    for args in (["--seed", "3", SERVICE],):
        proc = run_python("-m", "snarl", "run", *args)
        assert proc.returncode == 2, (args, proc.stderr)
        assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr


INSTALL_PROGRAM = """
import os, signal, time, snarl
with snarl.install(signal=signal.SIGUSR1, agent=True) as d:
    path = d.agent.path
    print(os.path.exists(path), oct(os.stat(path).st_mode & 0o777), flush=True)
    os.kill(os.getpid(), signal.SIGUSR1)
    # The dump to stderr is written by a helper thread after the handler returns: wait for
    # its count (bounded), or the program could end before it is written.
    deadline = time.monotonic() + 10
    while d.signal_dump.dumps < 1 and time.monotonic() < deadline:
        time.sleep(0.001)
print(os.path.exists(path), snarl.sync.installed(), flush=True)
"""


def test_install_with_a_signal_and_the_agent_and_undo():
    proc = run_python("-c", INSTALL_PROGRAM)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["True", "0o600", "False", "False"]
    assert "snarl dump of pid" in proc.stderr  # written by the SIGUSR1 handler
