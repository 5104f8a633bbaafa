"""Agent mode: the target's own snarl answers over a private Unix socket."""

from __future__ import annotations

import io
import json
import os
import socket
import stat
import struct
import tempfile
from pathlib import Path

import pytest

from snarl.remote import AgentError, NoMethod, agentdir, fetch, main_dump, start_agent, stop_agent
from snarl.remote import agent as agent_mod


def agent_socket(pid: int) -> Path:
    """Where a target started by these tests (same user, same environment) listens."""
    return agent_mod.agent_dir() / f"{pid}.sock"


def raw_request(path: Path, payload: bytes, *, shut: bool = True) -> bytes:
    """Send ``payload`` to the agent at ``path`` and return everything it answers."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
        conn.settimeout(10)
        conn.connect(os.fspath(path))
        try:
            conn.sendall(payload)
            if shut:
                conn.shutdown(socket.SHUT_WR)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the agent stopped reading (a request too long): its answer is still queued
        chunks = []
        while True:
            try:
                chunk = conn.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            chunks.append(chunk)
    return b"".join(chunks)


def test_agent_dump_of_a_tracked_deadlock_names_the_cycle_and_the_owners(spawn):
    target = spawn("abba.py", "--agent", "--tracked", "--bare")
    got = fetch(target.pid, method="agent")
    assert got.method == "agent"
    assert got.cannot == ()  # tracked: owners and wait times are known
    snap = got.snapshot
    assert snap.pid == target.pid and snap.tracked
    [cycle] = snap.deadlocks
    assert {s.thread_name for s in cycle.steps} == {"worker-AB", "worker-BA"}
    assert all(s.holder.basis == "tracked" for s in cycle.steps)
    assert cycle.certain
    ab, ba = snap.thread("worker-AB"), snap.thread("worker-BA")
    assert ab.wait is not None and ab.wait.kind == "lock"
    assert [h.name for h in ab.wait.holders] == ["worker-BA"]
    assert [h.name for h in ba.wait.holders] == ["worker-AB"]
    assert [h.object.name for h in ab.held] == ["lock_a"]
    assert [h.object.name for h in ba.held] == ["lock_b"]
    assert "snarl-agent" not in [t.name for t in snap.threads]  # the answering thread is left out
    target.ping()  # still running


def test_agent_text_and_json_output_and_the_note(spawn):
    target = spawn("abba.py", "--agent")
    out, err = io.StringIO(), io.StringIO()
    assert main_dump(str(target.pid), stdout=out, stderr=err) == 0
    text = out.getvalue()
    assert text.startswith(f"snarl dump of pid {target.pid} ")
    assert "Found 1 deadlock:" in text
    assert '"worker-AB" waits for Lock `lock_b`' in text
    [note] = err.getvalue().splitlines()
    assert note.startswith(f"snarl dump: pid {target.pid} via snarl's agent in the process")
    assert "bare acquire()" in note  # untracked: what it cannot see is said

    out, err = io.StringIO(), io.StringIO()
    assert main_dump(str(target.pid), json=True, stdout=out, stderr=err) == 0
    data = json.loads(out.getvalue())
    assert data["schema"] == 1 and data["pid"] == target.pid
    [cycle] = data["deadlocks"]
    assert {s["holder"]["basis"] for s in cycle["steps"]} == {"with-block"}


def test_socket_is_0600_in_a_0700_directory_of_the_user(spawn):
    target = spawn("parked.py", "--agent")
    path = agent_socket(target.pid)
    st = os.lstat(path)
    assert stat.S_ISSOCK(st.st_mode)
    assert stat.S_IMODE(st.st_mode) == 0o600
    assert st.st_uid == os.geteuid()
    dst = os.lstat(path.parent)
    assert stat.S_ISDIR(dst.st_mode) and stat.S_IMODE(dst.st_mode) == 0o700
    assert dst.st_uid == os.geteuid()
    # No temporary name is left beside it.
    assert [n for n in os.listdir(path.parent) if n.startswith(f".{target.pid}.")] == []


def test_wrong_and_oversized_requests_are_refused_and_the_agent_keeps_serving(spawn):
    target = spawn("parked.py", "--agent")
    path = agent_socket(target.pid)
    reply = raw_request(path, b"import os; os.system('id')\n")
    assert reply == b"snarl-error/1 unknown request\n"
    reply = raw_request(path, b"snarl-dump/1 locals=0 extra\n")
    assert reply == b"snarl-error/1 unknown request\n"
    reply = raw_request(path, b"x" * 100_000, shut=False)
    assert reply == b"snarl-error/1 request longer than 64 bytes\n"
    reply = raw_request(path, b"")  # connect and say nothing
    assert reply == b"snarl-error/1 unknown request\n"
    good = raw_request(path, b"snarl-dump/1 locals=0\n")
    header, _, body = good.partition(b"\n")
    assert header == b"snarl-ok/1 %d" % len(body)
    names = {t["name"] for t in json.loads(body)["threads"]}
    assert {"idle-0", "queue-worker", "sleeper", "MainThread"} <= names
    assert fetch(target.pid, method="agent").snapshot.thread("sleeper").state == "sleeping"


def test_locals_are_sent_only_when_asked(spawn):
    target = spawn("parked.py", "--agent")
    plain = fetch(target.pid, method="agent").snapshot
    assert all(f.locals is None for t in plain.threads for f in t.frames)
    rich = fetch(target.pid, method="agent", locals=True).snapshot
    frames = rich.thread("sleeper").frames
    assert frames[0].function == "sleeper" and frames[0].locals == ()
    run = next(f for f in frames if f.function.endswith("run"))
    assert "self" in dict(run.locals)


def test_socket_is_removed_when_the_program_exits(spawn):
    target = spawn("parked.py", "--agent")
    path = agent_socket(target.pid)
    assert path.exists()
    assert target.close_stdin() == 0
    assert not path.exists()


def test_forked_child_has_no_agent_and_leaves_the_parents_socket(spawn):
    target = spawn("parked.py", "--agent", "--fork", ready=None)
    child_line = target.readline()
    assert target.readline() == "ready"  # printed after the child exited
    child_pid = int(child_line.split()[1])
    assert child_line == f"child {child_pid} agent=None"
    assert not agent_socket(child_pid).exists()
    assert agent_socket(target.pid).exists()  # the child's exit did not remove it
    got = fetch(target.pid, method="agent")
    assert got.snapshot.pid == target.pid


def test_a_stale_socket_is_not_taken_for_an_agent(spawn):
    target = spawn("parked.py")  # no agent
    path = agent_socket(target.pid)
    directory = agent_mod.agent_dir()
    agentdir._ensure_dir(directory, os.geteuid())
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as dead:
        dead.bind(os.fspath(path))  # a socket file no process listens on
    try:
        with pytest.raises(NoMethod, match="stale sockets, no one listening"):
            fetch(target.pid, method="agent")
    finally:
        path.unlink()


def test_in_process_start_is_idempotent_and_stop_removes_the_socket():
    agent = start_agent()
    try:
        assert start_agent() is agent
        assert agent.running and agent.thread.name == "snarl-agent"
        assert agent.thread.daemon
        assert agent.path.exists()
        reply = raw_request(agent.path, b"snarl-dump/1 locals=0\n")
        assert reply.startswith(b"snarl-ok/1 ")
    finally:
        stop_agent()
    assert not agent.running and not agent.path.exists()
    assert not agent.thread.is_alive()
    stop_agent()  # a second stop is harmless


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to connect as another uid")
def test_another_uid_is_refused_by_so_peercred(spawn):
    target = spawn("parked.py", "--agent")
    path = agent_socket(target.pid)
    # Open the directory and socket to everyone, so that only the SO_PEERCRED check stands in
    # the way (defence in depth: the modes alone already keep other users out).
    dir_mode = stat.S_IMODE(os.lstat(path.parent).st_mode)
    os.chmod(path.parent, 0o711)
    os.chmod(path, 0o666)
    try:
        read, write = os.pipe()
        child = os.fork()
        if child == 0:  # the child: become nobody, connect, report what the agent said
            try:
                os.close(read)
                os.setgid(65534)
                os.setuid(65534)
                os.write(write, raw_request(path, b"snarl-dump/1 locals=0\n")[:200])
            finally:
                os._exit(0)
        os.close(write)
        with os.fdopen(read, "rb") as f:
            answer = f.read()
        os.waitpid(child, 0)
    finally:
        os.chmod(path.parent, dir_mode)
    assert answer == b"snarl-error/1 uid 65534 may not dump this process (uid %d)\n" % os.geteuid()
    assert fetch(target.pid, method="agent").method == "agent"  # still serving


def test_peer_credentials_read_the_connecting_process():
    left, right = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    with left, right:
        assert agent_mod.peer_credentials(left) == (os.getpid(), os.geteuid(), os.getegid())
    assert struct.calcsize("3i") == 12


# ---- the directory ------------------------------------------------------------------------


def test_agent_dir_prefers_a_private_xdg_runtime_dir(tmp_path):
    runtime = tmp_path / "run"
    runtime.mkdir(mode=0o700)
    uid = os.geteuid()
    assert agent_mod.agent_dir(uid, {"XDG_RUNTIME_DIR": str(runtime)}) == runtime / "snarl"
    runtime.chmod(0o755)  # others may enter: not used
    fallback = Path(tempfile.gettempdir()) / f"snarl-{uid}"
    assert agent_mod.agent_dir(uid, {"XDG_RUNTIME_DIR": str(runtime)}) == fallback
    assert agent_mod.agent_dir(uid, {"XDG_RUNTIME_DIR": "relative/dir"}) == fallback
    assert agent_mod.agent_dir(uid, {}) == fallback
    # The client looks wherever the target could have put it.
    dirs = agent_mod.candidate_dirs(uid, {"XDG_RUNTIME_DIR": str(runtime), "TMPDIR": "/x"})
    assert dirs[:2] == [runtime / "snarl", Path(f"/x/snarl-{uid}")]
    assert fallback in dirs


def test_an_unsafe_directory_is_refused(tmp_path):
    uid = os.geteuid()
    made = tmp_path / "fresh"
    agentdir._ensure_dir(made, uid)
    assert stat.S_IMODE(made.stat().st_mode) == 0o700
    agentdir._ensure_dir(made, uid)  # an existing private one is fine

    open_dir = tmp_path / "open"
    open_dir.mkdir()
    open_dir.chmod(0o755)
    with pytest.raises(AgentError, match=r"has mode 0755, not 0700"):
        agentdir._ensure_dir(open_dir, uid)

    link = tmp_path / "link"
    link.symlink_to(made)
    with pytest.raises(AgentError, match="not a directory"):
        agentdir._ensure_dir(link, uid)

    with pytest.raises(AgentError, match=f"belongs to uid {uid}, not {uid + 1}"):
        agentdir._ensure_dir(made, uid + 1)


def _system_python() -> str | None:
    """A supported interpreter outside root's home, that another user may run."""
    for minor in (13, 12, 11, 10):
        path = f"/usr/bin/python3.{minor}"
        if os.path.isfile(path) and os.stat(path).st_mode & 0o001:
            return path
    return None


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to run a target as another user")
def test_root_may_dump_another_users_agent(spawn):
    python = _system_python()
    src = Path(agent_mod.__file__).resolve().parents[2]
    if python is None:
        pytest.skip("no system Python 3.10-3.13 that user nobody may run")
    if any(not os.stat(p).st_mode & 0o005 for p in [src, *src.parents]):
        pytest.skip(f"user nobody may not read snarl's source in {src}")
    env = {"PATH": os.defpath, "PYTHONPATH": str(src), "HOME": "/"}
    target = spawn("parked.py", "--agent", "--threads", "1", python=python, env=env, user=65534)
    got = fetch(target.pid, method="agent")
    assert got.snapshot.pid == target.pid
    assert [t.name for t in got.snapshot.threads][:2] == ["MainThread", "idle-0"]
    path = Path("/tmp/snarl-65534") / f"{target.pid}.sock"  # no TMPDIR in its environment
    assert os.lstat(path).st_uid == 65534
