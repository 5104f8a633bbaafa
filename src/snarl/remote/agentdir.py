"""Where an agent listens: the per-user directory, its checks, and where clients look for it.

See :mod:`snarl.remote.agent` for the order in which directories are tried.  This module
imports nothing of snarl but :mod:`snarl.terminal` and the errors.
"""

from __future__ import annotations

import contextlib
import os
import re
import stat
import tempfile
from collections.abc import Mapping
from pathlib import Path

from ..terminal import escape
from .errors import AgentError

__all__ = ["agent_dir", "candidate_dirs", "is_private_dir"]

_MAX_SOCKET_PATH = 104  # bytes of a Unix socket path, NUL excluded (108 on Linux; 104 BSD)
_SOCKET_NAME = re.compile(r"^(\d+)\.sock$")


def is_private_dir(path: Path, uid: int) -> bool:
    """Whether ``path`` itself (not a symlink) is a directory of ``uid`` no one else may enter."""
    try:
        st = os.lstat(path)
    except OSError:
        return False
    return stat.S_ISDIR(st.st_mode) and st.st_uid == uid and not st.st_mode & 0o077


def agent_dir(uid: int | None = None, environ: Mapping[str, str] | None = None) -> Path:
    """The directory of the agent sockets of user ``uid`` (default: this process's), not created.

    ``$XDG_RUNTIME_DIR/snarl`` when ``XDG_RUNTIME_DIR`` (from ``environ``, default
    ``os.environ``) is a directory owned by ``uid`` that only it may enter; otherwise
    ``{tempfile.gettempdir()}/snarl-{uid}``.
    """
    uid = os.geteuid() if uid is None else uid
    env = os.environ if environ is None else environ
    runtime = env.get("XDG_RUNTIME_DIR")
    if runtime and os.path.isabs(runtime) and is_private_dir(Path(runtime), uid):
        return Path(runtime) / "snarl"
    return Path(tempfile.gettempdir()) / f"snarl-{uid}"


def candidate_dirs(uid: int, environ: Mapping[str, str]) -> list[Path]:
    """Where the agent of a process of user ``uid``, started with ``environ``, may listen.

    A client cannot call :func:`agent_dir` in the target, so it tries every directory the
    target could have chosen: its ``XDG_RUNTIME_DIR``, then the temporary directories
    ``tempfile.gettempdir()`` would pick from the target's environment, then the usual ones,
    and in each base the private ``snarl-{uid}-*`` directories an agent makes when the usual
    one cannot be used (only those owned by ``uid`` with mode 0700).
    """
    found: list[Path] = []
    runtime = environ.get("XDG_RUNTIME_DIR")
    if runtime and os.path.isabs(runtime):
        found.append(Path(runtime) / "snarl")
    bases = [environ.get(name) for name in ("TMPDIR", "TEMP", "TMP")]
    bases += ["/tmp", "/var/tmp", "/usr/tmp", tempfile.gettempdir()]
    usable = [Path(b) for b in dict.fromkeys(bases) if b and os.path.isabs(b)]
    for base in usable:
        path = base / f"snarl-{uid}"
        if path not in found:
            found.append(path)
    for base in usable:
        try:
            names = sorted(os.listdir(base))
        except OSError:
            continue
        for name in names:
            path = base / name
            ours = name.startswith(f"snarl-{uid}-") and is_private_dir(path, uid)
            if ours and path not in found:
                found.append(path)
    return found


def _ensure_dir(path: Path, uid: int) -> None:
    """Create ``path`` (mode 0700), or check that the existing one is private to ``uid``."""
    shown = escape(str(path))
    try:
        os.mkdir(path, 0o700)
    except FileExistsError:
        pass
    except OSError as exc:
        raise AgentError(f"cannot create the agent directory {shown}: {exc.strerror}") from None
    else:
        os.chmod(path, 0o700)  # our own new directory: undo an unusual umask
    try:
        st = os.lstat(path)
    except OSError as exc:
        raise AgentError(f"cannot use the agent directory {shown}: {exc.strerror}") from None
    if not stat.S_ISDIR(st.st_mode):
        raise AgentError(f"the agent directory {shown} is not a directory (a symlink or a file)")
    if st.st_uid != uid:
        raise AgentError(
            f"the agent directory {shown} belongs to uid {st.st_uid}, not {uid}: refusing to use it"
        )
    mode = stat.S_IMODE(st.st_mode)
    if mode & 0o077 or mode & 0o700 != 0o700:
        raise AgentError(f"the agent directory {shown} has mode {mode:04o}, not 0700: refusing")


def _fits(directory: Path) -> bool:
    """Whether the socket paths in ``directory`` fit a Unix socket address."""
    longest = directory / f".{os.getpid()}.{'0' * 8}.tmp"
    return len(os.fsencode(longest)) < _MAX_SOCKET_PATH


def _remove_stale(directory: Path) -> None:
    """Remove sockets left by processes of this user that no longer exist (best effort)."""
    try:
        names = os.listdir(directory)
    except OSError:
        return
    for name in names:
        m = _SOCKET_NAME.match(name)
        if m is None or int(m.group(1)) == os.getpid():
            continue
        try:
            os.kill(int(m.group(1)), 0)
        except ProcessLookupError:
            with contextlib.suppress(OSError):
                os.unlink(directory / name)
        except OSError:
            pass  # alive (another user's pid: not ours to judge)
