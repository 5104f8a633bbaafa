"""Which ``Thread`` object really owns an ident and its stack, read without taking
``threading``'s locks and without calling a ``Thread`` method."""

from __future__ import annotations

import os
import sys
from types import FrameType
from typing import Any

from .safe import instance_dict

__all__ = ["Identity", "field"]


class Identity:
    """Maps an ident and its stack to the Thread object that really owns it."""

    def __init__(self) -> None:
        threading = sys.modules.get("threading")
        self.threading = threading
        self.active: dict[int, Any] = threading._active.copy() if threading else {}
        self.main = getattr(threading, "_main_thread", None)
        thread_cls = getattr(threading, "Thread", None)
        bootstrap = getattr(thread_cls, "_bootstrap", None)
        self.bootstrap_code = getattr(bootstrap, "__code__", None)
        self.dummy_cls = getattr(threading, "_DummyThread", None)
        self._live_tids: set[int] | None = None

    def thread_of(self, ident: int, stack: list[FrameType]) -> Any:
        bottom = stack[-1] if stack else None
        if bottom is not None and bottom.f_code is self.bootstrap_code:
            try:
                owner = bottom.f_locals.get("self")
            except Exception:
                owner = None
            if owner is not None:
                return owner
        candidate = self.active.get(ident)
        if candidate is None or candidate is self.main:
            return candidate
        if self.dummy_cls is not None and type(candidate) is self.dummy_cls:
            return candidate if self._dummy_alive(candidate) else None
        # A registered Thread always runs under Thread._bootstrap: without it, the ident was
        # reused by a thread threading knows nothing of.
        return None

    def _dummy_alive(self, dummy: Any) -> bool:
        handle = field(dummy, "_handle")
        is_done = getattr(type(handle), "is_done", None) if handle is not None else None
        if is_done is not None:
            try:
                if is_done(handle):
                    return False
            except Exception:
                pass
        # (3.13's handle of a dummy is never marked done, and the dummy leaves threading's
        # table only when its thread state is freed, later on a free-threaded build: by then
        # the ident may be another thread's.  Native ids are not reused at once.)
        native = field(dummy, "_native_id")
        if native is None:
            return True
        if self._live_tids is None:
            try:
                self._live_tids = {int(t) for t in os.listdir("/proc/self/task")}
            except OSError:
                self._live_tids = set()
        return not self._live_tids or native in self._live_tids


def field(obj: Any, name: str) -> Any:
    """An instance attribute read from the instance dict alone (None when absent)."""
    ns = instance_dict(obj)
    return ns.get(name) if ns is not None else None
