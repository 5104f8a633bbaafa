"""The observer's records read as plain data (snarl.runtime.observed)."""

from __future__ import annotations

import threading
import time

from snarl.runtime.observed import state_of
from snarl.runtime.observer import ObserverRuntime, Wait


class _WaitsRecordedWhileRead(dict):
    """A waits table to which a wait is added just as it is read, as a thread that begins
    waiting meanwhile does on a free-threaded build."""

    def items(self):  # type: ignore[override]
        self[threading.get_ident()] = Wait(threading.Lock(), "lock", time.monotonic())
        return super().items()


def test_a_wait_recorded_while_the_state_is_read_began_before_its_now():
    rt = ObserverRuntime()
    rt.waits = _WaitsRecordedWhileRead()
    state = state_of(rt)
    (wait,) = state["waits"].values()
    assert wait["since"] <= state["now"]
