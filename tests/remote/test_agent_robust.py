"""The agent under trouble: high descriptor numbers, no descriptors left, silent clients, and
hostile or unusable directories (it then starts elsewhere, or says why in one line)."""

from __future__ import annotations

import os
import shutil
import socket
import stat
import tempfile
import time
from pathlib import Path

import pytest

from snarl.remote import AgentError, fetch, start_agent, stop_agent
from snarl.remote import agent as agent_mod

from .conftest import TARGETS


def _ask(proc, question: str, timeout: float = 20) -> str:
    assert proc.popen.stdin is not None
    proc.popen.stdin.write(question + "\n")
    proc.popen.stdin.flush()
    return proc.readline(timeout=timeout)


def test_an_agent_socket_above_fd_1024_answers(spawn):
    target = spawn("fds.py", "--high")
    got = fetch(target.pid, method="agent", timeout=20)
    assert got.snapshot.pid == target.pid
    target.ping()


def test_no_spin_when_descriptors_run_out_and_service_after(spawn):
    target = spawn("fds.py", "--exhaust")
    path = agent_mod.agent_dir() / f"{target.pid}.sock"
    waiting = []
    for _ in range(3):  # pending connections the agent cannot accept (EMFILE)
        conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        conn.connect(os.fspath(path))
        conn.sendall(b"snarl-dump/1 locals=0\n")
        waiting.append(conn)
    try:
        used = [float(_ask(target, "cpu")) for _ in range(3)]
        assert min(used) < 0.3, f"CPU seconds per second of sleep: {used}"
        assert _ask(target, "free") == "freed"
        waiting[0].settimeout(20)
        answer = waiting[0].recv(64)  # accepted once descriptors are back
        assert answer.startswith(b"snarl-ok/1 ")
    finally:
        for conn in waiting:
            conn.close()
    assert fetch(target.pid, method="agent", timeout=20).snapshot.pid == target.pid


def test_a_silent_connection_holds_no_one_and_is_told_why():
    agent = start_agent()
    try:
        silent = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        silent.connect(os.fspath(agent.path))
        with silent:
            started = time.monotonic()
            got = fetch(os.getpid(), method="agent", timeout=20)
            took = time.monotonic() - started
            assert got.method == "agent"
            assert took < agent_mod.REQUEST_TIMEOUT, f"the dump waited {took:.1f} s"
            silent.settimeout(20)
            told = silent.recv(200)
        assert told == b"snarl-error/1 no request within 2 s\n"
    finally:
        stop_agent()


@pytest.fixture
def short_tmp():
    """A directory with a short path (pytest's tmp_path is too long for a socket path)."""
    path = Path(tempfile.mkdtemp(prefix="sn"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_nothing_usable_is_one_line_agent_error(short_tmp, monkeypatch):
    hostile = short_tmp / "e\n\x1b[2J"
    hostile.mkdir()
    uid = os.geteuid()
    (hostile / f"snarl-{uid}").symlink_to(short_tmp)
    monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)
    monkeypatch.setattr(agent_mod.tempfile, "tempdir", str(hostile))
    monkeypatch.setattr(agent_mod, "_FALLBACK_BASE", str(hostile))

    def no_mkdtemp(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(agent_mod.tempfile, "mkdtemp", no_mkdtemp)
    with pytest.raises(AgentError) as info:
        start_agent()
    text = str(info.value)
    assert "\n" not in text and "\x1b" not in text
    assert "is not a directory (a symlink or a file)" in text
    assert "No space left on device" in text
    assert agent_mod._agent is None


def test_a_hostile_directory_is_passed_over(short_tmp, monkeypatch):
    tmp_path = short_tmp
    uid = os.geteuid()
    bad = tmp_path / f"snarl-{uid}"
    bad.mkdir()
    bad.chmod(0o777)
    monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)
    monkeypatch.setattr(agent_mod.tempfile, "tempdir", str(tmp_path))
    monkeypatch.setattr(agent_mod, "_FALLBACK_BASE", str(tmp_path))
    agent = start_agent()
    try:
        assert agent.directory.parent == tmp_path
        assert agent.directory.name.startswith(f"snarl-{uid}-")
        st = os.lstat(agent.directory)
        assert st.st_uid == uid and stat.S_IMODE(st.st_mode) == 0o700
        assert fetch(os.getpid(), method="agent", timeout=20).method == "agent"
    finally:
        stop_agent()
    assert not agent.directory.exists()  # its own private directory goes with it
    assert stat.S_IMODE(bad.stat().st_mode) == 0o777  # the hostile one is left alone


@pytest.mark.parametrize("case", ["hostile", "long", "both"])
def test_another_users_agent_starts_despite_its_directories(as_other, case):
    user = as_other
    src = Path(agent_mod.__file__).resolve().parents[2]
    if any(not os.stat(p).st_mode & 0o005 for p in [src, *src.parents]):
        pytest.skip(f"the second user may not read snarl's source in {src}")
    if any(not os.stat(p).st_mode & 0o005 for p in [TARGETS, *TARGETS.parents]):
        pytest.skip(f"the second user may not read {TARGETS}")
    tmp = user.home / f"tmp-{case}"
    if case == "hostile":
        tmp.mkdir(mode=0o755)
        user.own(tmp)
        (tmp / f"snarl-{user.uid}").symlink_to("/etc")
    else:  # a TMPDIR too long for a socket path
        tmp = tmp / ("d" * 60) / ("e" * 60)
        tmp.mkdir(mode=0o755, parents=True)
        for p in (tmp, tmp.parent, tmp.parent.parent):
            user.own(p)
    usual = Path(f"/tmp/snarl-{user.uid}")  # this uid is the test's own: no one else uses it
    if case in ("hostile", "both"):
        usual.mkdir(mode=0o755)  # pre-created by someone else (root here)
    try:
        target = user.spawn(
            TARGETS / "parked.py",
            cwd=user.home,
            env={"PYTHONPATH": str(src), "TMPDIR": str(tmp)},
            args=["--agent"],
        )
        got = fetch(target.pid, method="agent", timeout=20)
        assert got.snapshot.pid == target.pid
        [where] = [n for n in got.notes if n.startswith("the agent answered at ")]
        path = Path(where.removeprefix("the agent answered at "))
        expected = {"hostile": tmp, "long": Path("/tmp"), "both": Path("/tmp")}[case]
        assert path.parent.parent == expected
        if case == "long":
            assert path.parent == usual
        else:
            assert path.parent.name.startswith(f"snarl-{user.uid}-")
        assert os.lstat(path.parent).st_uid == user.uid
        target.ping()
    finally:
        user.stop_all()  # killed: its private directories stay behind, so remove them here
        for leftover_dir in Path("/tmp").glob(f"snarl-{user.uid}-*"):
            if leftover_dir.lstat().st_uid == user.uid:
                shutil.rmtree(leftover_dir, ignore_errors=True)
        if usual.is_dir():
            for leftover in usual.iterdir():
                leftover.unlink()
            usual.rmdir()
