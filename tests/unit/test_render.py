"""Rendering a hand-made snapshot: the facts each line states, not its exact wording."""

from __future__ import annotations

import dataclasses
import json

import snarl
from snarl import FrameInfo, ThreadInfo, WaitInfo

from .sample_snapshot import sample


def text_of(snap, group: bool = True) -> str:
    return snarl.format_dump(snap, "text", group=group)


def section(text: str, start: str) -> str:
    [found] = [block for block in text.split("\n\n") if block.startswith(start)]
    return found


def test_header_states_the_process_facts():
    first = text_of(sample()).splitlines()[0]
    for fact in ("pid 5000", "CPython 3.11.7", "6 threads", "untracked", "GIL on", "5 ms"):
        assert fact in first


def test_deadlock_report():
    text = text_of(sample())
    report = section(text.split("\n", 2)[2], "Found 1 deadlock")
    rows = report.splitlines()[1:]
    [ab] = [r for r in rows if r.strip().startswith('"worker-AB"')]
    assert "Lock `lock_b`" in ab and "work.py:23" in ab and '"worker-BA"' in ab
    assert "work.py:28" in ab  # where the holder took it
    [ba] = [r for r in rows if r.strip().startswith('"worker-BA"')]
    assert "Lock `lock_a`" in ba and "work.py:30" in ba and '"worker-AB"' in ba
    assert "with-block" in report  # the inference is stated


def test_thread_sections():
    text = text_of(sample())
    ab = section(text, '"worker-AB"')
    assert ab.splitlines()[0].endswith("WAITING")
    assert "ident=0x65" in ab and "native=5001" in ab and "daemon" in ab
    assert "holds Lock `lock_a`" in ab
    raw = section(text, "<_thread 0x67>")
    assert "_thread.start_new_thread" in raw.splitlines()[0]
    assert raw.splitlines()[0].endswith("SLEEPING")
    assert "time.sleep" in raw
    dummy = section(text, '"Dummy-1"')
    assert "np.dot" in dummy and dummy.splitlines()[0].endswith("RUNNING")
    main = section(text, '"MainThread"')
    assert "main" in main.splitlines()[0].split() and "(current thread)" in main
    assert "RLock `self._state_lock`" in main
    assert "x = 1" in main and "name = 'm'" in main  # locals, when the snapshot has them
    ghost = section(text, '"ghost"')
    assert ghost.splitlines()[0].endswith("UNKNOWN")


def parked_pool(n: int) -> snarl.Snapshot:
    frames = (FrameInfo("/app/pool.py", 19, "work", "item = jobs.get()"),)
    wait = WaitInfo("queue-get", None, "jobs.get", "/app/pool.py", 19, "work", "jobs.get()")
    workers = tuple(
        ThreadInfo(f"pool-{i}", 1000 + i, 2000 + i, True, False, False, "threading", "idle",
                   wait, frames)
        for i in range(1, n + 1)
    )  # fmt: skip
    base = sample()
    return dataclasses.replace(base, threads=base.threads[:1] + workers, deadlocks=())


def test_identical_threads_are_one_group():
    text = text_of(parked_pool(10))
    [group] = [b for b in text.split("\n\n") if b.startswith("10 threads")]
    header = group.splitlines()[0]
    assert header.startswith("10 threads IDLE")
    assert "jobs.get" in header and "pool.py:19" in header
    for i in range(1, 9):
        assert f'"pool-{i}"' in header
    assert '"pool-10"' in header and "2 more" in header
    assert '"pool-9"' not in header
    assert "Found" not in text


def test_group_false_shows_every_thread():
    text = text_of(parked_pool(10), group=False)
    headers = [b.splitlines()[0] for b in text.split("\n\n")[1:]]
    assert sum(h.startswith('"pool-') for h in headers) == 10
    assert all(h.endswith("IDLE") for h in headers if h.startswith('"pool-'))
    assert not [h for h in headers if h.startswith("10 threads")]


def test_json_rendering_is_the_dict_form():
    snap = sample()
    assert json.loads(snarl.format_dump(snap, "json")) == snap.to_dict()
