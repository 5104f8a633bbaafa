"""The check-interval API: values, errors, scoping, and nothing left installed after."""

from __future__ import annotations

import sys
import threading
import time

import pytest

import snarl
from snarl.interval import QUIET_SWITCH_INTERVAL

MONITORING = sys.version_info >= (3, 12)


def hooks_installed() -> list[str]:
    """What of the emulation's machinery is installed right now."""
    found = []
    if MONITORING:
        found += [f"tool {i}" for i in (3, 4, 5) if sys.monitoring.get_tool(i) is not None]
    else:
        if sys.gettrace() is not None:
            found.append("sys.gettrace()")
        if threading.gettrace() is not None:
            found.append("threading.gettrace()")
    return found


def test_off_by_default_and_zero_turns_it_off():
    assert snarl.getcheckinterval() == 0
    snarl.setcheckinterval(100)
    assert snarl.getcheckinterval() == 100
    assert hooks_installed()
    snarl.setcheckinterval(0)
    assert snarl.getcheckinterval() == 0
    assert hooks_installed() == []


def test_switch_interval_is_quiet_while_on_and_restored_after():
    sys.setswitchinterval(0.002)
    with snarl.checkinterval(10):
        assert sys.getswitchinterval() == pytest.approx(QUIET_SWITCH_INTERVAL)
        snarl.setcheckinterval(20)  # changing the interval keeps the saved value
        assert snarl.getcheckinterval() == 20
    assert snarl.getcheckinterval() == 0
    assert sys.getswitchinterval() == pytest.approx(0.002)


def test_context_manager_restores_the_previous_interval():
    snarl.setcheckinterval(500)
    with snarl.checkinterval(10):
        assert snarl.getcheckinterval() == 10
    assert snarl.getcheckinterval() == 500
    with pytest.raises(KeyError), snarl.checkinterval(7):
        raise KeyError("the block's own error passes through")
    assert snarl.getcheckinterval() == 500


@pytest.mark.parametrize(
    ("value", "error"),
    [(-1, ValueError), (1.5, TypeError), ("10", TypeError), (None, TypeError), (True, TypeError)],
)
def test_bad_intervals_raise_like_setswitchinterval(value, error):
    with pytest.raises(error):
        snarl.setcheckinterval(value)
    with pytest.raises(error), snarl.checkinterval(value):
        pass
    assert snarl.getcheckinterval() == 0 and hooks_installed() == []


def test_setswitchinterval_errors_are_the_same_kinds():
    # The kinds the check interval mirrors, as the interpreter raises them.
    with pytest.raises(ValueError):
        sys.setswitchinterval(-1)
    with pytest.raises(TypeError):
        sys.setswitchinterval("10")  # type: ignore[arg-type]


def test_switchinterval_scopes_and_validates():
    before = sys.getswitchinterval()
    with snarl.switchinterval(0.0001):
        assert sys.getswitchinterval() == pytest.approx(0.0001)
    assert sys.getswitchinterval() == before
    with pytest.raises(ValueError), snarl.switchinterval(0):
        pass
    assert sys.getswitchinterval() == before


@pytest.mark.skipif(MONITORING, reason="3.10/3.11 count with sys.settrace")
def test_an_existing_trace_function_is_refused_not_replaced():
    def tracer(frame, event, arg):
        return None

    sys.settrace(tracer)
    try:
        with pytest.raises(RuntimeError, match="trace function is already set"):
            snarl.setcheckinterval(10)
        assert sys.gettrace() is tracer
    finally:
        sys.settrace(None)
    assert snarl.getcheckinterval() == 0


@pytest.mark.skipif(not MONITORING, reason="sys.monitoring is 3.12+")
def test_other_monitoring_tools_keep_working_alongside():
    mon = sys.monitoring
    seen = []
    mon.use_tool_id(mon.DEBUGGER_ID, "a debugger")
    try:
        mon.register_callback(
            mon.DEBUGGER_ID, mon.events.PY_START, lambda code, offset: seen.append(code.co_name)
        )
        mon.set_events(mon.DEBUGGER_ID, mon.events.PY_START)
        ticks = []
        with snarl.checkinterval(10, on_interval=lambda: ticks.append(1)):

            def probe():
                return sum(i for i in range(100))

            probe()
        assert "probe" in seen and ticks  # both tools saw the code run
        mon.set_events(mon.DEBUGGER_ID, 0)
    finally:
        mon.free_tool_id(mon.DEBUGGER_ID)


@pytest.mark.skipif(not MONITORING, reason="sys.monitoring is 3.12+")
def test_no_free_tool_id_is_a_clear_error():
    mon = sys.monitoring
    taken = [i for i in (3, 4, 5) if mon.get_tool(i) is None]
    for i in taken:
        mon.use_tool_id(i, "someone else")
    try:
        with pytest.raises(RuntimeError, match=r"no free sys\.monitoring tool id"):
            snarl.setcheckinterval(10)
    finally:
        for i in taken:
            mon.free_tool_id(i)
    assert snarl.getcheckinterval() == 0


def test_threads_already_running_are_counted(threads):
    # A thread that loops in Python since before the emulation started gets offers too.
    started = threading.Event()
    ticks: list[str] = []

    def spin():
        started.set()
        while not threads.stop.is_set():
            pass

    spinner = threads.start(spin, name="spinner")
    assert started.wait(5)

    def tick():
        ticks.append(threading.current_thread().name)

    with snarl.checkinterval(50, on_interval=tick):
        deadline = time.monotonic() + 10
        while "spinner" not in ticks and time.monotonic() < deadline:
            threads.stop.wait(0.001)  # this thread waits in C: the spinner runs meanwhile
    assert "spinner" in ticks
    threads.stop.set()
    spinner.join(5)
