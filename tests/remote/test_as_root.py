"""Root dumps another user's process: nothing that user controls is written, run or followed.

Every test here runs a target as a throw-away second user (``other_user``: root only, skipped
otherwise) and dumps it as root.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import threading
from pathlib import Path

import pytest

from snarl.remote import fetch
from snarl.remote import inject as inject_mod
from snarl.remote.pyspy import from_pyspy
from snarl.remote.target import inspect_target

from .conftest import gdb_skip_reason, needs_gdb
from .users import _version_of

VICTIM = '''\
"""A program of another user, with names in __main__ that an injection could pick up."""
import os
import sys
import threading

HERE = os.path.dirname(os.path.abspath(__file__))
_exec, _compile = exec, compile


def exec(*args, **kwargs):  # the program's own exec: a dump must not call it
    open(os.path.join(HERE, "exec-was-called"), "w").close()
    return _exec(*args, **kwargs)


def compile(*args, **kwargs):
    open(os.path.join(HERE, "compile-was-called"), "w").close()
    return _compile(*args, **kwargs)


stop = threading.Event()
threading.Thread(target=stop.wait, name="victim-worker", daemon=True).start()
print("ready", flush=True)
for line in sys.stdin:
    if line.strip() == "ping":
        print("pong", flush=True)
    elif line.strip() == "snarl?":
        print("snarl imported: %s" % ("snarl" in sys.modules), flush=True)
'''

PLANTED = """\
import os
open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "planted-snarl-ran"), "w").close()
raise SystemExit("a planted snarl ran")
"""


def _made_by(user, *dirs: Path) -> list[str]:
    """Names of the markers the planted code would leave, found in ``dirs``."""
    found = []
    for d in dirs:
        for path in d.rglob("*"):
            if path.name in ("exec-was-called", "compile-was-called", "planted-snarl-ran"):
                found.append(str(path.relative_to(user.home)))
    return found


def _victim(user, tmp_name: str, planted: str, python: Path | None = None):
    """A program directory and a working directory of the user's, with ``planted`` in place:
    ``module`` (a snarl.py beside the script), ``package`` (a snarl/ package in the working
    directory, on the path), ``directory`` (an empty snarl/ in the working directory)."""
    root = user.home / tmp_name
    root.mkdir(mode=0o755)
    program, work = root / "program", root / "work"
    for d in (program, work):
        d.mkdir(mode=0o755)
    (program / "victim.py").write_text(VICTIM, encoding="utf-8")
    if planted == "module":
        (program / "snarl.py").write_text(PLANTED, encoding="utf-8")
    elif planted in ("package", "directory"):
        (work / "snarl").mkdir(mode=0o755)
        if planted == "package":
            (work / "snarl" / "__init__.py").write_text(PLANTED, encoding="utf-8")
    for path in (root, *root.rglob("*")):
        user.own(path)
    if python is not None:
        user.python, saved = python, user.python
    try:
        proc = user.spawn(program / "victim.py", cwd=work, env={"PYTHONPATH": "."})
    finally:
        if python is not None:
            user.python = saved
    return proc, program, work


def _ask(proc, question: str) -> str:
    assert proc.popen.stdin is not None
    proc.popen.stdin.write(question + "\n")
    proc.popen.stdin.flush()
    return proc.readline(timeout=10)


@needs_gdb
@pytest.mark.parametrize("planted", ["none", "module", "package", "directory"])
def test_root_gdb_dump_of_another_users_process(as_other, planted, monkeypatch):
    user = as_other
    proc, program, work = _victim(user, f"gdb-{planted}", planted)
    chowned: list[tuple] = []
    scripts: list[tuple] = []
    real_chown, real_run_gdb = os.chown, inject_mod._run_gdb

    def chown(path, uid, gid, *args, **kwargs):
        chowned.append((str(path), uid, gid))
        return real_chown(path, uid, gid, *args, **kwargs)

    def run_gdb(gdb, target, script, deadline):
        for path in (script.parent, script, *script.parent.iterdir()):
            st = os.lstat(path)
            scripts.append((str(path), st.st_uid, stat.S_IMODE(st.st_mode)))
        return real_run_gdb(gdb, target, script, deadline)

    monkeypatch.setattr(os, "chown", chown)
    monkeypatch.setattr(inject_mod, "_run_gdb", run_gdb)
    got = fetch(proc.pid, method="gdb", timeout=30)
    names = [t.name for t in got.snapshot.threads]
    assert names == ["MainThread", "victim-worker"]
    assert _made_by(user, program, work) == []  # no planted snarl, no hijacked exec ran
    assert chowned == []  # nothing handed to the user
    assert scripts, "gdb was not run"
    for path, uid, mode in scripts:  # gdb's files: root's, in a directory only root enters
        assert uid == 0 and not mode & 0o077, (path, uid, oct(mode))
    proc.ping()
    assert _ask(proc, "snarl?") == "snarl imported: False"


@pytest.fixture
def renamed_python(other_user, tmp_path_factory):
    """The user's interpreter copied as ``python3`` (no version in its name), for any user."""
    if os.uname().machine not in ("x86_64", "amd64"):
        pytest.skip("the copied interpreter is only checked on x86-64")
    directory = other_user.home / "renamed-bin"
    if not directory.exists():
        directory.mkdir(mode=0o755)
        shutil.copy2(other_user.python.resolve(), directory / "python3")
        os.chmod(directory / "python3", 0o755)
    maps_probe = subprocess.run(
        [str(directory / "python3"), "-c", "print(open('/proc/self/maps').read())"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    if "libpython" in maps_probe.stdout:
        pytest.skip("this interpreter maps libpython: its name gives the version")
    return directory / "python3"


def test_root_never_runs_the_targets_executable(as_other, renamed_python, monkeypatch):
    proc, _, _ = _victim(as_other, "renamed", "module", python=renamed_python)
    version = _version_of(renamed_python)  # asked by the test, before the recording starts
    ran: list[list[str]] = []
    real_popen_init = subprocess.Popen.__init__

    def popen_init(self, args, *rest, **kwargs):
        ran.append([str(a) for a in (args if isinstance(args, list | tuple) else [args])])
        return real_popen_init(self, args, *rest, **kwargs)

    monkeypatch.setattr(subprocess.Popen, "__init__", popen_init)
    target = inspect_target(proc.pid)
    assert target.exe == str(renamed_python)
    assert target.version in (None, version)  # read, or left to the dump
    if gdb_skip_reason() is None:  # the dump reads the version inside the process
        got = fetch(proc.pid, method="gdb", timeout=30)
        assert [t.name for t in got.snapshot.threads] == ["MainThread", "victim-worker"]
        assert got.snapshot.python.startswith("{}.{}.".format(*version))
    assert not [a for a in ran if any(f"/proc/{proc.pid}" in x for x in a)], ran
    assert not [a for a in ran if any(str(renamed_python) in x for x in a)], ran


def test_pyspy_source_lines_only_where_the_targets_user_may_read(as_other, tmp_path_factory):
    user = as_other
    proc, _, _ = _victim(user, "pyspy", "none")
    shared = user.home.parent  # root's, mode 0755
    secret = shared / f"secret-{user.name}.py"
    secret.write_text("SECRET = 'root only'\n", encoding="utf-8")
    os.chmod(secret, 0o600)
    public = shared / f"public-{user.name}.py"
    public.write_text("PUBLIC = 'anyone'\n", encoding="utf-8")
    os.chmod(public, 0o644)
    fifo = shared / f"fifo-{user.name}"
    os.mkfifo(fifo, 0o666)
    link = shared / f"link-{user.name}.py"
    link.symlink_to(public)
    files = [str(public), str(secret), str(fifo), "/dev/zero", str(link)]
    data = [
        {
            "pid": proc.pid,
            "thread_id": 1,
            "os_thread_id": proc.pid,
            "thread_name": "MainThread",
            "owns_gil": False,
            "active": False,
            "frames": [{"name": f"f{i}", "filename": f, "line": 1} for i, f in enumerate(files)],
        }
    ]
    target = inspect_target(proc.pid)
    result: list = []
    worker = threading.Thread(target=lambda: result.append(from_pyspy(data, target)), daemon=True)
    try:
        worker.start()
        worker.join(30)
        hung = worker.is_alive()
    finally:
        if worker.is_alive():  # free a reader stuck on the FIFO
            fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
            os.close(fd)
            worker.join(10)
        for path in (secret, public, fifo, link):
            path.unlink()
    assert not hung, "reading the source lines hung (a FIFO?)"
    [snap] = result
    lines = [f.source for f in snap.threads[0].frames]
    assert lines == ["PUBLIC = 'anyone'", "", "", "", ""]
