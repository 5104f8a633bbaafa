"""Fixtures for the sync tests: the stdlib as oracle, install/uninstall, and waiting on state.

``IMPLS`` holds the two implementations every conformance test runs against: threading's own
classes (captured at import, before anything is installed) and snarl's.  ``wait_for_state``
polls ``tracked_state()`` until a condition on it holds: tests synchronise on observable
state, never on sleeps.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import pytest

import snarl
import snarl.sync
from snarl.runtime.observer import tracked_state

NATIVE = SimpleNamespace(
    name="threading",
    Lock=threading.Lock,
    RLock=threading.RLock,
    Condition=threading.Condition,
    Semaphore=threading.Semaphore,
    BoundedSemaphore=threading.BoundedSemaphore,
    Event=threading.Event,
    Barrier=threading.Barrier,
)
SNARL = SimpleNamespace(
    name="snarl",
    Lock=snarl.sync.Lock,
    RLock=snarl.sync.RLock,
    Condition=snarl.sync.Condition,
    Semaphore=snarl.sync.Semaphore,
    BoundedSemaphore=snarl.sync.BoundedSemaphore,
    Event=snarl.sync.Event,
    Barrier=snarl.sync.Barrier,
)
IMPLS = [NATIVE, SNARL]
TIMEOUT = 10.0


def outcome(fn: Callable[[], Any]) -> Any:
    """``fn()``'s result, or ``(exception type, message)`` if it raised: comparable data."""
    try:
        return ("ok", fn())
    except Exception as exc:
        return (type(exc), str(exc))


def wait_for_state(
    predicate: Callable[[dict[str, Any]], Any], timeout: float = TIMEOUT
) -> dict[str, Any]:
    """The first ``tracked_state()`` for which ``predicate`` is true; fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        state = tracked_state()
        if predicate(state):
            return state
        if time.monotonic() > deadline:
            raise AssertionError(f"state never reached; last: {state!r}")
        time.sleep(0.001)


def wait_until(predicate: Callable[[], Any], timeout: float = TIMEOUT) -> None:
    """Poll ``predicate()`` until true; fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition never became true")
        time.sleep(0.001)


@pytest.fixture(params=IMPLS, ids=lambda ns: ns.name)
def impl(request: pytest.FixtureRequest) -> SimpleNamespace:
    """Each implementation in turn: the same test body runs against threading and snarl."""
    return request.param


@pytest.fixture
def installed():
    """snarl installed for the test, uninstalled after it (even if it failed)."""
    snarl.install()
    try:
        yield
    finally:
        snarl.uninstall()
        assert threading.Lock is NATIVE.Lock


@pytest.fixture
def reports():
    """snarl installed with the lock-order validator; yields the list its reports go to."""
    found: list[Any] = []
    snarl.install(lockorder=True, report=found.append)
    try:
        yield found
    finally:
        snarl.uninstall()


@pytest.fixture(autouse=True)
def _release_what_the_test_left_held() -> Any:
    """Conformance tests acquire locks and drop them held (``acquire(0)`` on a fresh lock);
    the observer keeps a lock held by a bare acquire alive on purpose.  Release those the
    test thread left, so that later tests see no tracked state from these ones."""
    yield
    from snarl.runtime.observer import OBSERVER

    for prim in list(OBSERVER.bare or ()):
        try:
            while prim._mine():
                prim.release()
        except Exception:  # not releasable from here: leave it
            pass
