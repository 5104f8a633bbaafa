"""The last resort: ``py-spy dump --pid PID --json``, read into a :class:`Snapshot`.

py-spy (a separate tool, never a dependency of snarl) reads the process's memory from outside:
it needs no GIL and runs no code in the process, so it answers even when a thread holds the GIL
in C code.  It sees less than snarl's own snapshot: :data:`CANNOT` lists what is missing.  In
the snapshot made from its output, a thread py-spy saw on a CPU is ``running`` and every other
thread's state is ``unknown`` (py-spy cannot tell waiting from sleeping or idle), no thread has a
wait, held locks or a daemon flag, there are no deadlocks, ``switch_interval`` is NaN (unknown;
``null`` in the JSON :func:`snarl.remote.client.main_dump` prints) and source lines are read
from the files as the process sees them (``/proc/PID/root``).

Source lines are read only where the target's user could read them: when snarl runs as another
user (root), a child process drops to the target's uid, gid and groups before it opens any
file.  Only regular files are read (opened with ``O_NOFOLLOW`` and ``O_NONBLOCK``, checked with
``fstat``: never a FIFO, a device or a symlink), :data:`MAX_SOURCE` bytes of each at most.
"""

from __future__ import annotations

import json
import marshal
import os
import select
import shutil
import signal
import stat as stat_mod
import subprocess
import sys
import time
import warnings
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from ..threaddump.model import FrameInfo, Snapshot, ThreadInfo
from .errors import NoAnswer, PermissionDenied, RemoteError
from .target import Target

__all__ = [
    "CANNOT",
    "MAX_SOURCE",
    "find_pyspy",
    "from_pyspy",
    "pyspy_dump",
    "pyspy_holders_of_gil",
]

MAX_SOURCE = 1 << 22
"""Bytes read from one source file at most (4 MiB): later lines are left blank."""

_READ_TIMEOUT = 10.0

CANNOT = (
    "what each thread waits for (py-spy only tells whether it is on a CPU)",
    "lock owners, held locks and deadlock cycles",
    "daemon flags and the switch interval",
)
"""What a dump made by py-spy cannot tell, in the words the client prints."""


class PySpyFailed(RemoteError):
    """py-spy is missing or failed on this process."""

    exit_code = 9


def find_pyspy() -> str | None:
    """The py-spy to run: on ``PATH``, else beside this interpreter (the scripts folder of
    snarl's own environment: ``pip install py-spy`` in a virtual environment that is not
    activated puts it there), else None."""
    found = shutil.which("py-spy")
    if found is not None:
        return found
    folders = [Path(sys.executable).parent]
    try:
        import sysconfig

        folders.append(Path(sysconfig.get_path("scripts")))
    except (KeyError, ValueError):
        pass
    for folder in folders:
        found = shutil.which("py-spy", path=str(folder))
        if found is not None:
            return found
    return None


def pyspy_dump(
    target: Target,
    *,
    with_locals: bool = False,
    timeout: float = 5.0,
    executable: str | None = None,
    deadline: float | None = None,
) -> tuple[Snapshot, list[dict[str, Any]]]:
    """Run py-spy on ``target``; the snapshot made from its output, and that output.

    ``executable`` defaults to :func:`find_pyspy`'s.  Raises :class:`PySpyFailed`,
    :class:`PermissionDenied` or :class:`NoAnswer` (py-spy did not finish in ``timeout``;
    ``deadline``, a ``time.monotonic()`` value, ends it instead when given).
    """
    if deadline is None:
        deadline = time.monotonic() + timeout
    spy = executable or find_pyspy()
    if spy is None:
        raise PySpyFailed("py-spy is not installed")
    command = [spy, "dump", "--pid", str(target.pid), "--json"]
    if with_locals:
        command.append("--locals")
    was_stopped = _stopped(target.pid)
    started = time.perf_counter()
    taken_at = time.time()
    proc = subprocess.Popen(
        command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        out, err = proc.communicate(timeout=max(0.001, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        proc.terminate()
        try:
            proc.communicate(timeout=2.0)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
        if not was_stopped and _stopped(target.pid):  # py-spy paused it and died meanwhile
            os.kill(target.pid, signal.SIGCONT)
        raise NoAnswer(
            f"py-spy did not finish reading process {target.pid} in {timeout:g} s"
        ) from None
    duration = time.perf_counter() - started
    message = err.decode("utf-8", "replace").strip()
    if proc.returncode != 0:
        first = message.splitlines()[0] if message else f"exit status {proc.returncode}"
        if "ermission" in message:
            raise PermissionDenied(
                f"py-spy may not read process {target.pid}: {first}",
                help="Run snarl with sudo; in a container, allow ptrace (--cap-add SYS_PTRACE).",
            )
        raise PySpyFailed(f"py-spy failed: {first}")
    try:
        threads = json.loads(out)
    except ValueError:
        raise PySpyFailed("py-spy printed something that is not its JSON dump") from None
    if not isinstance(threads, list):
        raise PySpyFailed("py-spy's JSON dump is not a list of threads")
    return from_pyspy(threads, target, taken_at=taken_at, duration=duration), threads


def _stopped(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] in ("T", "t")


def from_pyspy(
    threads: Sequence[dict[str, Any]],
    target: Target,
    *,
    taken_at: float = 0.0,
    duration: float = 0.0,
) -> Snapshot:
    """A :class:`Snapshot` from py-spy's ``dump --json`` output (see the module docstring)."""
    wanted = [
        (str(f.get("filename") or "?"), f.get("line"))
        for t in threads
        for f in t.get("frames") or ()
    ]
    sources = _Sources(target, wanted)
    infos = []
    for t in threads:
        frames = tuple(_frame(f, sources) for f in t.get("frames") or ())
        native = t.get("os_thread_id")
        name = t.get("thread_name")
        infos.append(
            ThreadInfo(
                name=name,
                ident=int(t["thread_id"]),
                native_id=native,
                daemon=None,
                main=native == target.pid,
                current=False,
                origin="threading" if name is not None else "_thread",
                state="running" if t.get("active") else "unknown",
                wait=None,
                frames=frames,
            )
        )
    infos.sort(key=lambda i: (not i.main, i.native_id if i.native_id is not None else 1 << 62))
    return Snapshot(
        pid=target.pid,
        python=target.version_text,
        implementation="CPython",
        build=target.build,
        gil_enabled=target.build != "free-threading",
        switch_interval=float("nan"),
        taken_at=taken_at,
        duration=duration,
        tracked=False,
        threads=tuple(infos),
    )


def pyspy_holders_of_gil(threads: Sequence[dict[str, Any]]) -> list[str]:
    """The names of the threads py-spy saw holding the GIL (a stuck GIL's culprit)."""
    return [
        f'"{t.get("thread_name")}"' if t.get("thread_name") else f"thread {t.get('thread_id')}"
        for t in threads
        if t.get("owns_gil")
    ]


def _frame(f: dict[str, Any], sources: _Sources) -> FrameInfo:
    filename = str(f.get("filename") or "?")
    lineno = f.get("line")
    lineno = lineno if isinstance(lineno, int) and lineno > 0 else None
    loc = f.get("locals")
    local_pairs = None
    if isinstance(loc, list):
        local_pairs = tuple(
            (str(v.get("name")), str(v.get("repr")) if v.get("repr") is not None else "?")
            for v in loc
        )
    return FrameInfo(
        filename, lineno, str(f.get("name") or "?"), sources.line(filename, lineno), local_pairs
    )


class _Sources:
    """Source lines as the target sees its files (``/proc/PID/root``), stripped; read as the
    target's user (see the module docstring)."""

    def __init__(self, target: Target, wanted: Iterable[tuple[str, Any]]) -> None:
        root = f"/proc/{target.pid}/root"
        names = sorted({f for f, n in wanted if f.startswith("/") and _lineno(n) is not None})
        if not names:
            self.lines: dict[str, list[str]] = {}
        elif target.uid == os.geteuid():
            self.lines = _read_sources(root, names)
        elif os.geteuid() == 0:
            self.lines = _read_as(target, root, names)
        else:  # another user's process, and not root: inspect_target refused it already
            self.lines = {}

    def line(self, filename: str, lineno: int | None) -> str:
        lines = self.lines.get(filename)
        if lines is None or lineno is None or not 0 < lineno <= len(lines):
            return ""
        return lines[lineno - 1].strip()


def _lineno(value: Any) -> int | None:
    return value if type(value) is int and value > 0 else None


def _read_sources(root: str, names: Sequence[str]) -> dict[str, list[str]]:
    """The lines of each regular file of ``names`` (under ``root``) this process may read."""
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC
    found: dict[str, list[str]] = {}
    for name in names:
        try:
            fd = os.open(root + name, flags)
        except OSError:
            continue
        try:
            if not stat_mod.S_ISREG(os.fstat(fd).st_mode):
                continue
            chunks, size = [], 0
            while size < MAX_SOURCE:
                chunk = os.read(fd, min(1 << 16, MAX_SOURCE - size))
                if not chunk:
                    break
                chunks.append(chunk)
                size += len(chunk)
        except OSError:
            continue
        finally:
            os.close(fd)
        found[name] = b"".join(chunks).decode("utf-8", "replace").splitlines()
    return found


def _groups(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return []
    for line in text.splitlines():
        if line.startswith("Groups:"):
            return [int(g) for g in line.split()[1:] if g.isdigit()]
    return []


def _read_as(target: Target, root: str, names: Sequence[str]) -> dict[str, list[str]]:
    """:func:`_read_sources` in a child that first becomes the target's user (root only)."""
    groups = _groups(target.pid)
    r, w = os.pipe()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # fork with threads: the child
        child = os.fork()  # only makes system calls, then _exit
    if child == 0:  # pragma: no cover (the child)
        status = 1
        try:
            os.close(r)
            os.setgroups(groups)
            os.setgid(target.gid)
            os.setuid(target.uid)
            data = marshal.dumps(_read_sources(root, names))
            while data:
                data = data[os.write(w, data) :]
            status = 0
        finally:
            os._exit(status)
    os.close(w)
    chunks = []
    deadline = time.monotonic() + _READ_TIMEOUT
    poller = select.poll()
    poller.register(r, select.POLLIN)
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not poller.poll(left * 1000):
                os.kill(child, signal.SIGKILL)
                chunks = []
                break
            chunk = os.read(r, 1 << 16)
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(r)
        os.waitpid(child, 0)
    try:
        lines = marshal.loads(b"".join(chunks)) if chunks else {}
    except (EOFError, ValueError, TypeError):
        return {}
    return lines if isinstance(lines, dict) else {}
