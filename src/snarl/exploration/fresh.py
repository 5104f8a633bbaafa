"""What makes every execution start as a plain run of the test would: thread numbering.

``threading`` names an unnamed thread ``Thread-N`` from a process-wide counter, and
``ThreadPoolExecutor`` numbers its pools the same way, so the threads of the thousandth
execution would be called ``Thread-2001 (worker)``, and a replay would show other names
again.  :class:`ThreadNumbers` reads both counters once, when an exploration begins, and
restarts them from there for every execution: each execution, and a replay, names its
threads as one plain run of the test from that point would.  Exit puts the counters back.
"""

from __future__ import annotations

import itertools
import sys
import threading
from typing import Any

__all__ = ["ThreadNumbers"]


def _next_value(counter: Any) -> int | None:
    """The next number ``counter`` (an ``itertools.count().__next__``) gives, without
    taking it; None if it is not one."""
    owner = getattr(counter, "__self__", None)
    if type(owner) is not itertools.count:
        return None
    text = repr(owner)  # count(5)
    inside = text[text.find("(") + 1 : text.rfind(")")]
    return int(inside) if inside.lstrip("-").isdigit() else None


def _pool_class() -> Any:
    module = sys.modules.get("concurrent.futures.thread")
    return getattr(module, "ThreadPoolExecutor", None)


class ThreadNumbers:
    """The thread and pool counters at the start of an exploration; :meth:`reset` restarts
    them there (see the module docstring)."""

    def __init__(self) -> None:
        self.saved: list[tuple[Any, str, Any, int]] = []
        for owner, name in ((threading, "_counter"), (_pool_class(), "_counter")):
            counter = getattr(owner, name, None) if owner is not None else None
            start = _next_value(counter)
            if start is not None:
                self.saved.append((owner, name, counter, start))

    def reset(self) -> None:
        """Restart the counters at the values they had when this object was made."""
        for owner, name, _counter, start in self.saved:
            setattr(owner, name, itertools.count(start).__next__)

    def restore(self) -> None:
        """Put the original counters back (they did not move meanwhile)."""
        for owner, name, counter, _start in self.saved:
            setattr(owner, name, counter)
