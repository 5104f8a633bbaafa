"""--snarl-timeout: a hung test fails with a dump of every thread, and the run goes on.

Each test writes a small test file with pytester and runs pytest on it in a subprocess (see
conftest.py).  The hung tests in those files reach their blocked state deterministically
(a Barrier, then ``snarl.wait_until_blocked``) well inside the timeout; timeouts are short.
"""

from __future__ import annotations

import re
import signal
import sys

import pytest

from snarl.pytest_plugin import ENV_VAR, GRACE

from .support import line_of, output

pytestmark = pytest.mark.skipif(
    not hasattr(signal, "pthread_kill"), reason="the signal method needs POSIX"
)

ABBA = """
import threading

import snarl

lock_a = threading.Lock()
lock_b = threading.Lock()
both_hold = threading.Barrier(2)


def worker_ab():
    with lock_a:  # ab holds a
        both_hold.wait()
        with lock_b:  # ab waits for b
            pass


def worker_ba():
    with lock_b:  # ba holds b
        both_hold.wait()
        with lock_a:  # ba waits for a
            pass


def test_abba():
    threads = [
        threading.Thread(target=worker_ab, name="worker-AB"),
        threading.Thread(target=worker_ba, name="worker-BA"),
    ]
    for t in threads:
        t.start()
    snarl.wait_until_blocked(*threads, kinds={"lock"})
    for t in threads:
        t.join()  # main joins


def test_later_hang():
    threading.Event().wait(30)


def test_after():
    pass
"""


def test_deadlock_fails_with_the_dump_and_the_next_test_runs(run, pytester):
    pytester.makepyfile(test_abba=ABBA)
    result = run("--snarl-timeout=0.5")

    result.assert_outcomes(failed=2, passed=1)
    text = output(result)
    n = {m: line_of(ABBA, m) for m in ("ab holds a", "ab waits for b", "ba holds b", "main joins")}
    n["ba waits for a"] = line_of(ABBA, "ba waits for a")
    result.stdout.fnmatch_lines(
        [
            "*Failed: Timeout after 0.5 s (--snarl-timeout) in call",
            '*deadlock: "worker-*" -> "worker-*" -> "worker-*"',
            "*snarl's thread dump is in 'Captured stderr call'",
            '*stay behind, blocked (Python cannot stop a thread): "worker-AB", "worker-BA"',
            "*- Captured stderr call -*",
            "+++ snarl: Timeout after 0.5 s (--snarl-timeout): test_abba.py::test_abba (call) +++",
            "snarl dump of pid * · 3 threads · untracked *",
            "Found 1 deadlock:",
        ]
    )
    # The cycle, both ways round, each edge naming the lock, the line and the holder.
    assert (
        f'"worker-AB" waits for Lock `lock_b` at test_abba.py:{n["ab waits for b"]}, held by '
        f'"worker-BA" (inferred from with-block at test_abba.py:{n["ba holds b"]}; waiting)' in text
    )
    assert (
        f'"worker-BA" waits for Lock `lock_a` at test_abba.py:{n["ba waits for a"]}, held by '
        f'"worker-AB" (inferred from with-block at test_abba.py:{n["ab holds a"]}; waiting)' in text
    )
    # Each thread's own section: what it holds; the main thread's wait and its stack.
    assert (
        f"holds Lock `lock_a` (inferred from with-block at test_abba.py:{n['ab holds a']})" in text
    )
    assert (
        f"holds Lock `lock_b` (inferred from with-block at test_abba.py:{n['ba holds b']})" in text
    )
    main = re.search(r'^"MainThread" .*\n((?:    .*\n)+)', text, re.M)
    assert main is not None and "WAITING" in main.group(0), text
    assert f'waits for thread "worker-AB" to finish at test_abba.py:{n["main joins"]}' in main[1]
    assert re.search(rf"test_abba\.py:{n['main joins']} +test_abba +t\.join\(\)", main[1])
    assert "pluggy" not in main[1]  # the runner's frames below the test are cut
    assert "snarl: end of dump" in text
    # The run went on; the next timeout's dump marks the threads the first one left behind.
    result.stdout.fnmatch_lines(
        [
            "*_ test_later_hang _*",
            "E   *Failed: Timeout after 0.5 s (--snarl-timeout) in call",
            "E   *snarl's thread dump is in 'Captured stderr call'",
            "*- Captured stderr call -*",
            "+++ snarl: Timeout after 0.5 s (--snarl-timeout): test_abba.py::test_later_hang *",
            'Left behind by the earlier timeout of test_abba.py::test_abba: "worker-AB", '
            '"worker-BA"',
        ]
    )
    later = text[text.index("_ test_later_hang _") :]
    later = later[: later.index("- Captured stderr call -")]
    assert "stay behind" not in later  # the later test started no thread
    # test_after passed; the summary and the exit say what stayed behind.
    result.stdout.fnmatch_lines(
        [
            '*left behind by test_abba.py::test_abba, still alive: "worker-AB" (non-daemon), '
            '"worker-BA" (non-daemon)',
            "*2 failed, 1 passed*",
        ]
    )
    assert "snarl: non-daemon threads left behind by timed-out tests are still blocked" in text
    assert result.ret == 1  # the run's own status, though two threads would never end


def test_tracked_dump_names_the_owners_of_bare_acquires(run, pytester):
    source = """
import threading

import snarl

lock_a = threading.Lock()
lock_b = threading.Lock()


def take(first, second, both_hold):
    first.acquire()  # first
    both_hold.wait()
    second.acquire()  # second


def test_abba():
    both_hold = threading.Barrier(2)
    threads = [
        threading.Thread(target=take, args=(lock_a, lock_b, both_hold), name="AB", daemon=True),
        threading.Thread(target=take, args=(lock_b, lock_a, both_hold), name="BA", daemon=True),
    ]
    for t in threads:
        t.start()
    snarl.wait_until_blocked(*threads, kinds={"lock"})
    for t in threads:
        t.join()
"""
    pytester.makepyfile(test_bare=source)
    result = run("--snarl-timeout=0.5", "--snarl-track")

    result.assert_outcomes(failed=1)
    text = output(result)
    first, second = line_of(source, "first"), line_of(source, "second")
    assert re.search(r"snarl dump of pid .* · tracked · ", text), text
    assert "Found 1 deadlock:" in text
    for me, mine, other, theirs in (("AB", "a", "BA", "b"), ("BA", "b", "AB", "a")):
        assert (
            f'"{me}" waits for Lock `lock_{theirs}` at test_bare.py:{second}, held by "{other}" '
            f"since test_bare.py:{first}"
        ) in text
        assert f"holds Lock `lock_{mine}` (acquired at test_bare.py:{first})" in text


STUCK = """
import _signal
import signal
import threading

from conftest import previous


def test_fast():
    assert _signal.getsignal(signal.SIGALRM) is not previous  # snarl's, while timed
    assert signal.getsignal(signal.SIGALRM) is previous  # as the test would see it natively


def test_stuck():
    lock = threading.Lock()
    lock.acquire()
    lock.acquire()  # stuck


def test_after():
    pass
"""

PREVIOUS_HANDLER = """
import signal


def previous(signum, frame):
    pass


signal.signal(signal.SIGALRM, previous)
seen = []


def pytest_runtest_logfinish(nodeid):  # after teardown: no timed phase runs
    seen.append(signal.getsignal(signal.SIGALRM) is previous)


def pytest_terminal_summary(terminalreporter):
    terminalreporter.write_line(f"previous handler back after each test: {seen}")
"""


def test_main_thread_stuck_in_acquire_is_interrupted(run, pytester):
    pytester.makeconftest(PREVIOUS_HANDLER)
    pytester.makepyfile(test_stuck=STUCK)
    result = run("--snarl-timeout=0.5")

    result.assert_outcomes(failed=1, passed=2)
    text = output(result)
    stuck = line_of(STUCK, "stuck")
    result.stdout.fnmatch_lines(
        [
            "*test_stuck.py .F.*",
            "*_ test_stuck _*",
            ">       lock.acquire()  # stuck",
            "E       Failed: Timeout after 0.5 s (--snarl-timeout) in call",
            "previous handler back after each test: [True, True, True]",
        ]
    )
    assert (
        f"waits for Lock `lock` at test_stuck.py:{stuck} (locked; its holder is not known without"
        " tracking: " in text
    )
    assert "No deadlock: no cycle among the threads' waits." in text  # one thread, no cycle
    assert "Found 1 deadlock" not in text, text
    assert "stay behind" not in text  # and no thread of its own


def test_marker_overrides_the_command_line(run, pytester):
    pytester.makepyfile(
        test_marked="""
import threading
import time

import pytest


@pytest.mark.snarl_timeout(0.7)
def test_longer_limit():
    threading.Event().wait(30)


@pytest.mark.snarl_timeout(0)
def test_no_limit():
    time.sleep(0.8)


def test_global_limit():
    threading.Event().wait(30)
"""
    )
    result = run("--snarl-timeout=0.4")

    result.assert_outcomes(failed=2, passed=1)
    result.stdout.fnmatch_lines(
        [
            "*_ test_longer_limit _*",
            "E   *Failed: Timeout after 0.7 s (@pytest.mark.snarl_timeout) in call",
            "*_ test_global_limit _*",
            "E   *Failed: Timeout after 0.4 s (--snarl-timeout) in call",
        ]
    )


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        pytest.param("cli", "0.5 s (--snarl-timeout)", id="cli-over-env-and-ini"),
        pytest.param("env", f"0.6 s ({ENV_VAR})", id="env-over-ini"),
        pytest.param("ini", "0.7 s (ini snarl_timeout)", id="ini"),
        pytest.param("marker", "0.5 s (@pytest.mark.snarl_timeout)", id="marker-alone"),
    ],
)
def test_where_the_timeout_comes_from(run, pytester, monkeypatch, source, expected):
    """Each source works, and each one given wins over those below it."""
    order = ["cli", "env", "ini"]
    below = order[order.index(source) :] if source in order else []
    marker = "@pytest.mark.snarl_timeout(0.5)" if source == "marker" else ""
    pytester.makepyfile(
        test_stuck=f"""
import threading

import pytest


{marker}
def test_stuck():
    threading.Event().wait(30)
"""
    )
    if "ini" in below:
        pytester.makeini("[pytest]\nsnarl_timeout = 0.7\n")
    if "env" in below:
        monkeypatch.setenv(ENV_VAR, "0.6")
    result = run(*(["--snarl-timeout=0.5"] if "cli" in below else []))

    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([f"E   *Failed: Timeout after {expected} in call"])


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ("cli", "invalid snarl timeout 'soon' from --snarl-timeout: expected a number of seconds"),
        ("env", f"invalid snarl timeout '-1' from the {ENV_VAR} environment variable"),
        ("ini", "invalid snarl timeout 'inf' from the ini file"),
        ("method", "invalid snarl timeout method 'fast' from the ini file: choose 'signal' or"),
    ],
)
def test_a_bad_value_is_a_one_line_usage_error(run, pytester, monkeypatch, setting, message):
    pytester.makepyfile(test_ok="def test_ok():\n    pass\n")
    args = []
    if setting == "cli":
        args.append("--snarl-timeout=soon")
    elif setting == "env":
        monkeypatch.setenv(ENV_VAR, "-1")
    else:
        option = "snarl_timeout = inf" if setting == "ini" else "snarl_timeout_method = fast"
        pytester.makeini(f"[pytest]\n{option}\n")
    result = run(*args)

    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert f"ERROR: {message}" in result.stderr.str()
    assert "Traceback" not in output(result)
    assert "test_ok" not in result.stdout.str()  # no test ran


def test_a_bad_marker_fails_its_own_test_only(run, pytester):
    pytester.makepyfile(
        test_markers="""
import pytest


@pytest.mark.snarl_timeout("soon")
def test_word():
    pass


@pytest.mark.snarl_timeout(1, 2)
def test_two():
    pass


def test_fine():
    pass
"""
    )
    result = run()

    result.assert_outcomes(errors=2, passed=1)
    result.stdout.fnmatch_lines(
        [
            "*_ ERROR at setup of test_word _*",
            "invalid snarl timeout 'soon' from the snarl_timeout marker of "
            "test_markers.py::test_word: expected a number of seconds (0 turns the timeout off)",
            "*_ ERROR at setup of test_two _*",
            "invalid snarl_timeout marker on test_markers.py::test_two: it takes one argument, "
            "seconds",
        ]
    )
    assert "Traceback" not in output(result)


HANG = """
import signal
import threading


def test_hang():
    print("the test's own output")
    lock = threading.Lock()
    lock.acquire()
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})
    lock.acquire(timeout=30)  # hangs


def test_after():
    print("test_after ran")
"""


def test_an_uninterruptible_hang_ends_the_run(run, pytester):
    """SIGALRM blocked, the GIL released in a lock wait: the signal never arrives."""
    pytester.makepyfile(test_hang=HANG)
    result = run("--snarl-timeout=0.5")

    assert result.ret == 1
    text = output(result)
    # What pytest had captured is not lost, the dump shows where it hangs, and why it ends.
    assert "the test's own output" in text
    assert f"waits for Lock `lock` at test_hang.py:{line_of(HANG, 'hangs')}" in text
    assert "+++ snarl: ending the run: test_hang.py::test_hang (call) +++" in text
    assert (
        f"Timeout after 0.5 s (--snarl-timeout), and the test's thread did not respond to SIGALRM "
        f"within {GRACE:g} s (the signal is blocked" in text
    )
    assert "snarl ends the pytest run here: exit code 1; later tests did not run" in text
    assert "test_after ran" not in text and "passed" not in text


def test_the_thread_method_ends_the_run_at_once(run, pytester):
    pytester.makepyfile(test_hang=HANG.replace("signal.pthread_sigmask", "(lambda *a: 0)"))
    result = run("--snarl-timeout=0.5", "--snarl-timeout-method=thread")

    assert result.ret == 1
    text = output(result)
    assert "the test's own output" in text
    assert f"waits for Lock `lock` at test_hang.py:{line_of(HANG, 'hangs')}" in text
    assert (
        "Timeout after 0.5 s (--snarl-timeout), and the timeout method is 'thread', so the test "
        "cannot be interrupted." in text
    )
    assert "test_after ran" not in text


DEBUGGERS = {
    "bdb": "import bdb\n    bdb.Bdb().set_trace()  # as pdb.set_trace() does, without a prompt",
    "monitoring": "import sys\n    sys.monitoring.use_tool_id(sys.monitoring.DEBUGGER_ID, 'dbg')",
}


@pytest.mark.parametrize("debugger", sorted(DEBUGGERS))
def test_no_timeout_under_a_debugger(run, pytester, debugger):
    if debugger == "monitoring" and sys.version_info < (3, 12):
        pytest.skip("sys.monitoring is new in 3.12")
    pytester.makepyfile(
        test_debugged=f"""
import time


def test_debugged():
    {DEBUGGERS[debugger]}
    time.sleep(0.8)
"""
    )
    result = run("--snarl-timeout=0.3")

    result.assert_outcomes(passed=1)
    assert "Timeout" not in output(result) and "snarl dump" not in output(result)
