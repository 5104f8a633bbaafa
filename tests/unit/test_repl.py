"""In the REPL: a snapshot echoes one line, prints as the dump, and finds a thread by name,
ident or Thread; install() says what it set up; enumerated arguments are Literal types."""

from __future__ import annotations

import threading
import typing

import pytest

import snarl
from snarl.threaddump import api

from ..helpers import JOIN_TIMEOUT, blocked


def test_a_snapshot_echoes_one_short_line_and_prints_as_the_dump(threads):
    gate = threading.Event()
    t = threads.start(gate.wait, JOIN_TIMEOUT, name="parked")
    threads.on_teardown(gate.set)
    snap = blocked(t)
    text = repr(snap)
    assert "\n" not in text and len(text) < 200
    assert text.startswith(f"<Snapshot of pid {snap.pid}: {len(snap.threads)} threads, ")
    assert str(snap) == snarl.format_dump(snap)


def test_a_thread_is_found_by_name_ident_or_thread(threads):
    gate = threading.Event()
    t = threads.start(gate.wait, JOIN_TIMEOUT, name="parked")
    threads.on_teardown(gate.set)
    snap = blocked(t)
    by_name = snap.thread("parked")
    assert snap.thread(t.ident) is by_name
    assert snap.thread(t) is by_name
    never = threading.Thread(target=int)
    for missing in ("nobody", 1, never):
        with pytest.raises(KeyError):
            snap.thread(missing)


def test_install_echoes_what_it_set_up():
    with snarl.install() as diagnosis:
        text = repr(diagnosis)
    assert text.startswith("<snarl.Diagnosis: tracking")
    assert "object at" not in text


def test_enumerated_arguments_are_literal_types():
    formats = typing.Literal["text", "json"]
    assert typing.get_type_hints(api.dump)["format"] == formats
    assert typing.get_type_hints(api.format_dump)["format"] == formats
    kinds = typing.get_type_hints(api.wait_until_blocked)["kinds"]
    assert "lock" in typing.get_args(typing.get_args(typing.get_args(kinds)[0])[0])


def test_explore_and_watch_take_literal_names():
    from snarl.exploration import decorator, runner
    from snarl.hangs import watchdog

    hints = typing.get_type_hints(runner.explore)
    assert "pct" in typing.get_args(typing.get_args(hints["strategy"])[0])
    assert "shared" in typing.get_args(hints["granularity"])
    assert typing.get_type_hints(decorator.interleavings)["granularity"] == hints["granularity"]
    assert typing.get_type_hints(watchdog.watch)["format"] == typing.Literal["text", "json"]
