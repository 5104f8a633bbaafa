"""A read-modify-write over two lines on a closure variable (``nonlocal balance``).

Bug: ``current = balance``, then ``balance = current - amount`` on the next line.  Two
withdrawals both read the balance before either writes it back: one is lost.  Only a switch
between the two lines shows it: ``"line"``.  Unlike ``one_sided_lock`` and ``lost_update`` the
shared state is a closure cell, not an attribute, and nothing between the read and the write (no
call, no ``sleep``) hints at a switch.  Fix: the two lines under a lock.

On Python 3.10, a tool that switches threads inside a ``sys.settrace`` callback can report the
fixed twin too: 3.10 copies a traced frame's cells into ``f_locals`` before the callback and
writes them back after it, so a thread switched out there puts back the balance it saw, over
the other thread's withdrawal (a false positive, not a bug of the program).
"""

from __future__ import annotations

import threading
from types import SimpleNamespace

try:
    from ._harness import Program
except ImportError:  # loaded as a file (snarl explore benchmarks/bugs/rmw_two_lines.py::buggy)
    from _harness import Program

GRANULARITY = "line"
SWITCH = "between the read line and the write line"
EXPECT = "assertion"
CLASS = "data-race"


def open_account(locked: bool) -> SimpleNamespace:
    """An account as closures over one ``balance`` cell."""
    balance = 100
    lock = threading.Lock()

    def withdraw(amount: int) -> None:
        nonlocal balance
        current = balance
        balance = current - amount

    def withdraw_locked(amount: int) -> None:
        nonlocal balance
        with lock:
            current = balance
            balance = current - amount

    def read() -> int:
        return balance

    return SimpleNamespace(withdraw=withdraw_locked if locked else withdraw, balance=read)


def withdraw_30(account: SimpleNamespace) -> None:
    account.withdraw(30)


def check(account: SimpleNamespace) -> None:
    assert account.balance() == 40, f"lost a withdrawal: balance = {account.balance()}"


BUGGY = Program(lambda: open_account(False), (withdraw_30, withdraw_30), check)
FIXED = Program(lambda: open_account(True), (withdraw_30, withdraw_30), check)


def buggy() -> None:
    BUGGY.run()


def fixed() -> None:
    FIXED.run()
