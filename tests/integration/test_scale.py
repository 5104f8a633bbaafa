"""Big processes: 5,000 threads, and one stack 1,000 frames deep."""

from __future__ import annotations

import json
import sys
import threading

import pytest

import snarl

from ..helpers import blocked, line_of

HERE = __file__
MANY = 5000
DEPTH = 1000


def line(marker: str) -> int:
    return line_of(HERE, f"# @{marker}")


@pytest.fixture
def small_stacks():
    previous = threading.stack_size(256 * 1024)
    try:
        yield
    finally:
        threading.stack_size(previous)


def park(gate: threading.Event) -> None:
    gate.wait()  # @park


def test_five_thousand_threads(small_stacks, threads):
    gate = threading.Event()
    threads.on_teardown(gate.set)
    workers = [threads.start(park, gate, name=f"many-{i}") for i in range(MANY)]
    snap = blocked(*workers)

    mine = [t for t in snap.threads if t.name is not None and t.name.startswith("many-")]
    assert len(mine) == MANY
    assert len({t.ident for t in mine}) == MANY
    assert {t.name for t in mine} == {w.name for w in workers}
    assert {(t.state, t.wait.kind, t.wait.lineno, t.wait.object.id) for t in mine} == {
        ("waiting", "event", line("park"), id(gate))
    }
    assert [t.name for t in mine] == [w.name for w in workers]  # in start order
    assert snap.deadlocks == ()

    text = snarl.format_dump(snap, "text")
    assert f"{MANY} threads WAITING" in text
    assert f"· {len(snap.threads)} threads" in text.splitlines()[0]
    ungrouped = snarl.format_dump(snap, "text", group=False)
    assert sum(line.startswith('"many-') for line in ungrouped.splitlines()) == MANY
    data = json.loads(snarl.format_dump(snap, "json"))
    assert sum(1 for t in data["threads"] if (t["name"] or "").startswith("many-")) == MANY


def recurse(depth: int, gate: threading.Event) -> None:
    if depth > 1:
        recurse(depth - 1, gate)  # @recurse
    else:
        gate.wait()  # @deepest


@pytest.fixture
def deep_recursion_allowed():
    previous = sys.getrecursionlimit()
    sys.setrecursionlimit(max(previous, DEPTH + 500))
    try:
        yield
    finally:
        sys.setrecursionlimit(previous)


def test_stack_a_thousand_frames_deep(deep_recursion_allowed, threads):
    gate = threading.Event()
    threads.on_teardown(gate.set)
    t = threads.start(recurse, DEPTH, gate, name="deep")
    snap = blocked(t)
    info = snap.thread("deep")
    calls = [f for f in info.frames if f.function == "recurse"]
    assert len(calls) == DEPTH
    first = info.frames.index(calls[0])
    assert info.frames[first : first + DEPTH] == tuple(calls)  # one unbroken run
    assert {f.function for f in info.frames[:first]} <= {"wait", "Event.wait", "Condition.wait"}
    assert calls[0].lineno == line("deepest")
    assert {f.lineno for f in calls[1:]} == {line("recurse")}
    assert info.frames[-1].function.endswith("_bootstrap")
    assert (info.state, info.wait.kind, info.wait.lineno) == ("waiting", "event", line("deepest"))

    text = snarl.format_dump(snap, "text")
    assert sum(f"test_scale.py:{line('recurse')}" in row for row in text.splitlines()) == DEPTH - 1
    again = snarl.Snapshot.from_dict(json.loads(snarl.format_dump(snap, "json")))
    assert len(again.thread("deep").frames) == len(info.frames)
