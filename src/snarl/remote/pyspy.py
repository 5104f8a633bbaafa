"""The last resort: ``py-spy dump --pid PID --json``, read into a :class:`Snapshot`.

py-spy (a separate tool, never a dependency of snarl) reads the process's memory from outside:
it needs no GIL and runs no code in the process, so it answers even when a thread holds the GIL
in C code.  It sees less than snarl's own snapshot: :data:`CANNOT` lists what is missing.  In
the snapshot made from its output, a thread py-spy saw on a CPU is ``running`` and every other
thread's state is ``unknown`` (py-spy cannot tell waiting from sleeping or idle), no thread has a
wait, held locks or a daemon flag, there are no deadlocks, ``switch_interval`` is NaN (unknown;
``null`` in the JSON :func:`snarl.remote.client.main_dump` prints) and source lines are read
from the files as the process sees them (``/proc/PID/root``).
"""

from __future__ import annotations

import json
import linecache
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..threaddump.model import FrameInfo, Snapshot, ThreadInfo
from .errors import NoAnswer, PermissionDenied, RemoteError
from .target import Target

__all__ = ["CANNOT", "from_pyspy", "pyspy_dump", "pyspy_holders_of_gil"]

CANNOT = (
    "what each thread waits for (py-spy only tells whether it is on a CPU)",
    "lock owners, held locks and deadlock cycles",
    "daemon flags and the switch interval",
)
"""What a dump made by py-spy cannot tell, in the words the client prints."""


class PySpyFailed(RemoteError):
    """py-spy is missing or failed on this process."""

    exit_code = 9


def pyspy_dump(
    target: Target,
    *,
    with_locals: bool = False,
    timeout: float = 5.0,
    executable: str | None = None,
) -> tuple[Snapshot, list[dict[str, Any]]]:
    """Run py-spy on ``target``; the snapshot made from its output, and that output.

    ``executable`` defaults to ``py-spy`` on ``PATH``.  Raises :class:`PySpyFailed`,
    :class:`PermissionDenied` or :class:`NoAnswer` (py-spy did not finish in ``timeout``).
    """
    spy = executable or shutil.which("py-spy")
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
        out, err = proc.communicate(timeout=timeout)
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
    sources = _Sources(target.pid)
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
    """Source lines as the target sees its files (``/proc/PID/root``), stripped."""

    def __init__(self, pid: int) -> None:
        self.root = f"/proc/{pid}/root"

    def line(self, filename: str, lineno: int | None) -> str:
        if lineno is None or not filename.startswith("/"):
            return ""
        return linecache.getline(self.root + filename, lineno).strip()
