"""The program's view of SIGALRM while a timed test phase owns it (``--snarl-timeout``, signal
method; see :mod:`snarl.pytest_timeouts`).

snarl's handler is installed for the phase and passes every alarm that is not its own to the
handler the program set (:meth:`snarl.pytest_timeouts._Timeouts._on_alarm`).  So that the
program sees what it would natively, ``signal.getsignal(SIGALRM)`` and
``signal.signal(SIGALRM, handler)`` are wrapped for the phase:

* ``getsignal`` returns the program's handler (the one installed before the phase, or the one
  the test set since), not snarl's;
* ``signal`` records the new handler as the program's and returns the previous one, as the
  native call would; snarl's own stays installed, so the phase can still time out, and the
  test's handler gets the test's alarms.  At the end of the phase the program's handler is
  the one installed, as it would be natively.

Only SIGALRM, in the main thread, while snarl's handler is installed, is treated so; every
other call (another signal, another thread, which the native call refuses) goes to the native
function.  Code that bound ``signal.signal`` before the phase (``from signal import signal``)
still reaches the native function, and snarl then stops the run at the timeout instead of
raising in the test, as before.
"""

from __future__ import annotations

import signal
import threading
from _thread import get_ident
from typing import Any

__all__ = ["native_getsignal", "native_signal"]

native_getsignal = signal.getsignal
native_signal = signal.signal


class _AlarmView:
    """``signal.getsignal``/``signal.signal`` as the program sees them during a timed phase.

    ``owner`` is the timeouts object: its ``_handler`` is snarl's handler and its
    ``_previous`` the program's (which ``_on_alarm`` forwards to and ``_disarm`` restores).
    """

    def __init__(self, owner: Any) -> None:
        self.owner = owner
        self._get, self._set = self.getsignal, self.signal  # one object each: `is` tests

    def install(self) -> None:
        """Put the wrappers in the ``signal`` module (for the phase)."""
        signal.getsignal, signal.signal = self._get, self._set

    def remove(self) -> None:
        """Restore the native functions, unless something else replaced the wrappers since."""
        if signal.getsignal is self._get:
            signal.getsignal = native_getsignal
        if signal.signal is self._set:
            signal.signal = native_signal

    def _ours(self, signalnum: Any) -> bool:
        return (
            signalnum == signal.SIGALRM
            and get_ident() == threading.main_thread().ident
            and native_getsignal(signal.SIGALRM) is self.owner._handler
        )

    def getsignal(self, signalnum: Any) -> Any:
        """``signal.getsignal``: for SIGALRM, the program's handler rather than snarl's."""
        if self._ours(signalnum):
            return self.owner._previous
        return native_getsignal(signalnum)

    def signal(self, signalnum: Any, handler: Any) -> Any:
        """``signal.signal``: a SIGALRM handler becomes the program's (snarl's stays in front
        and passes it the program's alarms); the previous one is returned."""
        if not self._ours(signalnum):
            return native_signal(signalnum, handler)
        if not (callable(handler) or handler in (signal.SIG_IGN, signal.SIG_DFL)):
            raise TypeError(
                "signal handler must be signal.SIG_IGN, signal.SIG_DFL, or a callable object"
            )
        if not callable(handler):
            handler = signal.Handlers(handler)  # as getsignal would return it
        owner = self.owner
        previous, owner._previous = owner._previous, handler
        job: Any = owner._job
        if job is not None and job.method == "signal":
            job.previous = handler  # what the end of the phase restores
        return previous
