"""The slots, state queries and repr shared by :class:`~snarl.sync.lock.Lock` and
:class:`~snarl.sync.rlock.RLock` (see :mod:`snarl.sync.lock` for how they work)."""

from __future__ import annotations

import sys
from _thread import get_ident
from types import CodeType

from ..identity import Site, infer_name

__all__ = ["_DEFAULT", "_Base", "_getframe", "_public"]

_getframe = sys._getframe
_DEFAULT = -1  # the default timeout; an ``is`` test against it keeps the fast path cheap


class _Base:
    """Slots and reporting shared by Lock and RLock."""

    __slots__ = (
        "__weakref__",
        "_acq_code",
        "_acq_lasti",
        "_inner",
        "_name",
        "_owner",
        "_part_of",
        "_race",  # the race detector's record of this lock (snarl.race.lockedges), if any
        "_rt",
        "_since",
        "_site_created",
        "_stack",
    )

    _acq_code: CodeType | None
    _acq_lasti: int
    _owner: int | None
    _part_of: int

    @property
    def name(self) -> str | None:
        """``name=`` if given, else the name the creating line stores it under, else None."""
        name = getattr(self, "_name", None)
        return name if name is not None else infer_name(self._site_created)

    @property
    def _site(self) -> Site | None:
        """Where the current owner took the lock (None when unknown or unlocked)."""
        code = self._acq_code
        return None if code is None else Site(code, self._acq_lasti)

    @property
    def owner(self) -> int | None:
        """The ident of the thread holding the lock, or None."""
        return self._owner if self._inner.locked() else None

    def locked(self) -> bool:
        """Whether the lock is held by some thread."""
        return self._inner.locked()

    def _mine(self) -> bool:
        """Whether the calling thread holds it (cheap: read at every thread exit)."""
        return self._owner == get_ident() and self._inner.locked()

    def _at_fork_reinit(self) -> None:
        reinit = getattr(self._inner, "_at_fork_reinit", None)
        if reinit is not None:
            reinit()
        else:
            self._inner = self._rt.allocate_lock()
        self._owner = None
        self._acq_code = None

    def _describe(self) -> str:
        locked = self.locked()
        # (CPython's shape: "<locked _thread.lock object ... at 0x...>", with more inside)
        parts = [f"<{'locked' if locked else 'unlocked'} snarl.sync.{_public(self)} object"]
        name = self.name
        if name:
            parts.append(f"{name!r}")
        if locked and self._owner is not None:
            import threading

            thread = threading._active.get(self._owner)  # type: ignore[attr-defined]
            who = f" ({thread.name!r})" if thread is not None else ""
            parts.append(f"owner={self._owner}{who}")
            extra = getattr(self, "_count", None)
            if extra is not None:
                parts.append(f"count={extra}")
            site = self._site
            parts.append(f"acquired at {site}" if site is not None else "acquired in a with block")
        elif hasattr(self, "_count"):
            parts.append("owner=0 count=0")
        parts.append(f"created at {self._site_created} at {hex(id(self))}>")
        return " ".join(parts)

    def __repr__(self) -> str:
        return self._describe()


def _public(obj: object) -> str:
    return type(obj).__name__.lstrip("_").replace("Hooked", "")
