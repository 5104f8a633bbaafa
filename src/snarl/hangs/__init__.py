"""Live diagnosis: the hang watchdog (:func:`watch`) and the dump on signal.

* :func:`watch` → :class:`Watchdog`: a background thread reporting deadlock cycles, threads
  stuck for ``stuck`` seconds (the idle-or-stuck rule is in :mod:`snarl.hangs.rules`) and
  locks held by exited threads, as a :class:`Report`; faulthandler's timer as the fallback
  for a stuck GIL.
* :func:`install_signal_dump` / :func:`uninstall_signal_dump`: the full dump on ``SIGUSR1``,
  faulthandler's on ``SIGUSR2``.
* :func:`cpu_seconds`: a thread's CPU time from its native id (Linux).
"""

from .cpu import cpu_seconds as cpu_seconds
from .report import ABORT_EXIT_CODE as ABORT_EXIT_CODE
from .report import KINDS as KINDS
from .report import HolderStatus as HolderStatus
from .report import OrphanedLock as OrphanedLock
from .report import Report as Report
from .report import StuckThread as StuckThread
from .rules import Verdict as Verdict
from .signals import SignalDump as SignalDump
from .signals import install_signal_dump as install_signal_dump
from .signals import installed_signal_dump as installed_signal_dump
from .signals import uninstall_signal_dump as uninstall_signal_dump
from .watchdog import Watchdog as Watchdog
from .watchdog import watch as watch

__all__ = [
    "ABORT_EXIT_CODE",
    "KINDS",
    "HolderStatus",
    "OrphanedLock",
    "Report",
    "SignalDump",
    "StuckThread",
    "Verdict",
    "Watchdog",
    "cpu_seconds",
    "install_signal_dump",
    "installed_signal_dump",
    "uninstall_signal_dump",
    "watch",
]
