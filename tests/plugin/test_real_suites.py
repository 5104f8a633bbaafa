"""Issue 16: the plugin on suites nobody on the team wrote.

A real ABBA under ``--snarl-lockorder`` fails the test instead of hanging; under
``--snarl-timeout``, a suite's own ``SIGALRM`` handler still gets its alarms, a test stuck
re-taking a Condition's lock after the timeout is still ended, and a ``subTest`` loop that
records the timeout and goes on does not run past its limit, with the dump shown.
"""

from __future__ import annotations

import os
import time

import pytest

from .support import output

ABBA = """
import threading

def test_abba():
    lock_a, lock_b = threading.Lock(), threading.Lock()
    a_held, b_held = threading.Event(), threading.Event()
    errors = []

    def worker(mine, mine_held, theirs_held, theirs):
        try:
            with mine:
                mine_held.set()
                assert theirs_held.wait(30)
                with theirs:
                    pass
        except Exception as exc:
            errors.append(exc)

    t1 = threading.Thread(target=worker, args=(lock_a, a_held, b_held, lock_b))
    t2 = threading.Thread(target=worker, args=(lock_b, b_held, a_held, lock_a))
    t1.start(); t2.start()
    t1.join(30); t2.join(30)
    assert not t1.is_alive() and not t2.is_alive()

def test_after():
    pass
"""


def test_a_real_abba_fails_the_test_instead_of_hanging(run, pytester):
    pytester.makepyfile(test_abba=ABBA)
    result = run("--snarl-lockorder", timeout=60)
    result.assert_outcomes(failed=1, passed=1)
    text = output(result)
    assert "a lock-order inversion was recorded during call" in text
    assert "potential deadlock" in text


OWN_ALARM = """
import os
import time
import signal

received = []

def on_alarm(signum, frame):
    received.append(signum)

signal.signal(signal.SIGALRM, on_alarm)  # the suite's own handler, set at import

def test_own_alarm():
    os.kill(os.getpid(), signal.SIGALRM)
    assert received == [signal.SIGALRM]

def test_handler_still_there_between_tests():
    os.kill(os.getpid(), signal.SIGALRM)
    assert received == [signal.SIGALRM, signal.SIGALRM]
"""


def test_the_suites_own_sigalrm_handler_gets_its_alarms(run, pytester):
    pytester.makepyfile(test_own=OWN_ALARM)
    result = run("--snarl-timeout=30")
    result.assert_outcomes(passed=2)


SAVE_RESTORE = """
import signal
import time

def outer(signum, frame):
    pass

signal.signal(signal.SIGALRM, outer)  # the suite's handler, set at import

def test_getsignal_sees_the_suites_handler():
    assert signal.getsignal(signal.SIGALRM) is outer

def test_save_set_restore():
    fired = []
    saved = signal.getsignal(signal.SIGALRM)
    assert saved is outer
    assert signal.signal(signal.SIGALRM, lambda s, f: fired.append(s)) is outer
    assert signal.getsignal(signal.SIGALRM) is not outer
    signal.setitimer(signal.ITIMER_REAL, 0.01)  # the test's own alarm goes to its handler
    deadline = time.monotonic() + 30
    while not fired and time.monotonic() < deadline:
        pass
    assert fired == [signal.SIGALRM]
    assert signal.signal(signal.SIGALRM, saved) is not outer
    assert signal.getsignal(signal.SIGALRM) is outer

def test_sets_its_own_and_hangs():
    signal.signal(signal.SIGALRM, signal.SIG_IGN)
    assert signal.getsignal(signal.SIGALRM) == signal.SIG_IGN
    time.sleep(60)  # snarl's alarm still ends it

def test_after():
    # the handler the previous test set stays, as it would natively
    assert signal.getsignal(signal.SIGALRM) == signal.SIG_IGN
"""


def test_getsignal_and_signal_show_the_suites_own_handler(run, pytester):
    """Inside a timed test, signal.getsignal(SIGALRM) returns what the suite's code would see
    natively, and a handler the test sets (saved and restored, or left) is the suite's, while
    snarl's handler stays in front: the test's alarms reach the test, and the timeout still
    interrupts a test that set its own handler."""
    pytester.makepyfile(test_own=SAVE_RESTORE)
    result = run("--snarl-timeout=2", timeout=60)
    result.assert_outcomes(passed=3, failed=1)
    text = output(result)
    assert "test_sets_its_own_and_hangs - Failed: Timeout after 2 s" in text, text


CONDITION_WAIT = """
import threading

def test_stuck_in_wait():
    lock = threading.Lock()
    cond = threading.Condition(lock)
    waiting = threading.Event()

    def take_it_forever():
        waiting.wait(30)
        lock.acquire()  # the waiter's lock, never given back

    threading.Thread(target=take_it_forever, daemon=True).start()
    with cond:
        waiting.set()
        cond.wait()  # the timeout's Failed is raised here, then the retake waits forever

def test_after():
    pass
"""


def test_a_timeout_swallowed_by_condition_wait_still_ends_the_test(run, pytester):
    pytester.makepyfile(test_cond=CONDITION_WAIT)
    result = run("--snarl-timeout=1", timeout=60)
    text = output(result)
    assert "Timeout after 1 s" in text
    assert result.ret == 1
    # Raised a second time in the retake, the timeout ends the test; the run goes on.
    result.assert_outcomes(failed=1, passed=1)


SUBTESTS = """
import time
import unittest

class Slow(unittest.TestCase):
    def test_many(self):
        for i in range(100):
            with self.subTest(i=i):
                time.sleep(0.2)
"""


def test_a_subtest_loop_does_not_run_past_its_limit(run, pytester):
    pytester.makepyfile(test_sub=SUBTESTS)
    began = time.monotonic()
    result = run("--snarl-timeout=1", timeout=60)  # 100 x 0.2 s would be 20 s
    took = time.monotonic() - began
    text = output(result)
    assert result.ret == 1
    assert "Timeout after 1 s" in text
    assert "snarl: end of dump" in text  # the dump is shown
    # Raised inside a subTest, the timeout is recorded there and the loop goes on: raised
    # again, it ends the test.  Raised outside one (in the subtest's own reporting, as seen on
    # 3.13t, where the dump takes longer), it ends the test at once.  Never 20 s.
    went_on = "the timeout was raised in the test 2 times and the test went on" in text
    assert went_on or "test_many - Failed: Timeout after 1 s" in text, text
    assert took < 15, took


READERS_WRITER = """
import threading

class RWLock:
    def __init__(self):
        self.count_lock = threading.Lock()
        self.resource = threading.Lock()
        self.readers = 0

    def read_acquire(self):
        with self.count_lock:
            self.readers += 1
            if self.readers == 1:
                self.resource.acquire()

    def read_release(self):
        with self.count_lock:
            self.readers -= 1
            if self.readers == 0:
                self.resource.release()

def in_thread(fn):
    t = threading.Thread(target=fn)
    t.start()
    t.join(30)
    assert not t.is_alive()

def test_readers():
    rw = RWLock()
    first = threading.Event()
    done = threading.Event()

    def first_reader():
        rw.read_acquire()
        first.set()
        assert done.wait(30)
        rw.read_release()  # not the last: holds the resource lock, takes the counter lock

    t = threading.Thread(target=first_reader)
    t.start()
    assert first.wait(30)
    rw.read_acquire()
    done.set()
    t.join(30)
    rw.read_release()  # the last reader, another thread: releases the resource lock
"""


def test_a_readers_writer_lock_fails_no_test(run, pytester):
    """The counter lock and the resource lock are taken in both orders, but the resource
    lock is released by another reader than the one that took it: group-owned, no report."""
    pytester.makepyfile(test_rw=READERS_WRITER)
    result = run("--snarl-lockorder", timeout=60)
    result.assert_outcomes(passed=1)
    assert "potential deadlock" not in output(result)


FORK = """
import os
import time
import threading
import warnings

def test_fork():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")  # 3.12+: a fork with threads warns
        pid = os.fork()
        if pid == 0:
            os._exit(0)
    assert os.waitpid(pid, 0)[1] == 0
    assert [str(w.message) for w in caught if "multi-threaded" in str(w.message)] == []

def test_hang_after_fork():
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)
    threading.Event().wait()  # still timed: the phase's clock went on across the fork

def test_after():
    pass
"""


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no os.fork here")
def test_a_test_that_forks_sees_a_single_threaded_process(run, pytester):
    """The timeout's watcher thread is stopped around a fork (3.12+ warns when a process
    with several threads forks)."""
    pytester.makepyfile(test_fork=FORK)
    result = run("--snarl-timeout=2", timeout=60)
    result.assert_outcomes(passed=2, failed=1)
    assert "Timeout after 2 s (--snarl-timeout) in call" in output(result)


FORK_THREAD_METHOD = """
import os
import threading
import warnings

def fork_and_wait():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")  # 3.12+: a fork with threads warns
        pid = os.fork()
        if pid == 0:
            os._exit(0)
    assert os.waitpid(pid, 0)[1] == 0
    return [str(w.message) for w in caught if "multi-threaded" in str(w.message)]

def test_fork():
    assert fork_and_wait() == []

def test_fork_twice():
    assert fork_and_wait() == []
    assert fork_and_wait() == []

def test_hang_after_fork():
    assert fork_and_wait() == []
    threading.Event().wait()  # still timed: the thread method ends the run
"""


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no os.fork here")
def test_the_thread_method_forks_a_single_threaded_process(run, pytester):
    """With --snarl-timeout-method=thread too, a test that forks gets no 'multi-threaded fork'
    warning (3.12, 3.13): the watcher is stopped before the fork and started again once the
    fork has returned (3.13 counts threads after the fork hooks), and still times the phase."""
    pytester.makepyfile(test_fork=FORK_THREAD_METHOD)
    result = run("--snarl-timeout=2", "--snarl-timeout-method=thread", "-v", timeout=60)
    text = output(result)
    assert result.ret == 1
    assert "test_fork.py::test_fork PASSED" in text, text
    assert "test_fork.py::test_fork_twice PASSED" in text, text
    assert "snarl: ending the run: test_fork.py::test_hang_after_fork (call)" in text, text
