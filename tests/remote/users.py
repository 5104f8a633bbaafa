"""A second local user for the tests that dump another user's process as root.

``other_user`` (a session fixture, in ``conftest.py``) creates a throw-away system user with
``useradd`` when the tests run as root, and removes it (``userdel``) at the end of the session;
otherwise it skips the test with the reason.  ``OtherUser.spawn`` starts a Python process as
that user in a directory of its own, with an interpreter that user can run (the tests' own if
every directory above it lets others in, else a system ``python3.10`` to ``python3.13``).
"""

from __future__ import annotations

import os
import pwd
import secrets
import shutil
import stat
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from .conftest import Proc

SUPPORTED = ((3, 10), (3, 11), (3, 12), (3, 13))


def usable_by_others(path: Path) -> bool:
    """Whether any user may run ``path``: every directory above it is searchable by others
    and the file itself is readable and executable by others."""
    try:
        real = path.resolve(strict=True)
        mode = real.stat().st_mode
    except OSError:
        return False
    if mode & 0o005 != 0o005:
        return False
    return all(p.stat().st_mode & 0o001 for p in real.parents)


def _version_of(python: Path) -> tuple[int, int] | None:
    try:
        out = subprocess.run(
            [str(python), "-c", "import sys; print(*sys.version_info[:2])"],
            capture_output=True,
            text=True,
            timeout=30,
        )
        major, minor = out.stdout.split()
        return int(major), int(minor)
    except (OSError, ValueError, subprocess.SubprocessError):
        return None


def python_for_others() -> Path | None:
    """A CPython 3.10 to 3.13 whose binary and standard library any user may read."""
    candidates = [
        Path(sys.base_prefix) / "bin" / f"python{sys.version_info[0]}.{sys.version_info[1]}"
    ]
    candidates += [Path(f"/usr/bin/python{a}.{b}") for a, b in SUPPORTED]
    candidates += [Path(f"/usr/local/bin/python{a}.{b}") for a, b in SUPPORTED]
    for python in candidates:
        if not usable_by_others(python) or _version_of(python) not in SUPPORTED:
            continue
        # Its standard library must be readable too: ask it as nobody would be too slow here;
        # the stdlib sits beside the binary's prefix, so check that directory.
        stdlib = python.resolve().parent.parent / "lib"
        if usable_by_others(stdlib):
            return python
    return None


@dataclass
class OtherUser:
    """A local user made for the tests: its name, ids, a directory of its own (mode 0755,
    under a root-owned 0755 directory) and an interpreter it can run."""

    name: str
    uid: int
    gid: int
    home: Path
    python: Path
    started: list[Proc] = field(default_factory=list)

    def own(self, path: Path) -> Path:
        """Give ``path`` to this user (it may then change it as it likes)."""
        os.chown(path, self.uid, self.gid)
        return path

    def spawn(
        self,
        script: Path,
        *,
        cwd: Path,
        env: dict[str, str] | None = None,
        args: list[str] | None = None,
    ) -> Proc:
        """Run ``python script *args`` as this user; wait (bounded) for its first line,
        ``ready``."""
        base_env = {"PATH": "/usr/bin:/bin", "HOME": str(self.home), "LANG": "C.UTF-8"}
        proc = Proc(
            subprocess.Popen(
                [str(self.python), str(script), *(args or [])],
                cwd=cwd,
                env={**base_env, **(env or {})},
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                start_new_session=True,
                user=self.uid,
                group=self.gid,
                extra_groups=[],
            )
        )
        self.started.append(proc)
        line = proc.readline()
        assert line == "ready", f"expected 'ready' from {script}, got {line!r}"
        return proc

    def stop_all(self) -> None:
        """Kill every process started as this user (with its process group)."""
        for proc in self.started:
            proc.end()
        self.started.clear()


def skip_reason() -> str | None:
    """Why no second user can be made here, or None."""
    if os.geteuid() != 0:
        return "needs root to create a second local user (run the tests as root)"
    if shutil.which("useradd") is None or shutil.which("userdel") is None:
        return "useradd/userdel are not installed"
    if python_for_others() is None:
        return "no CPython 3.10-3.13 that another user may run (all under private directories)"
    return None


def create_user(base: Path) -> OtherUser:
    """Create the user (``useradd --system``, no home, no login shell) and its directory."""
    name = f"snarlt{secrets.token_hex(3)}"
    subprocess.run(
        ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name],
        check=True,
        capture_output=True,
        timeout=60,
    )
    entry = pwd.getpwnam(name)
    home = base / name
    home.mkdir(mode=0o755)
    os.chown(home, entry.pw_uid, entry.pw_gid)
    python = python_for_others()
    assert python is not None
    return OtherUser(name, entry.pw_uid, entry.pw_gid, home, python)


def remove_user(user: OtherUser) -> None:
    """Kill its processes, remove the user and its directory."""
    user.stop_all()
    subprocess.run(["userdel", user.name], capture_output=True, timeout=60)
    shutil.rmtree(user.home, ignore_errors=True)


def session_base() -> Path:
    """A root-owned directory of mode 0755 that holds the users' directories."""
    base = Path(tempfile.mkdtemp(prefix="snarl-users-"))
    os.chmod(base, 0o755)
    assert stat.S_IMODE(base.stat().st_mode) == 0o755
    return base
