"""The token of a free-threaded build's check interval (snarl.interval.turns), driven by hand
from real threads: turns are handed over in order, a holder blocked outside Python loses the
token after the patience, and closing frees every waiter.  Pure Python: runs on every build."""

from __future__ import annotations

import subprocess
import sys
import sysconfig
import threading
import time

import pytest

from snarl.interval.turns import Turns

from ..helpers import REPO, snarl_env

LONG = 30.0  # a patience no test waits out: any steal would be a bug


def _queued(turns: Turns, n: int) -> None:
    deadline = time.monotonic() + LONG
    while len(turns._queue) < n:
        assert time.monotonic() < deadline, "a thread never queued for the token"
        time.sleep(0.001)


def test_the_token_is_handed_to_the_first_waiter_and_the_giver_queues_behind():
    turns = Turns(patience=LONG)
    order: list[str] = []
    turns.take()  # the main thread holds it
    b_holds = threading.Event()

    def b() -> None:
        turns.take()
        order.append("b")
        b_holds.set()
        turns.offer()  # hands back to main, which queued in its offer
        order.append("b again")

    t = threading.Thread(target=b)
    t.start()
    _queued(turns, 1)
    turns.offer()  # to b; main queues and gets it back from b's offer
    order.append("main again")
    assert b_holds.is_set()
    assert turns.owner == threading.get_ident()
    turns.close()  # b, queued behind main, is freed
    t.join(LONG)
    assert not t.is_alive()
    assert order[:2] == ["b", "main again"], order
    assert turns.handovers == 2 and turns.taken == 0


def test_offer_with_nobody_waiting_keeps_the_token():
    turns = Turns(patience=LONG)
    turns.take()
    turns.offer()
    assert turns.owner == threading.get_ident() and turns.handovers == 0


def test_a_holder_blocked_outside_python_loses_the_token_after_the_patience():
    turns = Turns(patience=0.02)
    holding, release = threading.Event(), threading.Event()

    def holder() -> None:
        turns.take()
        holding.set()
        release.wait(LONG)  # blocked in C: no counted event, no progress

    t = threading.Thread(target=holder)
    t.start()
    assert holding.wait(LONG)
    turns.take()  # would hang for ever without the steal
    assert turns.owner == threading.get_ident() and turns.taken == 1
    release.set()
    t.join(LONG)


def test_a_holder_that_makes_progress_keeps_the_token():
    # A patience far longer than any pause of a runnable thread between two events.
    turns = Turns(patience=0.25)
    holding, stop = threading.Event(), threading.Event()

    def holder() -> None:
        turns.take()
        holding.set()
        while not stop.is_set():
            turns.progress += 1  # what each counted event does
            time.sleep(0)
        turns.offer()

    t = threading.Thread(target=holder)
    t.start()
    assert holding.wait(LONG)
    got = []
    waiter = threading.Thread(target=lambda: (turns.take(), got.append(turns.owner)))
    waiter.start()
    time.sleep(0.75)  # three patiences: a waiter that stole would have done so by now
    assert not got and turns.taken == 0
    stop.set()
    waiter.join(LONG)
    assert got == [waiter.ident]
    turns.close()
    t.join(LONG)


def test_close_frees_every_waiter():
    turns = Turns(patience=LONG)
    turns.take()
    threads = [threading.Thread(target=turns.take) for _ in range(3)]
    for t in threads:
        t.start()
    _queued(turns, 3)
    turns.close()
    for t in threads:
        t.join(LONG)
        assert not t.is_alive()
    assert turns.owner is None


@pytest.mark.skipif(not sysconfig.get_config_var("Py_GIL_DISABLED"), reason="a free-threaded build")
def test_a_free_threaded_build_run_with_the_gil_uses_the_gil():
    # PYTHON_GIL=1 (or an extension that needs the GIL) turns the GIL back on: the check
    # interval then offers it, as on a GIL build, and needs no token.
    code = (
        "import sys; from snarl.interval.emulation import Emulation;"
        " print(sys._is_gil_enabled(), Emulation(100).turns is None)"
    )
    for gil, expected in (("1", "True True"), ("0", "False False")):
        out = subprocess.run(
            [sys.executable, "-c", code],
            cwd=REPO,
            env={**snarl_env(), "PYTHON_GIL": gil},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert out.stdout.split() == expected.split(), out.stderr
