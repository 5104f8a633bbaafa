"""Implementations of :class:`snarl.runtime.scheduler.Scheduler`, one strategy per module."""

from .dfs import DfsScheduler as DfsScheduler
from .dfs import IterativeDfsScheduler as IterativeDfsScheduler
from .pct import PctScheduler as PctScheduler
from .pct import probability_bound as probability_bound
from .random import RandomScheduler as RandomScheduler
from .random import derive_seed as derive_seed
from .replay import ReplayScheduler as ReplayScheduler
from .replay import default_choice as default_choice
from .roundrobin import RoundRobinScheduler as RoundRobinScheduler

__all__ = [
    "DfsScheduler",
    "IterativeDfsScheduler",
    "PctScheduler",
    "RandomScheduler",
    "ReplayScheduler",
    "RoundRobinScheduler",
    "default_choice",
    "derive_seed",
    "probability_bound",
]
