"""Fixtures for the remote-dump tests: target programs run as subprocesses, always killed.

``spawn(script, *args)`` starts ``targets/<script>`` with this interpreter (``python=`` another
one, or ``argv=`` any command) and waits, bounded, for its first line (``ready``): the targets
print it only once their threads are parked (``snarl.wait_until_blocked``).  Every process
started is killed, with its process group, at the end of the test.
"""

from __future__ import annotations

import os
import select
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ..helpers import REPO, snarl_env

TARGETS = Path(__file__).resolve().parent / "targets"
DATA = Path(__file__).resolve().parent / "data"
READY_TIMEOUT = 30.0


class Proc:
    """A running target: its Popen, pid, and line-by-line access to its output."""

    def __init__(self, popen: subprocess.Popen[str]) -> None:
        self.popen = popen
        self.pid = popen.pid
        self.lines: list[str] = []

    def end(self) -> None:
        """Kill the target if it still runs (its whole process group) and close its pipes."""
        if self.popen.poll() is None:
            try:
                os.killpg(self.pid, signal.SIGKILL)
            except OSError:
                self.popen.kill()
        self.popen.wait(timeout=10)
        for stream in (self.popen.stdin, self.popen.stdout, self.popen.stderr):
            if stream is not None:
                stream.close()

    def readline(self, timeout: float = READY_TIMEOUT) -> str:
        """The next line of the target's stdout (without the newline); AssertionError if none
        comes within ``timeout`` seconds or the target exits."""
        stdout = self.popen.stdout
        assert stdout is not None
        ready, _, _ = select.select([stdout], [], [], timeout)
        assert ready, f"no line from pid {self.pid} in {timeout} s"
        line = stdout.readline()
        assert line, f"pid {self.pid} exited (status {self.popen.wait()}) without a line"
        self.lines.append(line.rstrip("\n"))
        return self.lines[-1]

    def ping(self) -> None:
        """Prove the target still runs Python code: it answers ``ping`` with ``pong``."""
        stdin = self.popen.stdin
        assert stdin is not None
        stdin.write("ping\n")
        stdin.flush()
        assert self.readline(timeout=10) == "pong"

    def close_stdin(self) -> int:
        """End the target's input (it then exits normally) and return its exit status."""
        assert self.popen.stdin is not None
        self.popen.stdin.close()
        return self.popen.wait(timeout=20)


@pytest.fixture
def spawn() -> Iterator:
    started: list[Proc] = []

    def start(
        script: str | None = None,
        *args: str,
        python: str | None = None,
        argv: list[str] | None = None,
        ready: str | None = "ready",
        **popen: object,
    ) -> Proc:
        command = argv or [python or sys.executable, str(TARGETS / script), *args]
        proc = Proc(
            subprocess.Popen(
                command,
                cwd=REPO,
                env=popen.pop("env", None) or snarl_env(),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                start_new_session=True,
                **popen,
            )
        )
        started.append(proc)
        if ready is not None:
            line = proc.readline()
            assert line == ready, f"expected {ready!r} from {command}, got {line!r}"
        return proc

    yield start
    for proc in started:
        proc.end()


def wait_for(predicate, what: str, timeout: float = 10.0) -> None:
    """Poll ``predicate`` (bounded) until true; AssertionError naming ``what`` otherwise."""
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"not reached in {timeout} s: {what}"
        time.sleep(0.01)


def gdb_skip_reason() -> str | None:
    """Why gdb injection cannot be tested here, or None."""
    if shutil.which("gdb") is None:
        return "gdb is not installed (apt-get install gdb)"
    if os.uname().machine not in ("x86_64", "amd64"):
        return f"gdb injection is x86-64 only, this is {os.uname().machine}"
    try:
        scope = int(Path("/proc/sys/kernel/yama/ptrace_scope").read_text())
    except (OSError, ValueError):
        scope = 0
    if scope >= 3 or (scope >= 1 and os.geteuid() != 0):
        return f"ptrace is restricted (kernel.yama.ptrace_scope = {scope})"
    return None


needs_gdb = pytest.mark.skipif(gdb_skip_reason() is not None, reason=str(gdb_skip_reason()))


@pytest.fixture(scope="session")
def other_user() -> Iterator:
    """A throw-away local user (root only; see ``users.py``), removed after the session."""
    from . import users

    reason = users.skip_reason()
    if reason is not None:
        pytest.skip(reason)
    base = users.session_base()
    user = users.create_user(base)
    try:
        yield user
    finally:
        users.remove_user(user)
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def as_other(other_user) -> Iterator:
    """``other_user``, with every process a test starts as that user killed after the test."""
    yield other_user
    other_user.stop_all()
