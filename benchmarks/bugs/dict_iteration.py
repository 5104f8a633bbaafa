"""A module-level dict of handlers iterated by one thread while another subscribes.

Bug: ``publish()`` calls each handler in ``_HANDLERS.values()``; a ``subscribe()`` between two
iterations adds a key: ``RuntimeError: dictionary changed size during iteration``.  The switch
falls between two iterations (the handler's lines): ``"line"``.  Unlike ``iteration`` the dict
is a module global and the loop calls out.  Fix: iterate over a snapshot
(``list(_HANDLERS.values())``, made in one C call).
"""

from __future__ import annotations

from collections.abc import Callable

try:
    from ._harness import Program
except ImportError:  # loaded as a file (snarl explore benchmarks/bugs/dict_iteration.py::buggy)
    from _harness import Program

GRANULARITY = "line"
SWITCH = "between two iterations of the loop (a handler's lines)"
EXPECT = "exception"
CLASS = "data-race"

_HANDLERS: dict[str, Callable[[str], None]] = {}
_DELIVERED: list[str] = []


def _handler(name: str) -> Callable[[str], None]:
    def handle(event: str) -> None:
        _DELIVERED.append(f"{name}:{event}")

    return handle


def subscribe(name: str) -> None:
    _HANDLERS[name] = _handler(name)


def publish(event: str) -> None:
    for handle in _HANDLERS.values():
        handle(event)


def publish_snapshot(event: str) -> None:
    for handle in list(_HANDLERS.values()):
        handle(event)


def reset() -> None:
    """Two subscribers, nothing delivered (module-level state)."""
    _HANDLERS.clear()
    _DELIVERED.clear()
    subscribe("audit")
    subscribe("metrics")


def publisher(_: None) -> None:
    publish("saved")


def publisher_snapshot(_: None) -> None:
    publish_snapshot("saved")


def subscriber(_: None) -> None:
    subscribe("cache")


def check(_: None) -> None:
    assert {"audit:saved", "metrics:saved"} <= set(_DELIVERED), f"delivered {_DELIVERED}"


BUGGY = Program(reset, (publisher, subscriber), check)
FIXED = Program(reset, (publisher_snapshot, subscriber), check)


def buggy() -> None:
    BUGGY.run()


def fixed() -> None:
    FIXED.run()
