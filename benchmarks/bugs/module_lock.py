"""ABBA deadlock on two locks created at module level, when the module is imported.

Bug: ``transfer()`` takes ``_ACCOUNTS_LOCK`` then ``_AUDIT_LOCK``, ``audit()`` the other way
round.  Both locks exist before any test starts (made at import, as ``logging._lock`` is), so a
tool that only controls the primitives created while the test runs does not see them.  Fix: one
order (accounts, then audit).  The fixed twin has its own pair of module-level locks: threads
that a tool gave up on in a deadlock of ``buggy()`` may hold the first pair for good.
"""

from __future__ import annotations

import threading

try:
    from ._harness import Program
except ImportError:  # loaded as a file (snarl explore benchmarks/bugs/module_lock.py::buggy)
    from _harness import Program

GRANULARITY = "sync"
SWITCH = "a lock acquire (of a lock made at import)"
EXPECT = "deadlock"
CLASS = "module-lock"

_ACCOUNTS_LOCK = threading.Lock()
_AUDIT_LOCK = threading.Lock()
_FIXED_ACCOUNTS_LOCK = threading.Lock()
_FIXED_AUDIT_LOCK = threading.Lock()


class Bank:
    def __init__(self) -> None:
        self.balances = {"a": 10, "b": 0}
        self.log: list[str] = []


def transfer(bank: Bank) -> None:
    with _ACCOUNTS_LOCK:
        bank.balances["a"] -= 5
        bank.balances["b"] += 5
        with _AUDIT_LOCK:
            bank.log.append("transfer a->b 5")


def audit(bank: Bank) -> None:
    with _AUDIT_LOCK, _ACCOUNTS_LOCK:  # audit first: the opposite order
        bank.log.append(f"total {sum(bank.balances.values())}")


def transfer_fixed(bank: Bank) -> None:
    with _FIXED_ACCOUNTS_LOCK:
        bank.balances["a"] -= 5
        bank.balances["b"] += 5
        with _FIXED_AUDIT_LOCK:
            bank.log.append("transfer a->b 5")


def audit_fixed(bank: Bank) -> None:
    with _FIXED_ACCOUNTS_LOCK, _FIXED_AUDIT_LOCK:  # the same order as transfer()
        bank.log.append(f"total {sum(bank.balances.values())}")


def check(bank: Bank) -> None:
    assert sorted(bank.log) == ["total 10", "transfer a->b 5"], f"log = {bank.log}"


BUGGY = Program(Bank, (transfer, audit), check)
FIXED = Program(Bank, (transfer_fixed, audit_fixed), check)


def buggy() -> None:
    BUGGY.run()


def fixed() -> None:
    FIXED.run()
