"""``pytest --snarl-races``: the racing test fails with the report; the others pass."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

SRC = str(Path(__file__).resolve().parents[2] / "src")

TESTS = """
import threading


class Counter:
    def __init__(self):
        self.n = 0


def run_two(fn):
    ts = [threading.Thread(target=fn) for _ in range(2)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()


def test_racy():
    c = Counter()

    def bump():
        c.n += 1

    run_two(bump)
    assert c.n == 2


def test_locked():
    c, lock = Counter(), threading.Lock()

    def bump():
        with lock:
            c.n += 1

    run_two(bump)
    assert c.n == 2


def test_assert_rewriting_still_works():
    x = [1, 2]
    assert x == [1, 3]
"""


def test_racy_test_fails_with_the_report_and_asserts_are_still_rewritten(tmp_path):
    (tmp_path / "test_bank.py").write_text(textwrap.dedent(TESTS))
    env = {**os.environ, "PYTHONPATH": SRC}
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "snarl.pytest_plugin", "--snarl-races",
         "-p", "no:cacheprovider", "-q", "test_bank.py"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    out = proc.stdout
    assert proc.returncode == 1, out + proc.stderr
    assert "FAILED test_bank.py::test_racy" in out
    assert "test_locked" not in out.split("short test summary")[-1]
    assert "WARNING: DATA RACE" in out and "attribute n of a Counter" in out
    assert "snarl race: 1 data race found" in out
    # pytest's own assert rewriting survives the instrumentation
    assert "assert [1, 2] == [1, 3]" in out


LEFTOVER = """
import threading
import time


class Shared:
    x = 0


shared = Shared()
flag = [False]
leftover = []


def worker():
    while not flag[0]:
        time.sleep(0.001)
    shared.x = 2


def test_a_starts_a_thread_that_outlives_it():
    t = threading.Thread(target=worker, name="leftover")
    t.start()
    leftover.append(t)


def test_b_meets_it():
    shared.x = 1
    flag[0] = True
    leftover[0].join()
"""


def test_a_race_in_a_thread_outliving_its_test_is_attributed_to_that_test(tmp_path):
    (tmp_path / "test_left.py").write_text(textwrap.dedent(LEFTOVER))
    env = {**os.environ, "PYTHONPATH": SRC}
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "snarl.pytest_plugin", "--snarl-races",
         "-p", "no:cacheprovider", "-q", "test_left.py"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    out = proc.stdout
    assert proc.returncode == 1, out + proc.stderr
    assert "in threads started by test_left.py::test_a_starts_a_thread_that_outlives_it" in out
    assert "2 passed" in out  # both tests passed; the session fails for the race
