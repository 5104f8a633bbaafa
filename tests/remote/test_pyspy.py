"""The py-spy fallback: its real JSON output read into a Snapshot, through a fake and a real
``py-spy``."""

from __future__ import annotations

import io
import json
import math
import os
import shutil
import stat
import sys
import textwrap

import pytest

from snarl.remote import fetch, main_dump
from snarl.remote.pyspy import CANNOT, from_pyspy, pyspy_holders_of_gil
from snarl.remote.target import Target

from .conftest import DATA


def stored(version: str) -> list[dict]:
    return json.loads((DATA / f"pyspy_dump_{version}.json").read_text(encoding="utf-8"))


def fake_target(data: list[dict], version: tuple[int, int]) -> Target:
    return Target(data[0]["pid"], 0, 0, "/opt/python/bin/python", version, "default", {})


@pytest.mark.parametrize(("version", "qualified"), [("311", True), ("310", False)])
def test_real_pyspy_output_becomes_a_snapshot(version, qualified):
    data = stored(version)
    snap = from_pyspy(data, fake_target(data, (3, int(version[1:]))), duration=0.002)
    assert [t.name for t in snap.threads] == ["MainThread", "holder", "waiter", "worker-1"]
    main = snap.threads[0]
    assert main.main and main.native_id == snap.pid
    assert all(t.state == "unknown" for t in snap.threads)  # py-spy saw none on a CPU
    assert all(t.wait is None and t.held == () and t.daemon is None for t in snap.threads)
    assert snap.deadlocks == () and not snap.tracked
    assert math.isnan(snap.switch_interval)
    assert snap.python == f"3.{version[1:]}"
    worker = snap.thread("worker-1")
    names = [f.function for f in worker.frames]
    if qualified:  # 3.11+ code objects carry qualified names
        assert names[:2] == ["Condition.wait", "Queue.get"]
    else:
        assert names[:2] == ["wait", "get"]
    assert worker.frames[2].function == "worker"
    assert worker.frames[2].filename == "/srv/app/locks_and_queue.py"
    assert worker.frames[2].lineno == 26
    assert dict(worker.frames[0].locals)["timeout"] == "None"  # py-spy's own repr
    assert worker.ident == next(t["thread_id"] for t in data if t["thread_name"] == "worker-1")
    assert pyspy_holders_of_gil(data) == []


def test_the_gil_holder_is_named():
    data = stored("311")
    data[1] = {**data[1], "owns_gil": True, "active": True}
    snap = from_pyspy(data, fake_target(data, (3, 11)))
    assert pyspy_holders_of_gil(data) == [f'"{data[1]["thread_name"]}"']
    assert snap.thread(data[1]["thread_name"]).state == "running"


FAKE_PYSPY = textwrap.dedent(
    """\
    #!{python}
    # A stand-in for py-spy: prints a stored real dump as if taken from the pid it is given.
    import json, sys
    args = sys.argv[1:]
    if {fail!r}:
        sys.stderr.write({fail!r} + "\\n")
        sys.exit(1)
    assert args[:2] == ["dump", "--pid"] and "--json" in args, args
    pid = int(args[2])
    data = json.load(open({data!r}))
    old = data[0]["pid"]
    for t in data:
        t["pid"] = pid
        if t["os_thread_id"] == old:
            t["os_thread_id"] = pid
    print(json.dumps(data))
    """
)


def install_fake(tmp_path, monkeypatch, fail: str = "") -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "py-spy"
    fake.write_text(
        FAKE_PYSPY.format(python=sys.executable, data=str(DATA / "pyspy_dump_311.json"), fail=fail)
    )
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", str(bin_dir))  # no gdb, no real py-spy: only the fake


def test_fallback_to_py_spy_when_no_agent_and_no_gdb(spawn, tmp_path, monkeypatch):
    target = spawn("plain.py")
    install_fake(tmp_path, monkeypatch)
    got = fetch(target.pid)
    assert got.method == "py-spy" and got.cannot == CANNOT
    assert got.snapshot.threads[0].main and got.snapshot.threads[0].native_id == target.pid
    out, err = io.StringIO(), io.StringIO()
    assert main_dump(str(target.pid), stdout=out, stderr=err) == 0
    text = out.getvalue()
    assert text.startswith(f"py-spy dump of pid {target.pid} · CPython ")
    assert "states, waits and lock owners unknown" in text.splitlines()[0]
    assert '"worker-1"' in text
    [note] = err.getvalue().splitlines()
    assert note.startswith(f"snarl dump: pid {target.pid} via py-spy (read from outside)")
    assert "cannot see: what each thread waits for" in note
    out = io.StringIO()
    assert main_dump(str(target.pid), json=True, stdout=out, stderr=io.StringIO()) == 0
    data = json.loads(out.getvalue())  # strict JSON: the unknown switch interval is null
    assert data["switch_interval"] is None and data["schema"] == 1


def test_py_spy_permission_error_is_exit_code_6(spawn, tmp_path, monkeypatch):
    target = spawn("plain.py")
    install_fake(tmp_path, monkeypatch, fail="Permission Denied: Try running again with sudo")
    err = io.StringIO()
    assert main_dump(str(target.pid), method="py-spy", stdout=io.StringIO(), stderr=err) == 6
    [line] = err.getvalue().splitlines()
    assert line.startswith(f"snarl dump: error: py-spy may not read process {target.pid}")


def test_no_method_at_all_is_exit_code_9(spawn, tmp_path, monkeypatch):
    target = spawn("plain.py")
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    err = io.StringIO()
    assert main_dump(str(target.pid), stdout=io.StringIO(), stderr=err) == 9
    [line] = err.getvalue().splitlines()
    assert line.startswith(f"snarl dump: error: nothing could reach process {target.pid}: ")
    assert "agent: no agent socket" in line
    assert "gdb: gdb is not installed" in line
    assert "py-spy: py-spy is not installed" in line
    assert "snarl.install(agent=True)" in line and "pip install py-spy" in line


@pytest.mark.skipif(shutil.which("py-spy") is None, reason="py-spy is not on PATH")
def test_real_py_spy(spawn):
    target = spawn("parked.py")
    got = fetch(target.pid, method="py-spy", timeout=20)
    assert got.method == "py-spy"
    names = [t.name for t in got.snapshot.threads]
    assert names[0] == "MainThread"
    assert {"idle-0", "idle-1", "idle-2", "queue-worker", "sleeper"} <= set(names)
    sleeper = got.snapshot.thread("sleeper")
    assert sleeper.frames[0].function == "sleeper"
    assert sleeper.frames[0].source == "time.sleep(60)"  # read as the process sees its file
    target.ping()
    assert os.path.exists(f"/proc/{target.pid}")
