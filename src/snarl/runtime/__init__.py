"""Runtimes: what synchronisation events mean.  The observer is current by default."""

from . import base as _base
from .base import Runtime as Runtime
from .base import current_runtime as current_runtime
from .base import set_runtime as set_runtime
from .observer import OBSERVER as OBSERVER
from .observer import ObserverRuntime as ObserverRuntime
from .observer import tracked_state as tracked_state
from .observer import wait_edges as wait_edges

if not _base._current:
    set_runtime(OBSERVER)
