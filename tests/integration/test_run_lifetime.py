"""``snarl run`` covers the program's whole life: threading's shutdown and atexit handlers.

The watchdog, the dump on SIGUSR1 and the timeline stay until the interpreter really exits:
a program whose main code has returned but which waits for a non-daemon thread (or hangs in
an atexit handler) is reported like any other hang, and ``kill -USR1`` then dumps it instead
of killing it.  Every wait below is a handshake: the child prints ``at exit`` once its main
thread is inside ``threading._shutdown``, and ``go`` files end its waits.
"""

from __future__ import annotations

import json
import os
import signal
import textwrap

import pytest

from ..hangs.procs import expect_line, finish, kill, snarl_run, wait_for_text

posix_signals = pytest.mark.skipif(not hasattr(signal, "SIGUSR1"), reason="needs SIGUSR1")

# The worker waits, after the main code has returned, until the main thread is seen inside
# threading._shutdown; it says "at exit" and then does what argv[1] asks.
EXIT_PROGRAM = textwrap.dedent(
    """
    import os, sys, threading, time

    mode, flag = sys.argv[1], sys.argv[2]
    main = threading.main_thread().ident
    lock = threading.Lock()
    lock.acquire()

    def at_exit():
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            frame = sys._current_frames().get(main)
            while frame is not None and frame.f_code.co_name != "_shutdown":
                frame = frame.f_back
            if frame is not None:
                return True
            time.sleep(0.01)
        return False

    def worker():
        print("at exit" if at_exit() else "never at exit", flush=True)
        if mode == "stuck":
            lock.acquire()  # held by the main thread, which waits for this thread: a hang
        else:
            late = threading.Event()
            late.wait(0.02)  # one wait after main returned, however soon the flag comes
            while not os.path.exists(flag):
                late.wait(0.02)

    threading.Thread(target=worker, name="exit-worker").start()
    print("main done", flush=True)
    sys.exit(int(sys.argv[3]))
    """
)


def _program(tmp_path):
    script = tmp_path / "at_exit.py"
    script.write_text(EXIT_PROGRAM, encoding="utf-8")
    return script


def test_a_thread_stuck_at_exit_is_reported_by_the_watchdog(tmp_path):
    report = tmp_path / "report.txt"
    proc = snarl_run(
        "--period", "0.1", "--stuck", "0.5", "--report", report,
        _program(tmp_path), "stuck", tmp_path / "go", "0",
    )  # fmt: skip
    try:
        expect_line(proc, "main done")
        expect_line(proc, "at exit")
        text = wait_for_text(report, '"exit-worker" has waited')
        assert "Lock `lock`" in text
        assert proc.poll() is None  # still hanging, as the program does
    finally:
        kill(proc)


@posix_signals
def test_sigusr1_at_exit_dumps_and_the_exit_code_is_the_programs(tmp_path):
    report = tmp_path / "report.txt"
    go = tmp_path / "go"
    proc = snarl_run("--report", report, _program(tmp_path), "wait", go, "3")
    try:
        expect_line(proc, "main done")
        expect_line(proc, "at exit")
        os.kill(proc.pid, signal.SIGUSR1)
        text = wait_for_text(report, '"exit-worker"')
        assert text.startswith("snarl dump of pid")
        assert "_shutdown" in text  # the main thread, waiting at exit for the worker
        assert proc.poll() is None  # the signal did not kill it
        go.touch()
        code, _out, err = finish(proc)
        assert code == 3, err
        assert "Traceback" not in err
    finally:
        kill(proc)


ATEXIT_PROGRAM = textwrap.dedent(
    """
    import atexit, threading

    lock = threading.Lock()

    def hang():
        print("in atexit", flush=True)
        lock.acquire()
        lock.acquire()  # a self-deadlock in an atexit handler

    atexit.register(hang)
    """
)


def test_a_hang_in_an_atexit_handler_is_reported(tmp_path):
    script = tmp_path / "atexit_hang.py"
    script.write_text(ATEXIT_PROGRAM, encoding="utf-8")
    report = tmp_path / "report.txt"
    proc = snarl_run("--period", "0.1", "--stuck", "0.5", "--report", report, script)
    try:
        expect_line(proc, "in atexit")
        text = wait_for_text(report, '"MainThread" waits for Lock `lock`')
        assert "1 deadlock" in text  # the handler's self-deadlock, found at exit
        assert "atexit_hang.py" in text
    finally:
        kill(proc)


def test_the_timeline_covers_the_wait_at_exit_and_is_written_after_it(tmp_path):
    timeline = tmp_path / "t.json"
    go = tmp_path / "go"
    proc = snarl_run("--timeline", timeline, _program(tmp_path), "wait", go, "0")
    try:
        expect_line(proc, "main done")
        expect_line(proc, "at exit")
        assert not timeline.exists()  # not written when the main code returned
        go.touch()
        code, _out, err = finish(proc)
        assert code == 0, err
        assert f"timeline written to {timeline}" in err
    finally:
        kill(proc)
    data = json.loads(timeline.read_text(encoding="utf-8"))
    events = data["traceEvents"] if isinstance(data, dict) else data
    text = json.dumps(events)
    assert "exit-worker" in text and "late" in text  # its Event waits after main returned


def test_a_timeline_that_cannot_be_written_at_exit_leaves_the_exit_code(tmp_path):
    where = tmp_path / "gone"
    where.mkdir()
    script = tmp_path / "rm.py"
    script.write_text(
        "import shutil, sys\nshutil.rmtree(sys.argv[1])\nsys.exit(5)\n", encoding="utf-8"
    )
    proc = snarl_run("--timeline", where / "t.html", script, where)
    code, _out, err = finish(proc)
    assert code == 5, err
    assert "Traceback" not in err
    [line] = [x for x in err.splitlines() if "timeline" in x]
    assert line.startswith("snarl run: timeline not written: ")
