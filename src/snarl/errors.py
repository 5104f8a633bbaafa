"""The exceptions and warnings snarl raises, under one root: :class:`SnarlError`.

Every class carries ``help``: one sentence on what to do next, printed by the CLI after the
message.  This module imports nothing of snarl, so every layer may raise these.
"""

from __future__ import annotations

__all__ = [
    "DidNotReproduce",
    "Flaky",
    "InvalidToken",
    "LockOrderViolation",
    "LockOrderWarning",
    "SnarlError",
    "SnarlWarning",
]


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


class InvalidToken(SnarlError, ValueError):
    """A replay token that cannot be read: not a token, damaged, or made by another snarl
    token version or another Python minor version (the message says which)."""

    help = (
        "Copy the whole token from the failure report (it is one word), and replay it with the "
        "snarl and the Python minor version that printed it."
    )


class DidNotReproduce(SnarlError):
    """A replayed schedule does not fit the program any more: at some step the recorded
    thread is not runnable, or the program ran past the end of the recording.

    ``step`` is the 0-based switch point where replay diverged.
    """

    help = (
        "The test, or code it calls, changed since the token was made (or it depends on "
        "something outside snarl's control: real time, I/O, unmanaged threads); explore again "
        "to get a fresh token."
    )

    def __init__(self, message: str, step: int | None = None) -> None:
        super().__init__(message)
        self.step = step


class Flaky(SnarlError):
    """A failure found during exploration did not happen again when its schedule was
    replayed: the test depends on something the schedule does not control."""

    help = (
        "Look for real time, I/O, randomness or threads started outside the test function; "
        "snarl controls only the threads and primitives the test creates."
    )
