"""The client against a bad or hostile agent: capped replies, one deadline for the whole call,
one-line errors with their exit code, and escaped text.

The fake agent listens, in this test process, where the client looks for this process's own
agent: the peer-credential check (the answering pid is the target's) then holds.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from snarl import snapshot
from snarl.remote import agent as agent_mod
from snarl.remote import client as client_mod
from snarl.remote import main_dump, stop_agent

Serve = Callable[[socket.socket], None]


@pytest.fixture
def fake_agent() -> Iterator[Callable[[Serve], None]]:
    """``fake_agent(serve)``: answer the next connections with ``serve(conn)`` (a thread)."""
    stop_agent()
    directory = agent_mod.agent_dir()
    directory.mkdir(mode=0o700, exist_ok=True)
    path = directory / f"{os.getpid()}.sock"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(os.fspath(path))
    listener.listen(4)
    done = threading.Event()
    workers: list[threading.Thread] = []

    def start(serve: Serve) -> None:
        def loop() -> None:
            listener.settimeout(0.05)
            while not done.is_set():
                try:
                    conn, _ = listener.accept()
                except TimeoutError:
                    continue
                except OSError:
                    return
                with conn:
                    conn.settimeout(30)
                    try:
                        conn.recv(64)
                        serve(conn)
                    except OSError:
                        pass

        worker = threading.Thread(target=loop, daemon=True)
        workers.append(worker)
        worker.start()

    yield start
    done.set()
    for worker in workers:
        worker.join(10)
    listener.close()
    path.unlink(missing_ok=True)


def dump(*, timeout: float = 5.0, json_out: bool = False) -> tuple[int, str, str, float]:
    out, err = io.StringIO(), io.StringIO()
    started = time.monotonic()
    code = main_dump(
        str(os.getpid()), method="agent", timeout=timeout, json=json_out, stdout=out, stderr=err
    )
    return code, out.getvalue(), err.getvalue(), time.monotonic() - started


def one_line(err: str) -> str:
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


def test_a_huge_announced_length_is_refused_at_once(fake_agent):
    hold = threading.Event()

    def serve(conn: socket.socket) -> None:
        conn.sendall(b"snarl-ok/1 99999999999\n" + b"x" * 65536)
        hold.wait(30)

    fake_agent(serve)
    try:
        code, out, err, took = dump(timeout=20)
    finally:
        hold.set()
    assert code == 10 and out == ""
    assert "more than 256 MiB" in one_line(err)
    assert took < 10


def test_the_timeout_bounds_the_whole_call_against_a_trickle(fake_agent):
    stop = threading.Event()

    def serve(conn: socket.socket) -> None:
        conn.sendall(b"snarl-ok/1 100000\n")
        while not stop.wait(0.1):
            conn.sendall(b" ")

    fake_agent(serve)
    try:
        code, _, err, took = dump(timeout=1.5)
    finally:
        stop.set()
    assert code == 8
    assert "did not answer in time" in one_line(err)
    assert took < 1.5 + 1.0, f"the call took {took:.2f} s for a 1.5 s timeout"


@pytest.mark.parametrize(
    ("reply", "words"),
    [
        (b"snarl-ok/1 5\nhello", "not JSON"),
        (b"snarl-ok/1 2\n[]", "not a snarl dump"),
        (b"snarl-ok/1 2\n{}", "not a snarl dump"),
        (b'snarl-ok/1 40\n{"schema": 1}', "closed the connection after"),
        (b"x" * 5000, "longer than"),
        (b"hello there\n", "not a snarl agent's reply"),
        (b"", "without a reply"),
    ],
    ids=["not-json", "a-list", "no-fields", "truncated", "endless-header", "not-snarl", "empty"],
)
def test_a_malformed_reply_is_one_line_and_exit_code_10(fake_agent, reply, words):
    fake_agent(lambda conn: conn.sendall(reply))
    code, out, err, _ = dump(timeout=10)
    assert code == 10 and out == ""
    line = one_line(err)
    assert words in line


def test_wrong_kinds_of_values_are_one_line_too(fake_agent):
    data = snapshot().to_dict()
    data["threads"][0]["frames"] = [{"filename": 3, "lineno": "x", "function": None}]
    payload = json.dumps(data).encode()
    fake_agent(lambda conn: conn.sendall(b"snarl-ok/1 %d\n" % len(payload) + payload))
    code, out, err, _ = dump(timeout=10)
    assert code == 10 and out == ""
    one_line(err)


def test_escapes_from_the_process_reach_the_terminal_as_text(fake_agent):
    data = snapshot().to_dict()
    evil = "\x1b]0;owned\x07\x1b[2J\nForged line\r"
    data["threads"][0]["name"] = "name" + evil
    frames = data["threads"][0]["frames"]
    assert frames, "this thread has frames"
    frames[-1]["filename"] = "/tmp/file" + evil
    frames[-1]["source"] = "source" + evil
    frames[-1]["function"] = "function" + evil
    payload = json.dumps(data).encode()
    fake_agent(lambda conn: conn.sendall(b"snarl-ok/1 %d\n" % len(payload) + payload))
    code, out, err, _ = dump(timeout=10)
    assert code == 0, err
    for control in "\x1b\x07\r":
        assert control not in out and control not in err
    assert "\\x1b" in out
    assert not any(line.startswith("Forged line") for line in out.splitlines())
    one_line(err)
    code, out, _, _ = dump(timeout=10, json_out=True)  # JSON escapes by itself, losslessly
    assert code == 0 and "\x1b" not in out
    assert json.loads(out)["threads"][0]["name"] == "name" + evil


def test_an_error_text_from_the_process_is_escaped(fake_agent):
    fake_agent(lambda conn: conn.sendall(b"snarl-error/1 bad\x1b[2J\x07 thing\n"))
    code, _, err, _ = dump(timeout=10)
    assert code == 9
    line = one_line(err)
    assert "\x1b" not in line and "\x07" not in line and "\\x1b" in line


def test_a_symlinked_agent_directory_is_not_followed(tmp_path, monkeypatch):
    """The target's TMPDIR names the directory: a symlink there must not lead the client
    (root) to a socket elsewhere.  Here the real agent listens behind a symlink."""
    agent = agent_mod.Agent(Path(tempfile.mkdtemp(prefix="sn", dir="/tmp")), owns_dir=True)
    try:
        base = Path(tempfile.mkdtemp(prefix="sn", dir="/tmp"))
        (base / f"snarl-{os.geteuid()}").symlink_to(agent.directory)
        monkeypatch.setattr(
            client_mod, "candidate_dirs", lambda uid, environ: [base / f"snarl-{uid}"]
        )
        code, _, err, _ = dump(timeout=10)
        assert code == 9, err
        assert "runs no snarl agent" in one_line(err)
        monkeypatch.setattr(client_mod, "candidate_dirs", lambda uid, environ: [agent.directory])
        code, _, err, _ = dump(timeout=10)
        assert code == 0, err
    finally:
        agent.stop()
        shutil.rmtree(base, ignore_errors=True)
