"""The dump on signal, in this process: pytest runs tests in the main thread, where Python
signal handlers live, so ``signal.raise_signal`` runs the handler before it returns."""

from __future__ import annotations

import io
import json
import signal
import threading

import pytest

import snarl
from snarl.hangs import install_signal_dump, installed_signal_dump, uninstall_signal_dump
from snarl.sync import Lock

from ..helpers import JOIN_TIMEOUT

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGUSR1"), reason="needs SIGUSR1/2")


@pytest.fixture
def abba(threads):
    """Two threads deadlocked on two locks taken in opposite orders (released at teardown)."""
    lock_a, lock_b = Lock(name="lock_a"), Lock(name="lock_b")
    both = threading.Barrier(2)

    def take(first: Lock, second: Lock) -> None:
        first.acquire()
        both.wait(JOIN_TIMEOUT)
        second.acquire()
        second.release()
        if first.locked():  # the test released it to end the deadlock
            first.release()

    ab = threads.start(take, lock_a, lock_b, name="AB")
    ba = threads.start(take, lock_b, lock_a, name="BA")
    threads.on_teardown(lock_a.release)
    snarl.wait_until_blocked(ab, ba, kinds={"lock"}, timeout=JOIN_TIMEOUT)
    return ab, ba


@pytest.fixture
def previous_handlers():
    """Python handlers on SIGUSR1 and SIGUSR2 before the test, recording their calls."""
    calls: list[int] = []

    def handler(signum: int, frame: object) -> None:
        calls.append(signum)

    saved = signal.signal(signal.SIGUSR1, handler), signal.signal(signal.SIGUSR2, handler)
    yield handler, calls
    signal.signal(signal.SIGUSR1, saved[0])
    signal.signal(signal.SIGUSR2, saved[1])


def test_the_signal_writes_the_full_dump_with_the_deadlock_to_a_file(abba, tmp_path):
    path = tmp_path / "dump.txt"
    handle = install_signal_dump(file=str(path))

    signal.raise_signal(signal.SIGUSR1)

    text = path.read_text(encoding="utf-8")
    assert handle.dumps == 1
    assert text.startswith("snarl dump of pid")
    assert "Found 1 deadlock:" in text
    assert '"AB" waits for Lock' in text and '"BA" waits for Lock' in text
    assert "_thread.start_new_thread" not in text  # the helper thread is left out
    signal.raise_signal(signal.SIGUSR1)
    assert path.read_text(encoding="utf-8").count("snarl dump of pid") == 2  # appended


def test_json_to_a_stream(abba):
    stream = io.StringIO()
    install_signal_dump(file=stream, format="json")

    signal.raise_signal(signal.SIGUSR1)

    data = json.loads(stream.getvalue())
    snap = snarl.Snapshot.from_dict(data)
    assert len(snap.deadlocks) == 1
    ab, ba = abba
    assert {s.thread for s in snap.deadlocks[0].steps} == {ab.ident, ba.ident}


def test_uninstall_restores_the_handlers_found_before(previous_handlers, tmp_path):
    handler, calls = previous_handlers
    handle = install_signal_dump(file=str(tmp_path / "d.txt"))
    assert installed_signal_dump() is handle
    assert signal.getsignal(signal.SIGUSR1) != handler

    uninstall_signal_dump()

    assert installed_signal_dump() is None
    assert signal.getsignal(signal.SIGUSR1) is handler
    signal.raise_signal(signal.SIGUSR1)
    signal.raise_signal(signal.SIGUSR2)  # faulthandler's registration is gone too
    assert calls == [signal.SIGUSR1, signal.SIGUSR2]
    assert not (tmp_path / "d.txt").read_text(encoding="utf-8")
    uninstall_signal_dump()  # idempotent


def test_a_second_install_replaces_the_first(previous_handlers, tmp_path):
    handler, _ = previous_handlers
    first = install_signal_dump(file=str(tmp_path / "1.txt"))
    second = install_signal_dump(signal.SIGUSR2, file=str(tmp_path / "2.txt"), fallback=None)
    assert installed_signal_dump() is second
    assert signal.getsignal(signal.SIGUSR1) is handler  # first's restored
    signal.raise_signal(signal.SIGUSR2)
    assert (first.dumps, second.dumps) == (0, 1)
    second.uninstall()
    assert signal.getsignal(signal.SIGUSR2) is handler


def test_only_the_main_thread_may_install(threads):
    errors: list[BaseException] = []

    def attempt() -> None:
        try:
            install_signal_dump()
        except ValueError as exc:
            errors.append(exc)

    threads.start(attempt, name="not-main").join(JOIN_TIMEOUT)
    [error] = errors
    assert "must be called from the main thread" in str(error)
    assert installed_signal_dump() is None


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"signum": "USR1"}, "signum must be a signal number, not 'USR1'"),
        ({"signum": 10_000}, "signum 10000 is not a signal of this platform"),
        ({"signum": signal.SIGKILL}, "SIGKILL cannot be caught"),
        ({"fallback": signal.SIGUSR1}, "fallback must be another signal than SIGUSR1"),
        ({"format": "xml"}, "unknown dump format 'xml'"),
    ],
)
def test_bad_arguments_are_one_line_errors(kwargs, message):
    with pytest.raises(ValueError, match=message) as info:
        install_signal_dump(**kwargs)
    assert "\n" not in str(info.value)
    assert installed_signal_dump() is None


def test_a_bad_path_fails_at_install_and_leaves_the_signal_alone(previous_handlers, tmp_path):
    handler, _ = previous_handlers
    for fallback in (signal.SIGUSR2, None):
        with pytest.raises(OSError):
            install_signal_dump(file=str(tmp_path / "no" / "dir.txt"), fallback=fallback)
        assert signal.getsignal(signal.SIGUSR1) is handler
