"""snarl: control and debug Python thread behaviour.

Public API (everything else is internal and may change):

* :func:`snapshot` → :class:`Snapshot`: every live thread, its frames, state and wait.
* :func:`dump`: write that as text (grouped, jstack-like) or JSON (``"schema": 1``).
* :func:`format_dump`: render a snapshot you already have.
* :func:`wait_until_blocked`: wait until given threads are parked, without guessing a sleep.
* :func:`install` / :func:`uninstall`: put snarl's tracked primitives into ``threading``
  (owners, waiters, optional lock-order validation), optionally the dump on a signal and the
  agent for ``snarl dump PID``; :mod:`snarl.sync` holds the drop-in names.
* :func:`watch` → :class:`Watchdog`: the hang watchdog (deadlocks, stuck threads, locks held
  by exited threads; idle is not stuck).
* :func:`explore` → :class:`Result`, :func:`replay`, :func:`interleavings`: run a threaded
  test under controlled schedules (random, PCT, bounded DFS), shrink a failure to the fewest
  preemptions, print a replay token.
* :func:`record` → :class:`Recording`: a thread timeline (waits, who released them, thread
  lives) saved as a Chrome trace or a self-contained HTML page; :mod:`snarl.timeline`.
* :func:`races` → :class:`Races`: the happens-before data race detector (``snarl race``) for
  the threads run inside a ``with`` block; :class:`RaceError` from ``Races.check()``.
* :func:`setcheckinterval` / :func:`getcheckinterval` / :func:`checkinterval`: Python 2's
  check interval (offer the GIL every N bytecodes); :func:`switchinterval` scopes
  ``sys.setswitchinterval``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from . import sync as sync
from .diagnosis import install as install
from .diagnosis import uninstall as uninstall

# Everything else loads on first use (PEP 562): ``import snarl`` goes into other people's
# processes, and the explorer, the timeline and the watchdog need not come with it.
_LAZY: dict[str, str] = {
    "interleavings": "exploration.decorator",
    "Failure": "exploration.runner",
    "InterleavingFailure": "exploration.runner",
    "Result": "exploration.runner",
    "explore": "exploration.runner",
    "replay": "exploration.runner",
    "Report": "hangs",
    "Watchdog": "hangs",
    "watch": "hangs",
    "checkinterval": "interval",
    "getcheckinterval": "interval",
    "setcheckinterval": "interval",
    "switchinterval": "interval",
    "Deadlock": "threaddump",
    "DeadlockStep": "threaddump",
    "FrameInfo": "threaddump",
    "HeldLock": "threaddump",
    "Holder": "threaddump",
    "ObjectInfo": "threaddump",
    "Snapshot": "threaddump",
    "ThreadInfo": "threaddump",
    "WaitInfo": "threaddump",
    "dump": "threaddump",
    "format_dump": "threaddump",
    "snapshot": "threaddump",
    "wait_until_blocked": "threaddump",
    "Recording": "timeline",
    "record": "timeline",
    "RaceError": "race",
    "Races": "race",
    "races": "race",
}
"""Public name -> the submodule (relative to ``snarl``) that defines it."""

if TYPE_CHECKING:
    from .exploration.decorator import interleavings as interleavings
    from .exploration.runner import Failure as Failure
    from .exploration.runner import InterleavingFailure as InterleavingFailure
    from .exploration.runner import Result as Result
    from .exploration.runner import explore as explore
    from .exploration.runner import replay as replay
    from .hangs import Report as Report
    from .hangs import Watchdog as Watchdog
    from .hangs import watch as watch
    from .interval import checkinterval as checkinterval
    from .interval import getcheckinterval as getcheckinterval
    from .interval import setcheckinterval as setcheckinterval
    from .interval import switchinterval as switchinterval
    from .race import RaceError as RaceError
    from .race import Races as Races
    from .race import races as races
    from .threaddump import Deadlock as Deadlock
    from .threaddump import DeadlockStep as DeadlockStep
    from .threaddump import FrameInfo as FrameInfo
    from .threaddump import HeldLock as HeldLock
    from .threaddump import Holder as Holder
    from .threaddump import ObjectInfo as ObjectInfo
    from .threaddump import Snapshot as Snapshot
    from .threaddump import ThreadInfo as ThreadInfo
    from .threaddump import WaitInfo as WaitInfo
    from .threaddump import dump as dump
    from .threaddump import format_dump as format_dump
    from .threaddump import snapshot as snapshot
    from .threaddump import wait_until_blocked as wait_until_blocked
    from .timeline import Recording as Recording
    from .timeline import record as record


def __getattr__(name: str) -> Any:
    """Load a public name's submodule on first use."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'snarl' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    """The module's names, the lazy ones included."""
    return sorted({*globals(), *_LAZY})


__version__ = "0.1.0"

__all__ = [
    "Deadlock",
    "DeadlockStep",
    "Failure",
    "FrameInfo",
    "HeldLock",
    "Holder",
    "InterleavingFailure",
    "ObjectInfo",
    "RaceError",
    "Races",
    "Recording",
    "Report",
    "Result",
    "Snapshot",
    "ThreadInfo",
    "WaitInfo",
    "Watchdog",
    "__version__",
    "checkinterval",
    "dump",
    "explore",
    "format_dump",
    "getcheckinterval",
    "install",
    "interleavings",
    "races",
    "record",
    "replay",
    "setcheckinterval",
    "snapshot",
    "switchinterval",
    "sync",
    "uninstall",
    "wait_until_blocked",
    "watch",
]
