"""Which thread is which: ``_thread`` threads, dummies, and idents reused by new threads.

On Linux an ident is the address of the thread's control block, which glibc hands to the next
thread once the previous one has fully exited; the tests below make that happen (and check that
it did) before asserting that snarl names the new thread, not the old one.
"""

from __future__ import annotations

import _thread
import os
import sys
import threading
import time

import pytest

import snarl

from ..helpers import JOIN_TIMEOUT, blocked, line_of, snapshot_when

HERE = __file__
REUSE_ATTEMPTS = 200


def line(marker: str) -> int:
    return line_of(HERE, f"# @{marker}")


class RawThread:
    """A thread started with ``_thread.start_new_thread``, which ``threading`` never registers."""

    def __init__(self, body=None) -> None:
        self.gate = threading.Event()
        self.ready = threading.Event()
        self.ident: int | None = None
        self.native_id: int | None = None
        self.dummy: threading.Thread | None = None
        self._body = body
        self._done = _thread.allocate_lock()
        self._done.acquire()
        _thread.start_new_thread(self._run, ())
        assert self.ready.wait(JOIN_TIMEOUT)

    def _run(self) -> None:
        try:
            self.ident = _thread.get_ident()
            self.native_id = threading.get_native_id()
            if self._body is not None:
                self._body(self)
            self.ready.set()
            raw_wait(self.gate)
        finally:
            self._done.release()

    def finish(self) -> None:
        """Release the thread and wait until the OS thread is gone (its ident free for reuse)."""
        self.gate.set()
        assert self._done.acquire(timeout=JOIN_TIMEOUT)
        deadline = time.monotonic() + JOIN_TIMEOUT
        while thread_exists(self.ident, self.native_id):
            assert time.monotonic() < deadline, "a _thread thread did not exit"
            time.sleep(0.001)


def raw_wait(gate: threading.Event) -> None:
    gate.wait()  # @raw-wait


def thread_exists(ident: int | None, native_id: int | None) -> bool:
    if native_id is not None and os.path.isdir("/proc/self/task"):
        return os.path.exists(f"/proc/self/task/{native_id}")
    return ident in sys._current_frames()


def wait_gone(t: threading.Thread) -> None:
    t.join(JOIN_TIMEOUT)
    assert not t.is_alive()
    deadline = time.monotonic() + JOIN_TIMEOUT
    while thread_exists(t.ident, t.native_id):
        assert time.monotonic() < deadline, "a thread did not exit"
        time.sleep(0.001)


def raw_thread_reusing(ident: int, body=None) -> RawThread:
    """A running RawThread whose ident is ``ident`` (retried until the OS reuses it)."""
    for _ in range(REUSE_ATTEMPTS):
        raw = RawThread(body)
        if raw.ident == ident:
            return raw
        raw.finish()
    if sys.platform.startswith("linux"):
        pytest.fail(f"ident {ident:#x} was not reused in {REUSE_ATTEMPTS} attempts")
    pytest.skip("this platform does not reuse thread idents promptly")


def entry(snap: snarl.Snapshot, ident: int) -> snarl.ThreadInfo:
    [info] = [t for t in snap.threads if t.ident == ident]
    return info


def parked(ident: int) -> snarl.Snapshot:
    """The first snapshot showing the unnamed thread ``ident`` in its ``gate.wait()``."""
    return snapshot_when(
        lambda s: any(t.ident == ident and t.wait is not None for t in s.threads),
        f"thread {ident:#x} waits",
    )


def test_start_new_thread_thread_is_unnamed_with_origin_thread():
    raw = RawThread()
    try:
        snap = parked(raw.ident)
        info = entry(snap, raw.ident)
        assert (info.name, info.origin, info.daemon, info.main, info.current) == (
            None,
            "_thread",
            None,
            False,
            False,
        )
        assert info.label == f"<_thread {raw.ident:#x}>"
        assert info.state == "waiting"
        assert (info.wait.kind, info.wait.object.name, info.wait.lineno) == (
            "event",
            "gate",
            line("raw-wait"),
        )
        text = snarl.format_dump(snap, "text")
        assert f"<_thread {raw.ident:#x}>" in text
        assert "_thread.start_new_thread" in text
    finally:
        raw.finish()


def call_current_thread(raw: RawThread) -> None:
    raw.dummy = threading.current_thread()


def test_foreign_thread_registered_as_dummy():
    raw = RawThread(call_current_thread)
    try:
        assert type(raw.dummy).__name__ == "_DummyThread"
        info = entry(parked(raw.ident), raw.ident)
        assert (info.name, info.origin) == (raw.dummy.name, "dummy")
        assert info.name.startswith("Dummy-")
        assert info.wait.kind == "event"
    finally:
        raw.finish()


def test_ident_of_a_finished_thread_reused_by_a_start_new_thread_thread():
    gone = threading.Thread(target=int, name="finished-thread")
    gone.start()
    wait_gone(gone)
    raw = raw_thread_reusing(gone.ident)
    try:
        snap = parked(gone.ident)
        info = entry(snap, gone.ident)
        assert (info.name, info.origin) == (None, "_thread")
        assert "finished-thread" not in {t.name for t in snap.threads}
        assert info.wait.lineno == line("raw-wait")
    finally:
        raw.finish()


def test_ident_of_a_dead_dummy_reused_by_a_start_new_thread_thread():
    first = RawThread(call_current_thread)
    dead_dummy, ident = first.dummy, first.ident
    first.finish()
    try:
        if sys.version_info < (3, 13):
            # The trap is armed: threading keeps the exited thread's dummy under its ident.
            assert threading._active.get(ident) is dead_dummy
        raw = raw_thread_reusing(ident)
        try:
            info = entry(parked(ident), ident)
            assert (info.name, info.origin, info.native_id) == (None, "_thread", None)
            assert info.wait.lineno == line("raw-wait")
        finally:
            raw.finish()
    finally:
        with threading._active_limbo_lock:  # undo threading's leak
            if threading._active.get(ident) is dead_dummy:
                del threading._active[ident]


def threading_thread_reusing(threads, ident: int, name: str) -> threading.Thread:
    """A running threading.Thread (waiting for ``threads.stop``) whose ident is ``ident``."""
    for _ in range(REUSE_ATTEMPTS):
        t = threads.start(threads.stop.wait, name=name)
        if t.ident == ident:
            return t
        threads.stop.set()
        wait_gone(t)
        threads.stop.clear()
    if sys.platform.startswith("linux"):
        pytest.fail(f"ident {ident:#x} was not reused in {REUSE_ATTEMPTS} attempts")
    pytest.skip("this platform does not reuse thread idents promptly")


def test_ident_of_a_dead_dummy_reused_by_a_threading_thread(threads):
    first = RawThread(call_current_thread)
    dead_dummy, ident = first.dummy, first.ident
    first.finish()
    try:
        t = threading_thread_reusing(threads, ident, "new-owner")
        info = entry(blocked(t), ident)
        assert (info.name, info.origin, info.native_id) == ("new-owner", "threading", t.native_id)
    finally:
        with threading._active_limbo_lock:
            if threading._active.get(ident) is dead_dummy:
                del threading._active[ident]


def test_ident_of_a_finished_thread_reused_by_a_threading_thread(threads):
    first = threading.Thread(target=int, name="first-owner")
    first.start()
    wait_gone(first)
    second = threading_thread_reusing(threads, first.ident, "second-owner")
    snap = blocked(second)
    assert entry(snap, first.ident).name == "second-owner"
    assert "first-owner" not in {t.name for t in snap.threads}
