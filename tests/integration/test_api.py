"""The public entry points: dump, format_dump, wait_until_blocked, Snapshot lookups."""

from __future__ import annotations

import io
import json
import os
import threading

import pytest

import snarl

from ..helpers import JOIN_TIMEOUT, blocked


def test_dump_rejects_an_unknown_format_naming_the_choices():
    out = io.StringIO()
    with pytest.raises(ValueError, match="xml") as raised:
        snarl.dump(out, format="xml")
    assert "text" in str(raised.value) and "json" in str(raised.value)
    assert out.getvalue() == ""  # nothing half-written


def test_format_dump_rejects_an_unknown_format():
    with pytest.raises(ValueError, match="yaml") as raised:
        snarl.format_dump(snarl.snapshot(), "yaml")
    assert "text" in str(raised.value) and "json" in str(raised.value)


def test_dump_text_to_a_file_returns_the_snapshot():
    out = io.StringIO()
    snap = snarl.dump(out)
    text = out.getvalue()
    assert isinstance(snap, snarl.Snapshot)
    assert text.startswith(f"snarl dump of pid {os.getpid()} ")
    assert text == snarl.format_dump(snap, "text")
    assert '"MainThread"' in text


def test_dump_json_to_a_file():
    out = io.StringIO()
    snap = snarl.dump(out, format="json")
    data = json.loads(out.getvalue())
    assert data["schema"] == 1
    assert data["pid"] == os.getpid()
    assert snarl.Snapshot.from_dict(data) == snap


def test_dump_defaults_to_standard_error(capfd):
    snarl.dump()
    captured = capfd.readouterr()
    assert captured.out == ""
    assert captured.err.startswith(f"snarl dump of pid {os.getpid()} ")


def test_dump_to_a_replaced_stderr_without_a_descriptor(monkeypatch):
    fake = io.StringIO()
    monkeypatch.setattr("sys.stderr", fake)
    snarl.dump()
    assert fake.getvalue().startswith(f"snarl dump of pid {os.getpid()} ")


def test_dump_group_false_lists_every_thread(threads):
    gate = threading.Event()
    threads.on_teardown(gate.set)
    workers = [threads.start(gate.wait, name=f"same-{i}") for i in range(3)]
    blocked(*workers)
    grouped, single = io.StringIO(), io.StringIO()
    snarl.dump(grouped)
    snarl.dump(single, group=False)
    assert "3 threads WAITING" in grouped.getvalue()
    assert sum(line.startswith('"same-') for line in single.getvalue().splitlines()) == 3


def spin(flag: list) -> None:
    while not flag[0]:
        pass


def test_wait_until_blocked_times_out_on_a_running_thread(threads):
    flag = [False]
    threads.on_teardown(lambda: flag.__setitem__(0, True))
    t = threads.start(spin, flag, name="busy")
    with pytest.raises(TimeoutError) as raised:
        snarl.wait_until_blocked(t, timeout=0.2)
    assert "busy=running" in str(raised.value)


def test_wait_until_blocked_tells_apart_threads_with_one_name(threads):
    # Thread names need not be unique; the Thread objects given are still distinct threads.
    flag = [False]
    threads.on_teardown(lambda: flag.__setitem__(0, True))
    busy = threads.start(spin, flag, name="twin")
    parked = threads.start(threads.stop.wait, name="twin")
    with pytest.raises(TimeoutError):
        snarl.wait_until_blocked(busy, parked, timeout=0.3)


def test_dump_without_any_stderr(monkeypatch):
    monkeypatch.setattr("sys.stderr", None)  # pythonw, or a closed console
    assert isinstance(snarl.dump(), snarl.Snapshot)


def test_wait_until_blocked_names_a_missing_thread():
    with pytest.raises(TimeoutError) as raised:
        snarl.wait_until_blocked("no-such-thread", timeout=0.05)
    assert "no-such-thread=not found" in str(raised.value)


def test_wait_until_blocked_accepts_names(threads):
    t = threads.start(threads.stop.wait, name="by-name")
    snap = snarl.wait_until_blocked("by-name", timeout=JOIN_TIMEOUT)
    assert snap.thread("by-name").ident == t.ident
    assert snap.thread("by-name").state == "waiting"


def test_snapshot_lookup_and_container_protocol():
    snap = snarl.snapshot()
    assert len(snap) == len(snap.threads)
    assert list(snap) == list(snap.threads)
    assert snap.thread(threading.main_thread().name).main
    with pytest.raises(KeyError, match="nobody"):
        snap.thread("nobody")


def test_snapshot_process_facts():
    import platform
    import sys

    snap = snarl.snapshot()
    assert snap.pid == os.getpid()
    assert snap.python == platform.python_version()
    assert snap.implementation == platform.python_implementation()
    assert snap.switch_interval == sys.getswitchinterval()
    assert 0 <= snap.duration < 5
    assert snap.build.split("+")[0] in ("default", "free-threading")


def test_snapshot_is_untracked_until_tracked_primitives_are_used():
    # A fresh interpreter: this one's earlier tests leave tracked state behind (a lock held
    # by a thread that exited, on purpose).
    import subprocess
    import sys

    code = (
        "import snarl, snarl.sync\n"
        "print(snarl.snapshot().tracked)\n"
        "lock = snarl.sync.Lock(); lock.acquire()\n"
        "print(snarl.snapshot().tracked)\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["False", "True"]


def test_real_snapshot_round_trips_through_json(threads):
    lock = threading.Lock()
    ready = threading.Event()

    def hold() -> None:
        with lock:
            ready.set()
            threads.stop.wait()

    holder = threads.start(hold, name="holder")
    assert ready.wait(JOIN_TIMEOUT)

    def take() -> None:
        with lock:
            pass

    waiter = threads.start(take, name="waiter")
    snap = blocked(holder, waiter)
    assert snap.thread("holder").held
    for with_locals in (False, True):
        snap = snarl.snapshot(locals=with_locals)
        again = snarl.Snapshot.from_dict(json.loads(snarl.format_dump(snap, "json")))
        assert again == snap
        assert snarl.format_dump(again, "text") == snarl.format_dump(snap, "text")


def test_import_snarl_loads_only_what_install_needs_and_every_public_name_resolves():
    import subprocess
    import sys

    code = (
        "import sys, snarl\n"
        "heavy = [m for m in ('snarl.exploration.runner', 'snarl.timeline', 'snarl.hangs',\n"
        "                     'snarl.interval') if m in sys.modules]\n"
        "print(heavy)\n"
        "missing = [n for n in snarl.__all__ if getattr(snarl, n, None) is None]\n"
        "print(missing, set(snarl.__all__) <= set(dir(snarl)))\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == ["[]", "[] True"]
    with pytest.raises(AttributeError, match="no attribute 'nothing_here'"):
        snarl.nothing_here  # noqa: B018
