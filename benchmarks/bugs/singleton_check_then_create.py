"""A module-level singleton created on first use: ``if _instance is None: _instance = ...``.

Bug: both threads see ``_instance is None`` and both construct a ``Service`` (its constructor
counts the instances); each caller may keep its own.  The switch falls between the check and
the store, inside the constructor's lines: ``"line"``.  Unlike ``lazy_singleton`` the instance
is a module global (``global _instance``).  Fix: check and create under a lock (made with the
module's state in ``reset()``, so that each execution starts afresh).
"""

from __future__ import annotations

import threading

try:
    from ._harness import Program
except ImportError:  # loaded as a file (snarl explore benchmarks/bugs/<this file>::buggy)
    from _harness import Program

GRANULARITY = "line"
SWITCH = "between the None check and the store (the constructor's lines)"
EXPECT = "assertion"
CLASS = "data-race"


class Service:
    def __init__(self) -> None:
        global _created
        _created += 1
        self.connections: list[str] = []


_instance: Service | None = None
_created = 0
_lock = threading.Lock()


def get_service() -> Service:
    global _instance
    if _instance is None:
        _instance = Service()
    return _instance


def get_service_locked() -> Service:
    global _instance
    with _lock:
        if _instance is None:
            _instance = Service()
    return _instance


class Callers:
    def __init__(self) -> None:
        self.got: list[Service] = []


def reset() -> Callers:
    """No instance yet (module-level state), and a fresh lock for the fixed twin."""
    global _instance, _created, _lock
    _instance, _created, _lock = None, 0, threading.Lock()
    return Callers()


def caller(c: Callers) -> None:
    c.got.append(get_service())


def caller_locked(c: Callers) -> None:
    c.got.append(get_service_locked())


def check(c: Callers) -> None:
    assert _created == 1 and c.got[0] is c.got[1], f"constructed {_created} times"


BUGGY = Program(reset, (caller, caller), check)
FIXED = Program(reset, (caller_locked, caller_locked), check)


def buggy() -> None:
    BUGGY.run()


def fixed() -> None:
    FIXED.run()
