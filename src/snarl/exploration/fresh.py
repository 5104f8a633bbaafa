"""What makes every execution start as a plain run of the test would: thread numbering and
the order of sets of threads and futures.

``threading`` names an unnamed thread ``Thread-N`` from a process-wide counter, and
``ThreadPoolExecutor`` numbers its pools the same way, so the threads of the thousandth
execution would be called ``Thread-2001 (worker)``, and a replay would show other names
again.  :class:`ThreadNumbers` reads both counters once, when an exploration begins, and
restarts them from there for every execution: each execution, and a replay, names its
threads as one plain run of the test from that point would.  Exit puts the counters back.

A set of objects iterates in the order of their hashes, and an object's default hash is its
address: ``ThreadPoolExecutor.shutdown`` joins the threads of a set, ``concurrent.futures.wait``
walks a set of futures, each in an order that changes from run to run, so an execution could
not be replayed.  :func:`ordered_hashes` gives ``threading.Thread`` and
``concurrent.futures.Future`` a hash numbered in the order objects are first hashed, the
numbering restarted with the thread counters: the same program hashes the same way in every
execution.  (A hash only has to stay the same for the object's life, which it does: it is
kept in the object.  Objects of these classes that exist when it is installed keep their
address hash.  It stays installed: objects hashed under it may outlive the exploration.)
"""

from __future__ import annotations

import itertools
import sys
import threading
from typing import Any

__all__ = ["ThreadNumbers", "ordered_hashes"]


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
        _hashes[0] = itertools.count(1).__next__

    def restore(self) -> None:
        """Put the original counters back (they did not move meanwhile)."""
        for owner, name, counter, _start in self.saved:
            setattr(owner, name, counter)


_hashes = [itertools.count(1).__next__]  # (a list: reset replaces the counter)
_HASHED = "_snarl_hash"


def _ordered_hash(self: Any) -> int:
    state = self.__dict__
    n = state.get(_HASHED)
    if n is None:
        n = state[_HASHED] = _hashes[0]()
    return n  # type: ignore[no-any-return]


def ordered_hashes(existing: Any = ()) -> None:
    """Install the numbered hash on ``threading.Thread`` and ``concurrent.futures.Future``
    (idempotent); every object of ``existing`` keeps the hash it has now."""
    for obj in existing:
        obj.__dict__.setdefault(_HASHED, object.__hash__(obj))
    classes = [threading.Thread]
    futures = sys.modules.get("concurrent.futures._base")
    if futures is not None:
        classes.append(futures.Future)
    for cls in classes:
        if cls.__dict__.get("__hash__") is not _ordered_hash:
            cls.__hash__ = _ordered_hash  # type: ignore[method-assign]
