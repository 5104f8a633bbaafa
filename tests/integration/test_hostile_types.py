"""A plain dump runs no code of user types or their metaclasses (issue 13).

Every class here has a metaclass whose ``__hash__``, ``__eq__``, ``__ne__``,
``__instancecheck__`` and ``__subclasscheck__`` count each call made by another thread than
the class's owner, then raise.  Objects of such classes are put where a dump looks: ``self``
of a waiting method, a with-block target, a lock's holder frame, a Thread subclass, a lock
subclass.  The snapshot is taken by the test's thread: any call counts, and fails the test.
"""

from __future__ import annotations

import threading

import pytest

import snarl

from ..helpers import JOIN_TIMEOUT, blocked

CALLS: list[str] = []
OWNER: set[int] = set()


class Hostile(type):
    def _trap(cls, what: str) -> None:
        if threading.get_ident() not in OWNER:
            CALLS.append(f"{what} of {type.__dict__['__name__'].__get__(cls)}")
            raise RuntimeError(f"metaclass {what} ran")

    def __hash__(cls) -> int:
        cls._trap("__hash__")
        return id(cls) >> 4

    def __eq__(cls, other: object) -> bool:
        cls._trap("__eq__")
        return cls is other

    def __ne__(cls, other: object) -> bool:
        cls._trap("__ne__")
        return cls is not other

    def __instancecheck__(cls, obj: object) -> bool:
        cls._trap("__instancecheck__")
        return type.__instancecheck__(cls, obj)

    def __subclasscheck__(cls, sub: type) -> bool:
        cls._trap("__subclasscheck__")
        return type.__subclasscheck__(cls, sub)


class Worker(metaclass=Hostile):
    def __init__(self) -> None:
        self.done = threading.Event()
        self.lock = threading.Lock()
        self.gate = Gate()

    def wait(self) -> None:
        self.done.wait()  # `self` is hostile: its attributes are read

    def hold(self) -> None:
        with self.lock:  # the holder frame's `self`
            self.done.wait()

    def enter(self) -> None:
        with self.gate:  # a with-target of a hostile type
            pass


class Gate(metaclass=Hostile):
    def __init__(self) -> None:
        self.release = threading.Event()

    def __enter__(self) -> Gate:
        self.release.wait()
        return self

    def __exit__(self, *exc: object) -> None:
        return None


class HostileThread(threading.Thread, metaclass=type("HT", (Hostile,), {})):
    def __init__(self, event: threading.Event) -> None:
        super().__init__(name="hostile-thread", daemon=True)
        self.event = event

    def run(self) -> None:
        self.event.wait()


class HostileRLock(threading._PyRLock, metaclass=type("HR", (Hostile,), {})):  # type: ignore[misc, name-defined]
    pass


@pytest.fixture(autouse=True)
def _reset():
    CALLS.clear()
    OWNER.clear()
    OWNER.add(threading.get_ident())  # building the classes and objects may hash them
    yield
    OWNER.clear()


def _run(target, name: str) -> threading.Thread:
    t = threading.Thread(target=target, name=name, daemon=True)
    t.start()
    return t


def test_plain_dump_runs_no_metaclass_code(capsys: pytest.CaptureFixture[str]) -> None:
    w = Worker()
    rlock = HostileRLock()
    rlock_event = threading.Event()

    def hold_rlock() -> None:
        with rlock:
            rlock_event.wait()

    hostile_event = threading.Event()
    ht = HostileThread(hostile_event)
    threads = [
        _run(w.wait, "waits"),
        _run(w.hold, "holds"),
        _run(w.enter, "enters"),
        _run(hold_rlock, "rlock-holder"),
    ]
    ht.start()
    threads.append(ht)
    try:
        blocked(*threads)
        OWNER.clear()  # from here on, any call is the dump's
        snap = snarl.snapshot()
        snarl.dump()
        snarl.dump(format="json")
        assert CALLS == []
        waits = snap.thread("waits")
        assert waits.wait is not None and waits.wait.kind == "event"
        assert snap.thread("hostile-thread").wait is not None
        holds = snap.thread("holds")
        assert holds.held and "lock" in holds.held[0].object.type.lower()
    finally:
        OWNER.add(threading.get_ident())
        w.done.set()
        w.gate.release.set()
        rlock_event.set()
        hostile_event.set()
        for t in threads:
            t.join(JOIN_TIMEOUT)
    capsys.readouterr()
