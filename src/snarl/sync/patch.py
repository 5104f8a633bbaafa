"""install() / uninstall(): reversible swap of ``threading``'s primitives for snarl's.

``install()`` replaces, in the ``threading`` module, ``Lock``, ``RLock``, ``Condition``,
``Semaphore``, ``BoundedSemaphore``, ``Event`` and ``Barrier`` with snarl's, and hooks
``threading.Thread`` (start/exit and ``join``; see :mod:`snarl.sync.thread`).  Everything that
looks these names up in ``threading`` when it creates a primitive is then tracked: ``queue.Queue``
(its mutex and three Conditions are made in ``Queue()``), ``concurrent.futures`` (Future,
executors' wait objects), ``logging`` handlers created afterwards, ``threading.Thread``'s own
started-Event, and third-party code that says ``threading.Lock()``.

What stays native (untracked, and working as before):

* primitives created **before** ``install()``: module-level locks of modules imported earlier
  (``logging._lock``, ``concurrent.futures.thread._global_shutdown_lock``), existing Queues;
* code that bound the names earlier (``from threading import Lock`` executed before install);
* code that calls ``_thread.allocate_lock`` / ``_thread.RLock`` directly (``threading``'s own
  internals, ``queue.SimpleQueue``, ``importlib``); threads started with ``_thread`` directly.

``install()`` is idempotent (a second call changes only the options), ``uninstall()`` restores
the originals, and objects created while installed keep working after ``uninstall()`` (they
carry their own runtime and inner locks).  ``install()`` returns an :class:`Installation`; used
as a context manager it restores, on exit, the state found on entry.  To install before a
script's first line, call ``snarl.install()`` and then run the script (``runpy.run_path``):
that is what ``snarl run`` does.

``install(lockorder=True)`` also attaches the lock-order validator
(:mod:`snarl.analysis.lockorder`) to the observer: locks created from then on report their
acquisitions.  This is the one import from a higher layer, made lazily, because ``install`` is
the composition root of the observer's features.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from types import TracebackType
from typing import Any

from ..runtime.observer import OBSERVER
from .condition import Condition
from .event import Barrier, Event
from .lock import Lock, RLock
from .semaphore import BoundedSemaphore, Semaphore
from .thread import patch_thread, thread_originals, unpatch_thread

__all__ = ["Installation", "install", "installed", "originals", "uninstall"]

_REPLACEMENTS: dict[str, Any] = {
    "Lock": Lock,
    "RLock": RLock,
    "Condition": Condition,
    "Semaphore": Semaphore,
    "BoundedSemaphore": BoundedSemaphore,
    "Event": Event,
    "Barrier": Barrier,
}
_saved: dict[str, Any] = {}
_options: dict[str, Any] = {"lockorder": None, "stacks": False}

Report = str | Callable[[Any], None]


class Installation:
    """The result of :func:`install`; as a context manager, restores the earlier state on exit."""

    def __init__(self, previous: tuple[bool, Any, bool]) -> None:
        self._previous = previous

    def __enter__(self) -> Installation:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        was_installed, validator, stacks = self._previous
        if not was_installed:
            uninstall()
            return
        _set_validator(validator)
        OBSERVER.record_stacks(stacks)
        _options["stacks"] = stacks

    @property
    def validator(self) -> Any:
        """The lock-order validator in use, or None."""
        return _options["lockorder"]


def installed() -> bool:
    """Whether snarl's primitives are installed in ``threading``."""
    return bool(_saved)


def install(
    lockorder: bool = False,
    *,
    stacks: bool = False,
    report: Report = "warn",
) -> Installation:
    """Put snarl's tracked primitives into ``threading`` (idempotent).

    ``lockorder`` attaches the lock-order validator; ``report`` says how it reports a potential
    deadlock: ``"warn"`` (``warnings.warn`` with :class:`snarl.errors.LockOrderWarning`),
    ``"log"`` (logger ``snarl.lockorder``), ``"raise"`` (:class:`snarl.errors.LockOrderViolation`
    from the acquiring call) or a callable taking the report.  ``stacks`` keeps the full stack
    of every acquisition instead of its file:line (slow; for debugging sessions).
    Options apply to primitives created from now on.
    """
    previous = (installed(), _options["lockorder"], _options["stacks"])
    if not _saved:
        for name, replacement in _REPLACEMENTS.items():
            _saved[name] = getattr(threading, name)
            setattr(threading, name, replacement)
        patch_thread()
    if lockorder:
        from ..analysis.lockorder import LockOrderValidator  # composition root; see docstring

        current = _options["lockorder"]
        if current is None or current.report != report:
            _set_validator(LockOrderValidator(report=report))
    else:
        _set_validator(None)
    OBSERVER.record_stacks(stacks)
    _options["stacks"] = stacks
    return Installation(previous)


def originals() -> dict[str, Any]:
    """``threading``'s own objects that install() replaced, by name (empty when not installed).

    Keys are the replaced names (``"Condition"``, ...) and ``"Thread.join"`` and
    ``"Thread._bootstrap_inner"``; dumps use them to recognise native waits while installed.
    """
    found = dict(_saved)
    found.update({f"Thread.{name}": fn for name, fn in thread_originals().items()})
    return found


def uninstall() -> None:
    """Restore ``threading``'s own primitives and detach the validator (idempotent)."""
    _set_validator(None)
    OBSERVER.record_stacks(False)
    _options["stacks"] = False
    if not _saved:
        return
    for name, original in list(_saved.items()):
        setattr(threading, name, original)
    _saved.clear()
    unpatch_thread()


def _set_validator(validator: Any) -> None:
    current = _options["lockorder"]
    if current is validator:
        return
    if current is not None:
        OBSERVER.remove_instrument(current)
    if validator is not None:
        OBSERVER.add_instrument(validator)
    _options["lockorder"] = validator
    if current is not None:
        current.flush()  # the reports it held back for a lock's release, if they stand
