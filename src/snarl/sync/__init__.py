"""Drop-in, tracked replacements for ``threading``'s primitives, and install/uninstall.

Use the names directly (``from snarl.sync import Lock``) or let :func:`install` put them into
``threading`` for unmodified code.  Each records its owner, where it was acquired, where it
was created and what it is called; the observer runtime reads that back without locking
(:func:`snarl.runtime.observer.tracked_state`).
"""

from .condition import Condition as Condition
from .event import Barrier as Barrier
from .event import BrokenBarrierError as BrokenBarrierError
from .event import Event as Event
from .lock import Lock as Lock
from .lock import RLock as RLock
from .patch import Installation as Installation
from .patch import install as install
from .patch import installed as installed
from .patch import uninstall as uninstall
from .semaphore import BoundedSemaphore as BoundedSemaphore
from .semaphore import Semaphore as Semaphore
from .thread import Thread as Thread

__all__ = [
    "Barrier",
    "BoundedSemaphore",
    "BrokenBarrierError",
    "Condition",
    "Event",
    "Installation",
    "Lock",
    "RLock",
    "Semaphore",
    "Thread",
    "install",
    "installed",
    "uninstall",
]
