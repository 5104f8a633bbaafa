"""Two different locks guarding one balance: ``deposit()`` takes one, ``withdraw()`` the other.

Bug: each method holds a lock, but not the same one, so a deposit's ``self.balance += amount``
and a withdrawal's ``self.balance -= amount`` interleave and one update is lost.  Each is one
line (load, operate, store): only ``"bytecode"`` granularity shows it.  Fix: one lock for the
balance.
"""

from __future__ import annotations

import threading

try:
    from ._harness import Program
except ImportError:  # loaded as a file (snarl explore benchmarks/bugs/<this file>::buggy)
    from _harness import Program

GRANULARITY = "bytecode"
SWITCH = "inside the += / -= line (between the load and the store)"
EXPECT = "assertion"
CLASS = "data-race"


class Account:
    def __init__(self, one_lock: bool) -> None:
        self.balance = 100
        self._deposit_lock = threading.Lock()
        self._withdraw_lock = self._deposit_lock if one_lock else threading.Lock()

    def deposit(self, amount: int) -> None:
        with self._deposit_lock:
            self.balance += amount

    def withdraw(self, amount: int) -> bool:
        with self._withdraw_lock:
            if self.balance >= amount:
                self.balance -= amount
                return True
            return False


def depositor(a: Account) -> None:
    a.deposit(50)


def withdrawer(a: Account) -> None:
    a.withdraw(30)


def check(a: Account) -> None:
    assert a.balance == 120, f"lost an update: balance = {a.balance}"


BUGGY = Program(lambda: Account(one_lock=False), (depositor, withdrawer), check)
FIXED = Program(lambda: Account(one_lock=True), (depositor, withdrawer), check)


def buggy() -> None:
    BUGGY.run()


def fixed() -> None:
    FIXED.run()
