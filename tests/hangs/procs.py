"""Child processes for the exit, fork and signal tests: start one, wait for what it says.

Every wait is a handshake with a generous deadline: the child prints a line when it has
reached the state a test needs, and the test polls a file or reads that line.
"""

from __future__ import annotations

import os
import select
import subprocess
import sys
import time
from pathlib import Path

from ..helpers import REPO, snarl_env

DEADLINE = 30.0
"""Seconds any handshake may take before the test fails (generous: 2 cores, 4 engineers)."""


def spawn(*args: str | os.PathLike[str], stderr: int | None = subprocess.PIPE) -> subprocess.Popen:
    """``python *args`` in the repository root with snarl importable; text pipes."""
    return subprocess.Popen(
        [sys.executable, *map(str, args)],
        cwd=REPO,
        env=snarl_env(),
        stdout=subprocess.PIPE,
        stderr=stderr,
        text=True,
    )


def snarl_run(*args: str | os.PathLike[str], **kwargs: int | None) -> subprocess.Popen:
    """``python -m snarl run *args``."""
    return spawn("-m", "snarl", "run", *args, **kwargs)


def read_line(proc: subprocess.Popen, timeout: float = DEADLINE) -> str:
    """The child's next stdout line (stripped); fails the test after ``timeout``."""
    ready, _, _ = select.select([proc.stdout], [], [], timeout)
    assert ready, f"no output from the child in {timeout} s"
    return proc.stdout.readline().strip()


def expect_line(proc: subprocess.Popen, wanted: str, timeout: float = DEADLINE) -> None:
    """Read stdout lines until ``wanted``; fail on end of output or after ``timeout``."""
    deadline = time.monotonic() + timeout
    seen = []
    while True:
        line = read_line(proc, max(0.1, deadline - time.monotonic()))
        if line == wanted:
            return
        seen.append(line)
        assert proc.poll() is None or line, f"the child ended ({proc.returncode}): {seen}"
        assert time.monotonic() < deadline, f"{wanted!r} never came: {seen}"


def wait_for_text(path: Path, needle: str, timeout: float = DEADLINE) -> str:
    """Poll ``path`` until it contains ``needle``; its text."""
    deadline = time.monotonic() + timeout
    while True:
        text = path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""
        if needle in text:
            return text
        assert time.monotonic() < deadline, f"{needle!r} never written to {path}:\n{text}"
        time.sleep(0.02)


def finish(proc: subprocess.Popen, timeout: float = DEADLINE) -> tuple[int, str, str]:
    """Wait for the child to end (kill it after ``timeout``): exit code, stdout, stderr."""
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        raise AssertionError(f"the child did not end in {timeout} s:\n{err}") from None
    return proc.returncode, out, err


def kill(proc: subprocess.Popen) -> None:
    """End the child if it still runs, and reap it."""
    if proc.poll() is None:
        proc.kill()
    proc.communicate()
