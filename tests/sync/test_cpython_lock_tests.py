"""CPython's own lock tests (``test.lock_tests``) on snarl's primitives, as CPython's
``test_threading`` runs them on ``threading``'s: direct (``snarl.sync.Lock`` ...) and installed
(``threading.Lock`` ... after :func:`snarl.install`, which swaps snarl's in).  Under a
free-threaded build this is the proof that snarl's bookkeeping holds with real parallelism.

The interpreter's own ``test`` package is used (the tests of the very version that runs): an
interpreter without it skips, saying so.
"""

from __future__ import annotations

import threading
import unittest

import pytest

import snarl
from snarl import sync

lock_tests = pytest.importorskip("test.lock_tests", reason="this Python has no test package")


def _installed(name: str) -> staticmethod:
    """A factory for ``threading.<name>`` as it is when called (snarl's, while installed)."""
    return staticmethod(lambda *args, **kwargs: getattr(threading, name)(*args, **kwargs))


class _Installed(unittest.TestCase):
    """Each test runs with snarl installed, and ends with it uninstalled."""

    def setUp(self) -> None:
        self._snarl = snarl.install()
        self.addCleanup(self._snarl.__exit__, None, None, None)
        assert threading.Lock is sync.Lock
        super().setUp()


_TWO_DOTS = (
    "snarl's class is snarl.sync.X: CPython's regex allows one dot before the class name (the "
    "rest of the format is CPython's: address, then state)"
)


class _ReprPath:
    def test_repr(self) -> None:
        self.skipTest(_TWO_DOTS)  # type: ignore[attr-defined]


class TestLock(lock_tests.LockTests):
    locktype = staticmethod(sync.Lock)


class TestRLock(lock_tests.RLockTests):
    locktype = staticmethod(sync.RLock)


class TestConditionAsRLock(lock_tests.RLockTests):
    locktype = staticmethod(sync.Condition)  # (an RLock inside, and its API: as CPython tests)

    def test_recursion_count(self) -> None:
        self.skipTest("Condition does not expose _recursion_count() (nor does threading's)")


class TestEvent(_ReprPath, lock_tests.EventTests):
    eventtype = staticmethod(sync.Event)


class TestCondition(lock_tests.ConditionTests):
    condtype = staticmethod(sync.Condition)


class TestSemaphore(_ReprPath, lock_tests.SemaphoreTests):
    semtype = staticmethod(sync.Semaphore)


class TestBoundedSemaphore(_ReprPath, lock_tests.BoundedSemaphoreTests):
    semtype = staticmethod(sync.BoundedSemaphore)


class TestBarrier(_ReprPath, lock_tests.BarrierTests):
    barriertype = staticmethod(sync.Barrier)


class TestInstalledLock(_Installed, lock_tests.LockTests):
    locktype = _installed("Lock")


class TestInstalledRLock(_Installed, lock_tests.RLockTests):
    locktype = _installed("RLock")


class TestInstalledEvent(_ReprPath, _Installed, lock_tests.EventTests):
    eventtype = _installed("Event")


class TestInstalledCondition(_Installed, lock_tests.ConditionTests):
    condtype = _installed("Condition")


class TestInstalledSemaphore(_ReprPath, _Installed, lock_tests.SemaphoreTests):
    semtype = _installed("Semaphore")


class TestInstalledBoundedSemaphore(_ReprPath, _Installed, lock_tests.BoundedSemaphoreTests):
    semtype = _installed("BoundedSemaphore")


class TestInstalledBarrier(_ReprPath, _Installed, lock_tests.BarrierTests):
    barriertype = _installed("Barrier")
