"""Fixtures for the watchdog tests: nothing of snarl's live-diagnosis state outlives a test.

After each test: no ``snarl-watchdog`` thread is alive, the dump on signal is uninstalled,
faulthandler's timer is cancelled and snarl's primitives are uninstalled.
"""

from __future__ import annotations

import faulthandler
import threading

import pytest

import snarl
from snarl.hangs import uninstall_signal_dump


@pytest.fixture(autouse=True)
def clean_watch_state():
    yield
    uninstall_signal_dump()
    faulthandler.cancel_dump_traceback_later()
    snarl.uninstall()
    alive = [t.name for t in threading.enumerate() if t.name.startswith("snarl-watchdog")]
    assert not alive, f"watchdog threads left running: {alive}"


@pytest.fixture
def installed():
    """snarl's tracked primitives in ``threading`` for the test (create objects inside it)."""
    snarl.install()
    yield
    snarl.uninstall()
