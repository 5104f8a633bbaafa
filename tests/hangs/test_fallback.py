"""faulthandler's fallback timer after the process is stopped and continued (Ctrl-Z, SIGSTOP).

The evidence for turning it off by default: stopped for longer than ``fallback_timeout``, the
process fires the timer on SIGCONT although nothing holds the GIL, and faulthandler then walks
the frames of threads that run.  Off (the default), nothing fires.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from snarl.frames import gil_off

from ..helpers import REPO, snarl_env
from .procs import DEADLINE, expect_line, finish

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGSTOP"), reason="needs SIGSTOP/SIGCONT")

STOPS = 5
PROGRAM = textwrap.dedent(
    """
    import sys, time
    import snarl

    options = {"fallback": True} if sys.argv[1] == "on" else {}
    wd = snarl.watch(0.05, 10.0, fallback_timeout=0.3, **options)
    for n in range(int(sys.argv[2])):
        seen = wd.checks
        deadline = time.monotonic() + 30
        while wd.checks < seen + 3 and time.monotonic() < deadline:
            time.sleep(0.01)
        print("checking", n, flush=True)
        input()  # the test stops and continues the process, then sends a line
    print("armed", wd.fallback_armed, flush=True)
    """
)


def _reached(proc: subprocess.Popen, wanted: str, crash_allowed: bool) -> bool:
    """Whether the child printed ``wanted``; False if it died by a signal and that is allowed."""
    try:
        expect_line(proc, wanted)
    except AssertionError:
        if crash_allowed and proc.wait(DEADLINE) < 0:
            return False
        raise
    return True


@pytest.mark.parametrize(
    "mode",
    [
        "default",
        pytest.param(
            "on", marks=pytest.mark.skipif(gil_off(), reason="no fallback timer without a GIL")
        ),
    ],
)
def test_a_stop_longer_than_the_timeout(tmp_path, mode):
    script = tmp_path / "stops.py"
    script.write_text(PROGRAM, encoding="utf-8")
    proc = subprocess.Popen(
        [sys.executable, str(script), mode, str(STOPS)],
        cwd=REPO,
        env=snarl_env(),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    for n in range(STOPS):
        if not _reached(proc, f"checking {n}", crash_allowed=mode == "on"):
            break  # a false fire crashed the child: what "on" may do, checked below
        os.kill(proc.pid, signal.SIGSTOP)
        time.sleep(0.6)  # the stop itself (twice the timeout), not a synchronisation
        os.kill(proc.pid, signal.SIGCONT)
        try:
            proc.stdin.write("\n")
            proc.stdin.flush()
        except BrokenPipeError:
            assert mode == "on", "the child died with the fallback off"
            break
    code, out, err = finish(proc)
    fired = err.count("Timeout (0:00:00.300000)!")
    if mode == "default":
        assert code == 0, err
        assert fired == 0, err  # off by default: nothing fires, nothing walks running frames
        assert "armed False" in out
    else:
        # The false fire the default avoids (no C call held the GIL); the walk of running
        # threads' frames that comes with it may even crash the process (seen once in CI).
        assert fired >= 1 or code < 0, (code, err)
