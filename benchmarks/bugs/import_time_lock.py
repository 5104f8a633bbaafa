"""Self-deadlock in a module-level registry whose lock was made at import.

``from threading import Lock, RLock`` binds the classes when the module is imported, the
registry instances (and their locks) are made at import, and the log's lock is a
``_thread.allocate_lock()`` made at import: none of them is created while a test runs.

Bug: ``Registry.get()`` builds a missing entry with its factory while holding the registry's
``Lock``; the ``"db"`` factory looks up ``"config"``, and if ``"config"`` is not built yet that
lookup takes the same ``Lock`` again: the thread waits for itself (and the other thread for
it).  Only when the ``"db"`` lookup gets the lock before ``"config"`` exists.  Fix: the
registry's lock is an ``RLock`` (a second registry, also made at import).
"""

from __future__ import annotations

import _thread
from collections.abc import Callable
from threading import Lock, RLock

try:
    from ._harness import Program, named
except ImportError:  # loaded as a file (snarl explore benchmarks/bugs/import_time_lock.py::buggy)
    from _harness import Program, named

GRANULARITY = "sync"
SWITCH = "a lock acquire (of a lock made at import)"
EXPECT = "deadlock"
CLASS = "import-time-lock"

_LOG_LOCK = _thread.allocate_lock()
_LOG: list[str] = []  # what was built, in order


def _logged(name: str) -> None:
    with _LOG_LOCK:
        _LOG.append(name)


class Registry:
    """Named singletons, each built on first use by its factory (which may look others up)."""

    def __init__(self, reentrant: bool = False) -> None:
        self._lock = RLock() if reentrant else Lock()
        self._items: dict[str, object] = {}
        self._factories: dict[str, Callable[[Registry], object]] = {}

    def register(self, name: str, factory: Callable[[Registry], object]) -> None:
        self._factories[name] = factory

    def clear(self) -> None:
        """Forget what was built (the factories stay registered)."""
        self._items.clear()

    def get(self, name: str) -> object:
        item = self._items.get(name)  # built already: no lock
        if item is not None:
            return item
        with self._lock:
            item = self._items.get(name)
            if item is None:
                item = self._factories[name](self)  # may call get(): the lock is held
                self._items[name] = item
                _logged(name)
        return item


class Database:
    def __init__(self, config: object) -> None:
        self.config = config


def _register(registry: Registry) -> Registry:
    registry.register("config", lambda r: {"dsn": "sqlite://"})
    registry.register("db", lambda r: Database(r.get("config")))
    return registry


REGISTRY = _register(Registry())  # made at import, with its Lock
REENTRANT_REGISTRY = _register(Registry(reentrant=True))  # the fix: an RLock, also made at import


class Seen:
    def __init__(self) -> None:
        self.config: object | None = None
        self.db: object | None = None


def program(registry: Registry) -> Program:
    def setup() -> Seen:
        registry.clear()  # module-level state: each execution starts from an empty registry
        _LOG.clear()
        return Seen()

    def use_config(s: Seen) -> None:
        s.config = registry.get("config")

    def use_db(s: Seen) -> None:
        s.db = registry.get("db")

    def check(s: Seen) -> None:
        assert getattr(s.db, "config", None) is s.config, "the db holds another config"
        assert sorted(_LOG) == ["config", "db"], f"built {_LOG}"

    return Program(setup, (named(use_config, "use_config"), named(use_db, "use_db")), check)


BUGGY = program(REGISTRY)
FIXED = program(REENTRANT_REGISTRY)


def buggy() -> None:
    BUGGY.run()


def fixed() -> None:
    FIXED.run()
