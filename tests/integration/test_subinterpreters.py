"""snarl never crashes a program that runs threads in subinterpreters (issue 13).

``sys._current_frames()`` aborts CPython 3.12 and 3.13 when another interpreter's threads run
(``free(): invalid pointer``); on 3.13 ``faulthandler.dump_traceback`` segfaults while an
interpreter is created or destroyed.  Each test runs a program in a subprocess that churns
subinterpreters (created, running threads, destroyed, in a loop, from two threads) while snarl
reads every thread's frames again and again, and asserts that the process exits cleanly.  The
crash is near-certain within a second without the safe route, so a few seconds of churn make a
test that fails reliably before the fix.  3.10 and 3.11 run threads only in legacy
subinterpreters (``_testcapi.run_in_subinterp``): checked too.
"""

from __future__ import annotations

import json
import sys
import textwrap

import pytest

from snarl.frames import parse_faulthandler

from ..helpers import run_python

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX only")

CHURN = textwrap.dedent(
    """
    import sys, threading, time
    import snarl
    MODERN = sys.version_info >= (3, 12)
    if MODERN:
        try:
            import _interpreters as I
        except ImportError:
            import _xxsubinterpreters as I
    else:
        import _testcapi
    CODE = '''
    import threading
    def spin():
        x = 0
        for i in range(20000):
            x += i
    ts = [threading.Thread(target=spin) for _ in range(3)]
    for t in ts: t.start()
    for t in ts: t.join()
    '''
    stop = threading.Event()
    rounds = [0]

    def churn():
        while not stop.is_set():
            if MODERN:
                interp = I.create()
                try:
                    (getattr(I, "exec", None) or I.run_string)(interp, CODE)
                finally:
                    I.destroy(interp)
            else:
                _testcapi.run_in_subinterp(CODE)
            rounds[0] += 1

    churners = [threading.Thread(target=churn) for _ in range(2)]
    for t in churners:
        t.start()
    deadline = time.monotonic() + SECONDS
    reads = 0
    """
)

END = textwrap.dedent(
    """
    stop.set()
    for t in churners:
        t.join()
    print("clean exit", reads, rounds[0])
    """
)

SECONDS = 4.0


def run_churn(body: str) -> str:
    source = f"SECONDS = {SECONDS}\n" + CHURN + textwrap.dedent(body) + END
    proc = run_python("-c", source, timeout=120)
    assert proc.returncode == 0, f"rc={proc.returncode}\n{proc.stderr[-2000:]}"
    assert "clean exit" in proc.stdout, proc.stdout + proc.stderr[-2000:]
    reads, rounds = map(int, proc.stdout.split()[-2:])
    assert reads > 10 and rounds > 2, proc.stdout  # the two really overlapped
    return proc.stdout


def test_snapshots_and_dumps_under_subinterpreter_churn() -> None:
    run_churn(
        """
        import io
        while time.monotonic() < deadline:
            snarl.snapshot()
            snarl.dump(file=io.StringIO())
            reads += 1
        """
    )


def test_watchdog_under_subinterpreter_churn() -> None:
    run_churn(
        """
        with snarl.watch(0.005, 60.0, report=lambda *a: None):
            while time.monotonic() < deadline:
                time.sleep(0.01)
                reads += 1
        """
    )


@pytest.mark.skipif(sys.version_info < (3, 12), reason="the safe route is taken on 3.12+")
def test_the_dump_says_what_it_could_not_see() -> None:
    """With a subinterpreter alive, the dump names its limits in text and JSON: no all-clear."""
    source = textwrap.dedent(
        """
        import io, json, sys, threading
        try:
            import _interpreters as I
        except ImportError:
            import _xxsubinterpreters as I
        import snarl
        interp = I.create()
        release = threading.Event()
        waiter = threading.Thread(target=release.wait, name="waiter")
        waiter.start()
        text = io.StringIO()
        snarl.dump(file=text)
        out = io.StringIO()
        snarl.dump(file=out, format="json")
        release.set()
        waiter.join()
        I.destroy(interp)
        print(json.dumps({"text": text.getvalue(), "json": json.loads(out.getvalue())}))
        """
    )
    proc = run_python("-c", source, timeout=60)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    text, snap = result["text"], result["json"]
    assert "note: " in text and "subinterpreters" in text
    assert snap["notes"] and "subinterpreters" in snap["notes"][0]
    waiter = next(t for t in snap["threads"] if t["name"] == "waiter")
    assert waiter["wait"] is None and waiter["state"] == "unknown"
    if sys.version_info < (3, 13):  # faulthandler read its stack
        assert any(f["function"] == "wait" for f in waiter["frames"])
        assert "no locals, no wait inference" in snap["notes"][0]
    else:  # listed from the thread table, stackless
        assert waiter["frames"] == []
        assert "stacks not read" in snap["notes"][0]


def test_no_subinterpreter_no_note() -> None:
    """Without subinterpreters the full route is taken: frames, waits, no note."""
    source = textwrap.dedent(
        """
        import json, threading
        import snarl
        release = threading.Event()
        waiter = threading.Thread(target=release.wait, name="waiter")
        waiter.start()
        snarl.wait_until_blocked(waiter)
        snap = snarl.snapshot()
        release.set()
        print(json.dumps(snap.to_dict()))
        """
    )
    proc = run_python("-c", source, timeout=60)
    assert proc.returncode == 0, proc.stderr
    snap = json.loads(proc.stdout)
    assert snap["notes"] == []
    waiter = next(t for t in snap["threads"] if t["name"] == "waiter")
    assert waiter["wait"] is not None and waiter["wait"]["kind"] == "event"


def test_parse_faulthandler() -> None:
    text = (
        "Thread 0x00007f0000000001 (most recent call first):\n"
        '  File "/a/b.py", line 12 in wait\n'
        '  File "/a/x", line 3 in f.py", line 4 in g\n'
        '  File "<string>", line ??? in ???\n'
        "  ...\n"
        "\n"
        "Current thread 0x00007f0000000002 (most recent call first):\n"
        "  <no Python frame>\n"
        "...\n"
    )
    stacks = parse_faulthandler(text)
    assert list(stacks) == [0x7F0000000001, 0x7F0000000002]
    first = stacks[0x7F0000000001]
    assert first[0] == ("/a/b.py", 12, "wait")
    assert first[1] == ('/a/x", line 3 in f.py', 4, "g")
    assert first[2] == ("<string>", None, "???")
    assert stacks[0x7F0000000002] == ()


@pytest.mark.skipif(sys.version_info < (3, 12), reason="the safe route is taken on 3.12+")
def test_the_watchdog_says_once_that_it_cannot_watch_other_threads() -> None:
    """With subinterpreters in use the watchdog sees only its own stack: it says so, once,
    rather than report a silent all-clear about threads it cannot read."""
    source = textwrap.dedent(
        """
        import threading
        try:
            import _interpreters as I
        except ImportError:
            import _xxsubinterpreters as I
        import snarl
        interp = I.create()
        watchdog = snarl.watch(0.01, 60.0, report=lambda *a: None)
        for _ in range(20):
            watchdog.check()
        watchdog.stop()
        I.destroy(interp)
        """
    )
    proc = run_python("-c", source, timeout=60)
    assert proc.returncode == 0, proc.stderr
    said = [line for line in proc.stderr.splitlines() if line.startswith("snarl watchdog: ")]
    assert len(said) == 1, proc.stderr
    assert "subinterpreters" in said[0] and "not watched" in said[0]
