"""Deferred lock-order reports (see :mod:`snarl.analysis.lockorder`, "Deferred reports").

A cycle closed while the thread holds a plain ``Lock`` (one any thread may release) is not
reported at once: that lock may be a readers-writer lock's resource lock, owned by the group
of readers, which another reader will release.  The report waits for that hold to end:

* released by the thread that took it: the lock behaved as a thread-owned one, the report is
  made (from the releasing call; if reporting raises, the lock is released first);
* released by another thread: its class becomes group-owned, and every pending report with a
  group-owned class in its cycle is dropped;
* neither by the end (:meth:`Deferrals.flush`: ``uninstall()``, interpreter exit, the end of
  a pytest phase): the report is made, unless a class of its cycle is group-owned by then.

The owner's release of a lock on top of its held stack calls no hook (the hot path pops it
itself), so while a report waits for one of its locks the thread's stack is a
:class:`Watched` list, whose ``pop`` notices; it goes back to a plain list when nothing of the
thread's is watched any more.
"""

from __future__ import annotations

import weakref
from _thread import allocate_lock
from collections.abc import Callable
from typing import Any

from .ordergraph import Inversion

__all__ = ["Deferrals", "Pending", "Watched"]


class Pending:
    """A report waiting for the thread ``owner`` to end its hold of ``hold``."""

    __slots__ = ("classes", "hold", "inversion", "owner", "where")

    def __init__(self, inversion: Inversion, hold: Any, owner: int, where: tuple[str, int]) -> None:
        self.inversion = inversion
        self.hold = weakref.ref(hold)  # (a strong one would defeat the dropped-lock check)
        self.owner = owner
        self.where = where  # the acquiring line, where a warning points
        self.classes = frozenset(e.from_class.key for e in inversion.edges)


class Watched(list):  # type: ignore[type-arg]
    """A held stack some pending report watches: a ``pop`` of a watched lock settles it."""

    __slots__ = ("deferrals",)

    deferrals: Deferrals

    def pop(self, index: Any = -1) -> Any:  # type: ignore[override]
        """``list.pop``; a watched lock popped by its owner makes its reports due."""
        item = list.pop(self, index)
        if self.deferrals.watches(item):
            self.deferrals.released_by_owner(item)
        return item


class Deferrals:
    """The validator's pending reports.

    ``publish(inversion, where)`` makes a report; ``group`` is the set of group-owned
    classes; ``restack(ident, watched)`` replaces thread ``ident``'s held stack by a copy,
    :class:`Watched` or plain (only ever called in that thread).
    """

    def __init__(
        self,
        publish: Callable[[Inversion, tuple[str, int]], None],
        group: set[int],
        restack: Callable[[int, bool], None],
    ) -> None:
        self.pending: list[Pending] = []
        self._publish = publish
        self._group = group
        self._restack = restack
        self._mutex = allocate_lock()

    def watches(self, prim: Any) -> bool:
        """Whether a pending report waits for ``prim``'s release."""
        return any(p.hold() is prim for p in self.pending)

    def defer(self, inversion: Inversion, hold: Any, owner: int, where: tuple[str, int]) -> None:
        """Hold ``inversion`` back until ``owner`` (the calling thread) ends its hold."""
        with self._mutex:
            self.pending.append(Pending(inversion, hold, owner, where))
        self._restack(owner, True)

    def released_by_owner(self, prim: Any) -> None:
        """``prim``'s owner let it go: its reports are made (see the module docstring)."""
        due = self._take(lambda p: p.hold() is prim)
        if due and not any(p.owner == due[0].owner for p in self.pending):
            self._restack(due[0].owner, False)  # nothing of this thread's is watched now
        try:
            self._make(due)
        except BaseException:
            # the caller was about to release prim: do it first, so the report's exception
            # (a warning made an error, a callable that raises) leaves no lock held
            prim._owner = None
            prim._inner.release()
            raise

    def make_now(self, owner: int, inversions: list[Inversion]) -> None:
        """Make these pending reports of thread ``owner`` (the caller) now."""
        due = self._take(lambda p: any(p.inversion is i for i in inversions))
        if not any(p.owner == owner for p in self.pending):
            self._restack(owner, False)
        self._make(due)

    def handed_over(self, cls: int) -> None:
        """Class ``cls`` became group-owned: the reports through it are dropped."""
        self._take(lambda p: cls in p.classes)

    def flush(self) -> None:
        """Make every pending report whose cycle has no group-owned class (the end)."""
        self._make(self._take(lambda p: True))

    def clear(self) -> None:
        """Forget every pending report."""
        self._take(lambda p: True)

    def _take(self, which: Callable[[Pending], bool]) -> list[Pending]:
        with self._mutex:
            taken = [p for p in self.pending if which(p)]
            if taken:
                self.pending = [p for p in self.pending if not which(p)]
        return taken

    def _make(self, due: list[Pending]) -> None:
        for p in due:
            if not p.classes & self._group:
                self._publish(p.inversion, p.where)
