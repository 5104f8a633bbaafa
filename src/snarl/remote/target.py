"""What ``/proc`` says about another process before snarl tries to reach it.

:func:`inspect_target` checks, in this order, and raises the matching error: the process exists
(:class:`NoSuchProcess`), this user may inspect it (:class:`PermissionDenied`), it is a Python
process (:class:`NotPython`: its executable is named ``python…`` or it maps ``libpython``), and
its version is one snarl supports (:class:`UnsupportedVersion`: CPython 3.10 to 3.13).  It reads
files of ``/proc`` only and runs nothing: the version comes from libpython's or the
executable's file name, and when neither tells it (a ``python3`` with libpython linked in) it
stays unknown; the agent and the gdb bootstrap then check it inside the process.  The target's
executable is never run (as root, that would run another user's program).  Linux only (it
needs ``/proc``).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from .errors import NoSuchProcess, NotPython, PermissionDenied, UnsupportedVersion

__all__ = ["SUPPORTED", "Target", "inspect_target"]

SUPPORTED = ((3, 10), (3, 13))
"""The oldest and newest CPython minor versions snarl can dump."""

_EXE = re.compile(r"^python(?P<v>\d+(?:\.\d+)?)?(?P<flags>[a-z]*)$")
_LIBPYTHON = re.compile(r"/libpython(?P<v>\d+\.\d+)(?P<flags>[a-z]*)\.so")


@dataclass(frozen=True)
class Target:
    """A Python process snarl may dump, as ``/proc`` describes it.

    ``version`` is (major, minor), or None when nothing told it (the dump methods check it
    again inside the process).  ``build`` is ``free-threading`` for a ``python3.13t``, else
    ``default``.  ``environ`` is the environment the process started with (it tells where its
    agent listens).  ``caught`` is the set of signals it has a handler for.
    """

    pid: int
    uid: int
    gid: int
    exe: str
    version: tuple[int, int] | None
    build: str
    environ: dict[str, str] = field(repr=False)
    caught: frozenset[int] = frozenset()

    @property
    def version_text(self) -> str:
        """``3.11``, or ``unknown``."""
        return f"{self.version[0]}.{self.version[1]}" if self.version else "unknown"

    @property
    def same_root(self) -> bool:
        """Whether the process sees the same root directory as this one (not in a container)."""
        try:
            mine, theirs = os.stat("/"), os.stat(f"/proc/{self.pid}/root/")
        except OSError:
            return False
        return (mine.st_dev, mine.st_ino) == (theirs.st_dev, theirs.st_ino)


def _read(pid: int, name: str) -> bytes:
    try:
        with open(f"/proc/{pid}/{name}", "rb") as f:
            return f.read()
    except FileNotFoundError:
        raise NoSuchProcess(f"no process with id {pid} (it may just have exited)") from None
    except PermissionError:
        raise PermissionDenied(f"not allowed to read /proc/{pid}/{name}") from None
    except ProcessLookupError:
        raise NoSuchProcess(f"no process with id {pid} (it may just have exited)") from None


def _status(pid: int) -> dict[str, str]:
    fields = {}
    for line in _read(pid, "status").decode("utf-8", "replace").splitlines():
        key, _, value = line.partition(":")
        fields[key] = value.strip()
    return fields


def _caught(status: dict[str, str]) -> frozenset[int]:
    try:
        mask = int(status.get("SigCgt", "0"), 16)
    except ValueError:
        return frozenset()
    return frozenset(n + 1 for n in range(64) if mask >> n & 1)


def inspect_target(pid: int) -> Target:
    """Check that ``pid`` is a Python process this user may dump; see the module docstring."""
    if not Path("/proc/self").is_dir():
        raise NotPython("snarl dump needs /proc (Linux)")
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        raise NoSuchProcess(f"no process with id {pid} (it may just have exited)") from None
    except PermissionError:
        pass  # it exists; whether we may inspect it is decided below
    status = _status(pid)
    if status.get("State", "").startswith(("Z", "X")):
        raise NoSuchProcess(f"process {pid} has exited (a zombie its parent has not reaped)")
    uid, gid = int(status["Uid"].split()[1]), int(status["Gid"].split()[1])
    me = os.geteuid()
    if me != 0 and uid != me:
        raise PermissionDenied(
            f"process {pid} belongs to uid {uid}, and this is uid {me}",
            help=f"Run snarl as uid {uid}, or with sudo: `sudo snarl dump {pid}`.",
        )
    try:
        exe = os.readlink(f"/proc/{pid}/exe")
    except PermissionError:
        if me == 0:  # root already: sudo would change nothing
            raise PermissionDenied(
                f"not allowed to inspect process {pid}, even as root",
                help="In a container, give it the SYS_PTRACE capability (--cap-add SYS_PTRACE);"
                " a security module (SELinux, AppArmor, Yama ptrace_scope 3) may forbid it.",
            ) from None
        raise PermissionDenied(
            f"not allowed to inspect process {pid}",
            help=f"Run snarl with sudo: `sudo snarl dump {pid}`.",
        ) from None
    except FileNotFoundError:
        if not Path(f"/proc/{pid}").exists():
            raise NoSuchProcess(f"no process with id {pid} (it may just have exited)") from None
        raise NotPython(f"process {pid} has no executable (a kernel thread)") from None
    exe = exe.removesuffix(" (deleted)")
    maps = _read(pid, "maps").decode("utf-8", "replace")
    version, flags = _version_from_names(exe, maps)
    name = os.path.basename(exe)
    if name.startswith("pypy"):
        raise UnsupportedVersion(f"process {pid} runs PyPy ({exe})")
    if version is None and not _EXE.match(name) and "/libpython" not in maps:
        raise NotPython(f"process {pid} is not a Python process ({exe})")
    if version is not None and not SUPPORTED[0] <= version <= SUPPORTED[1]:
        raise UnsupportedVersion(f"process {pid} runs Python {version[0]}.{version[1]} ({exe})")
    environ = {}
    for item in _read(pid, "environ").split(b"\0"):
        key, sep, value = item.partition(b"=")
        if sep:
            environ[os.fsdecode(key)] = os.fsdecode(value)
    return Target(
        pid=pid,
        uid=uid,
        gid=gid,
        exe=exe,
        version=version,
        build="free-threading" if "t" in flags else "default",
        environ=environ,
        caught=_caught(status),
    )


def _version_from_names(exe: str, maps: str) -> tuple[tuple[int, int] | None, str]:
    """(major, minor) and ABI flags from libpython's file name, else from the executable's."""
    m = _LIBPYTHON.search(maps)
    text, flags = (m.group("v"), m.group("flags")) if m else (None, "")
    if text is None:
        e = _EXE.match(os.path.basename(exe))
        if e is not None and e.group("v") and "." in e.group("v"):
            text, flags = e.group("v"), e.group("flags")
    if text is None:
        return None, flags
    major, minor = text.split(".")
    return (int(major), int(minor)), flags
