"""The dump on signal next to the program's own handlers, and with a standard error nobody reads.

* A handler the program had on SIGUSR1 or SIGUSR2 is chained (snarl's dump first, then it),
  and one line says so; one it sets later is reported once, in one line, by the watchdog.
* The dump is written by a helper thread with a bounded wait: a full stderr pipe does not
  stall the main thread (it used to block in the handler for good).
"""

from __future__ import annotations

import signal
import textwrap

import pytest

from .procs import expect_line, finish, snarl_run, spawn, wait_for_text

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGUSR1"), reason="needs SIGUSR1/2")

OWN_FIRST = textwrap.dedent(
    """
    import os, signal, sys, time
    hits = []
    signal.signal(signal.SIGUSR1, lambda s, f: hits.append("usr1"))
    signal.signal(signal.SIGUSR2, lambda s, f: hits.append("usr2"))
    from snarl.hangs import install_signal_dump
    dump = install_signal_dump(file=sys.argv[1])
    for signum, want in ((signal.SIGUSR1, 1), (signal.SIGUSR2, 2)):
        os.kill(os.getpid(), signum)
        deadline = time.monotonic() + 30
        while len(hits) < want and time.monotonic() < deadline:
            time.sleep(0.01)
    deadline = time.monotonic() + 30
    while dump.dumps < 1 and time.monotonic() < deadline:
        time.sleep(0.01)
    print(hits, dump.dumps, flush=True)
    """
)


def test_the_programs_own_handlers_are_chained_and_said(tmp_path):
    script = tmp_path / "own.py"
    script.write_text(OWN_FIRST, encoding="utf-8")
    out = tmp_path / "dump.txt"
    code, stdout, err = finish(spawn(script, out))
    assert code == 0, err
    assert stdout.strip() == "['usr1', 'usr2'] 1"
    text = out.read_text(encoding="utf-8")
    assert text.startswith("snarl dump of pid")  # snarl's dump, then the program's handler
    assert "most recent call first" in text  # faulthandler's on SIGUSR2, then the program's
    lines = err.splitlines()
    assert any(
        line.startswith("snarl: SIGUSR1 had a handler of the program's (__main__.<lambda>)")
        for line in lines
    ), err
    assert "snarl: SIGUSR2 had a handler of the program's: faulthandler's dump runs first" in err


OWN_LATER = textwrap.dedent(
    """
    import os, signal, sys, time
    signal.signal(signal.SIGUSR1, lambda s, f: None)
    print("set", flush=True)
    deadline = time.monotonic() + 60
    while not os.path.exists(sys.argv[1]) and time.monotonic() < deadline:
        time.sleep(0.01)
    """
)


def test_a_handler_the_program_sets_later_is_said_once(tmp_path):
    script = tmp_path / "later.py"
    script.write_text(OWN_LATER, encoding="utf-8")
    errors = tmp_path / "stderr.txt"
    go = tmp_path / "go"
    with errors.open("w") as err:
        proc = snarl_run("--period", "0.05", script, go, stderr=err)  # type: ignore[arg-type]
        expect_line(proc, "set")
        text = wait_for_text(errors, "the program set its own SIGUSR1 handler")
        go.touch()
        code, _out, _ = finish(proc)
    assert code == 0
    text = errors.read_text(encoding="utf-8")
    [line] = [x for x in text.splitlines() if "SIGUSR1" in x]
    assert line == (
        "snarl: the program set its own SIGUSR1 handler: kill -USR1 now runs it, not snarl's dump"
    )


FULL_PIPE = textwrap.dedent(
    """
    import fcntl, os, signal, sys, threading, time
    from snarl.hangs import install_signal_dump

    dump = install_signal_dump()
    fcntl.fcntl(2, getattr(fcntl, "F_SETPIPE_SZ", 1031), 4096)
    os.set_blocking(2, False)
    try:
        while True:
            os.write(2, b"x" * 4096)  # fill standard error's pipe: nobody reads it yet
    except BlockingIOError:
        pass
    os.set_blocking(2, True)

    arrived = threading.Event()
    r, w = os.pipe()
    os.set_blocking(w, False)
    signal.set_wakeup_fd(w)  # written by the C handler the moment the signal arrives

    def watch_wakeup():
        os.read(r, 1)
        arrived.set()

    threading.Thread(target=watch_wakeup, daemon=True).start()
    print("ready", flush=True)
    arrived.wait(60)
    for n in range(1, 21):  # the main thread goes on: the handler has returned
        time.sleep(0.01)
        print("after", n, flush=True)
    deadline = time.monotonic() + 60
    while dump.dumps < 1 and time.monotonic() < deadline:  # written once stderr is read
        time.sleep(0.01)
    print("dumps", dump.dumps, flush=True)
    """
)


@pytest.mark.skipif(not hasattr(__import__("os"), "set_blocking"), reason="needs os.set_blocking")
def test_a_full_stderr_pipe_does_not_stall_the_main_thread(tmp_path):
    import os
    import sys

    if not sys.platform.startswith("linux"):
        pytest.skip("F_SETPIPE_SZ is Linux's")
    script = tmp_path / "full.py"
    script.write_text(FULL_PIPE, encoding="utf-8")
    proc = spawn(script)
    try:
        expect_line(proc, "ready")
        os.kill(proc.pid, signal.SIGUSR1)
        expect_line(proc, "after 20")  # never came: the handler blocked on the full pipe
    finally:
        code, out, err = finish(proc)  # reads stderr: the pending dump can now be written
    assert code == 0, err[-2000:]
    assert out.splitlines()[-1] == "dumps 1"
    assert "snarl dump of pid" in err
