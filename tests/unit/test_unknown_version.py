"""A CPython whose bytecode snarl does not know (3.14 and later, untested here) gets no fact
read from bytecode: with-blocks and call sites are unknown, the dump says so in one line, and
nothing crashes or claims what it could not read.  The version is faked."""

from __future__ import annotations

import io
import json
import threading

import snarl
from snarl.threaddump import bytecode

from ..helpers import JOIN_TIMEOUT


def _blocked_pair():
    lock = threading.Lock()
    holding, release = threading.Event(), threading.Event()

    def holder() -> None:
        with lock:
            holding.set()
            release.wait(JOIN_TIMEOUT)

    def waiter() -> None:
        lock.acquire()
        lock.release()

    h = threading.Thread(target=holder, name="holder")
    h.start()
    assert holding.wait(JOIN_TIMEOUT)
    w = threading.Thread(target=waiter, name="waiter")
    w.start()
    snarl.wait_until_blocked(w)
    return h, w, release


def test_an_unknown_version_reads_no_bytecode_and_says_so(monkeypatch):
    h, w, release = _blocked_pair()  # (blocked, as a known version can tell)
    monkeypatch.setattr(bytecode, "_version", [(3, 99)])
    assert not bytecode.known_bytecode()
    try:
        snap = snarl.snapshot()
        text, out = io.StringIO(), io.StringIO()
        snarl.dump(file=text)
        snarl.dump(file=out, format="json")
    finally:
        release.set()
        h.join(JOIN_TIMEOUT)
        w.join(JOIN_TIMEOUT)
    [note] = snap.notes
    assert "CPython 3.99" in note and "unknown" in note
    by_name = {t.name: t for t in snap.threads}
    assert by_name["holder"].held == ()  # a with-block is bytecode: not claimed
    wait = by_name["waiter"].wait
    assert wait is None or not wait.holders  # no holder claimed either
    assert not snap.deadlocks
    assert "note: bytecode not read: CPython 3.99" in text.getvalue()
    assert json.loads(out.getvalue())["notes"] == [note]


def test_a_known_version_reads_the_same_program(monkeypatch):
    h, w, release = _blocked_pair()
    try:
        snap = snarl.snapshot()
    finally:
        release.set()
        h.join(JOIN_TIMEOUT)
        w.join(JOIN_TIMEOUT)
    assert snap.notes == ()
    by_name = {t.name: t for t in snap.threads}
    assert [held.object.name for held in by_name["holder"].held] == ["lock"]
    assert by_name["waiter"].wait.kind == "lock"


def test_an_exploration_on_an_unknown_version_says_what_it_may_miss(monkeypatch):
    monkeypatch.setattr(bytecode, "_version", [(3, 99)])

    def test() -> None:
        threads = [threading.Thread(target=lambda: None) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

    result = snarl.explore(test, strategy="dfs", schedules=50, shrink=False)
    assert result.failure is None
    [caveat] = [u for u in result.uncontrolled if "CPython 3.99" in u]
    assert "no switch point" in caveat
    assert "covered" not in result.statistics()  # no claim over a space it may not have seen
    assert "CPython 3.99" in str(result)
    sync = snarl.explore(test, granularity="sync", schedules=5, shrink=False)
    # sync points are snarl's own calls: no bytecode involved
    assert not [u for u in sync.uncontrolled if "CPython 3.99" in u]
