"""The exceptions and warnings snarl raises, under one root: :class:`SnarlError`.

Every class carries ``help``: one sentence on what to do next, printed by the CLI after the
message.  This module imports nothing of snarl, so every layer may raise these.
"""

from __future__ import annotations

__all__ = ["LockOrderViolation", "LockOrderWarning", "SnarlError", "SnarlWarning"]


class SnarlError(Exception):
    """The root of every error snarl raises on its own account."""

    help: str = "See the snarl documentation."


class SnarlWarning(UserWarning):
    """The root of every warning snarl issues."""


class LockOrderViolation(SnarlError):
    """Two lock classes were taken in both orders: a potential deadlock, even if none happened.

    ``report`` is the :class:`snarl.analysis.lockorder.Inversion` that explains it: the cycle
    of lock classes and, for each edge, the stack that first took the locks in that order.
    """

    help = (
        "Take the locks in one global order everywhere, or hold a common outer lock around "
        "both orders; rerun with snarl.install(lockorder=True) to confirm."
    )

    def __init__(self, message: str, report: object = None) -> None:
        super().__init__(message)
        self.report = report


class LockOrderWarning(SnarlWarning, RuntimeWarning):
    """The warning category of lock-order reports (the validator's default way to report)."""
