"""Thread dumps: what every thread is doing now, read from frames, rendered as text or JSON."""

from .api import dump as dump
from .api import format_dump as format_dump
from .api import wait_until_blocked as wait_until_blocked
from .collect import snapshot as snapshot
from .model import Deadlock as Deadlock
from .model import DeadlockStep as DeadlockStep
from .model import FrameInfo as FrameInfo
from .model import HeldLock as HeldLock
from .model import Holder as Holder
from .model import ObjectInfo as ObjectInfo
from .model import Snapshot as Snapshot
from .model import ThreadInfo as ThreadInfo
from .model import WaitInfo as WaitInfo
