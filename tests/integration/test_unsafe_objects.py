"""A snapshot runs no user code: traps where the resolver looks are never sprung.

Each trap serves its owner thread normally (so the thread really reaches the line under test)
and, for any other thread, counts the access and then raises, spins or sleeps.  The spin and the
sleep are bounded (TRAP_SECONDS) so that a snapshot that did spring one fails instead of hanging.
The snapshots are taken by another thread (the test's), so any access by snarl is counted.
"""

from __future__ import annotations

import threading
import time

import pytest

import snarl

from ..helpers import JOIN_TIMEOUT, blocked, line_of, snapshot_when

HERE = __file__
TRAP_SECONDS = 3.0
FAST = 1.0  # seconds: a snapshot of a handful of threads takes milliseconds
MODES = ("raise", "loop", "sleep")


def line(marker: str) -> int:
    return line_of(HERE, f"# @{marker}")


class Trap:
    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.owner: int | None = None
        self.touched = 0

    def check(self, value):
        if threading.get_ident() == self.owner:
            return value
        self.touched += 1
        if self.mode == "raise":
            raise RuntimeError("snarl ran user code")
        if self.mode == "sleep":
            time.sleep(TRAP_SECONDS)
        else:
            deadline = time.monotonic() + TRAP_SECONDS
            while time.monotonic() < deadline:
                pass
        return value


# ---- objects whose `lock` attribute cannot be read without running code --------------------


class PropertyHolder:
    def __init__(self, trap: Trap, real) -> None:
        self.trap, self._real = trap, real

    @property
    def lock(self):
        return self.trap.check(self._real)


class GetattrHolder:
    def __init__(self, trap: Trap, real) -> None:
        self.trap, self._real = trap, real

    def __getattr__(self, name):
        if name == "lock":
            return self.trap.check(self._real)
        raise AttributeError(name)


class GetattributeHolder:
    def __init__(self, trap: Trap, real) -> None:
        object.__setattr__(self, "trap", trap)
        object.__setattr__(self, "lock", real)

    def __getattribute__(self, name):
        object.__getattribute__(self, "trap").check(None)
        return object.__getattribute__(self, name)


class TrapMeta(type):
    @property
    def lock(cls):
        return cls.trap.check(cls._real)


def metaclass_holder(trap: Trap, real):
    return TrapMeta("MetaHolder", (), {"trap": trap, "_real": real})


class ClassPropertyHolder:
    """``lock`` is plain data; only ``__class__`` is a trap, and snarl needs no ``__class__``."""

    def __init__(self, trap: Trap, real) -> None:
        self.trap, self.lock = trap, real

    @property
    def __class__(self):
        return self.trap.check(ClassPropertyHolder)


UNREADABLE = {
    "property": PropertyHolder,
    "getattr": GetattrHolder,
    "getattribute": GetattributeHolder,
    "metaclass-property": metaclass_holder,
}


def acquire_through(holder, trap: Trap) -> None:
    trap.owner = threading.get_ident()
    holder.lock.acquire()  # @trap-call


def hold_through(holder, trap: Trap, ready: threading.Event, stop: threading.Event) -> None:
    trap.owner = threading.get_ident()
    with holder.lock:  # @trap-with
        ready.set()
        stop.wait()  # @trap-with-wait


def timed_snapshot() -> snarl.Snapshot:
    started = time.monotonic()
    snap = snarl.snapshot()
    assert time.monotonic() - started < FAST
    snarl.format_dump(snap, "text")
    snarl.format_dump(snap, "json")
    return snap


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("style", sorted(UNREADABLE))
def test_call_on_unreadable_attribute(threads, style, mode):
    trap, real = Trap(mode), threading.Lock()
    real.acquire()
    threads.on_teardown(real.release)
    t = threads.start(acquire_through, UNREADABLE[style](trap, real), trap, name="trapped")
    blocked(t)
    info = timed_snapshot().thread("trapped")
    assert trap.touched == 0
    assert (info.state, info.wait.kind, info.wait.object) == ("waiting", "unknown", None)
    assert (info.wait.call, info.wait.lineno) == ("holder.lock.acquire", line("trap-call"))


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("style", sorted(UNREADABLE))
def test_with_block_on_unreadable_attribute(threads, style, mode):
    trap, real = Trap(mode), threading.Lock()
    ready = threading.Event()
    holder = UNREADABLE[style](trap, real)
    t = threads.start(hold_through, holder, trap, ready, threads.stop, name="trapped")
    assert ready.wait(JOIN_TIMEOUT)
    blocked(t)
    info = timed_snapshot().thread("trapped")
    assert trap.touched == 0
    assert info.held == ()  # not readable, so not claimed
    assert (info.wait.kind, info.wait.lineno) == ("event", line("trap-with-wait"))


@pytest.mark.parametrize("mode", MODES)
def test_class_property_is_not_needed(threads, mode):
    trap, real = Trap(mode), threading.Lock()
    real.acquire()
    threads.on_teardown(real.release)
    t = threads.start(acquire_through, ClassPropertyHolder(trap, real), trap, name="trapped")
    blocked(t)
    info = timed_snapshot().thread("trapped")
    assert trap.touched == 0
    assert (info.wait.kind, info.wait.object.name, info.wait.object.id) == (
        "lock",
        "holder.lock",
        id(real),
    )
    assert info.wait.object.type == "_thread.lock"


# ---- a module global whose `acquire` cannot be read without running code -------------------


class GetattrLock:
    def __init__(self, trap: Trap, real) -> None:
        self.trap, self._real = trap, real

    def __getattr__(self, name):
        if name == "acquire":
            return self.trap.check(self._real.acquire)
        raise AttributeError(name)


class PropertyLock:
    def __init__(self, trap: Trap, real) -> None:
        self.trap, self._real = trap, real

    @property
    def acquire(self):
        return self.trap.check(self._real.acquire)


GLOBAL_TRAPS = {"getattr": GetattrLock, "property": PropertyLock}
trap_lock = None  # set by the tests below


def acquire_global_trap(trap: Trap) -> None:
    trap.owner = threading.get_ident()
    trap_lock.acquire()  # @global-trap


def start_on_global_trap(threads, style: str, mode: str) -> tuple[Trap, threading.Thread]:
    global trap_lock
    trap, real = Trap(mode), threading.Lock()
    real.acquire()
    threads.on_teardown(real.release)
    trap_lock = GLOBAL_TRAPS[style](trap, real)
    t = threads.start(acquire_global_trap, trap, name="global-trapped")
    snapshot_when(
        lambda s: s.thread("global-trapped").frames[0].lineno == line("global-trap"),
        "the thread is in trap_lock.acquire()",
    )
    return trap, t


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("style", sorted(GLOBAL_TRAPS))
def test_global_whose_acquire_is_a_trap(threads, style, mode):
    trap, _ = start_on_global_trap(threads, style, mode)
    info = timed_snapshot().thread("global-trapped")
    assert trap.touched == 0
    assert info.frames[0].function == "acquire_global_trap"
    assert info.frames[0].lineno == line("global-trap")


@pytest.mark.parametrize("style", sorted(GLOBAL_TRAPS))
def test_waitish_call_whose_method_cannot_be_read_is_unknown(threads, style):
    # `trap_lock.acquire()` blocks in C, but which callable it is cannot be read safely:
    # that is the documented `unknown` wait, not a running thread.
    trap, _ = start_on_global_trap(threads, style, "raise")
    info = timed_snapshot().thread("global-trapped")
    assert trap.touched == 0
    assert info.state == "waiting"
    assert (info.wait.kind, info.wait.call, info.wait.lineno) == (
        "unknown",
        "trap_lock.acquire",
        line("global-trap"),
    )
