"""Output files opened without following symbolic links: reports, dumps, timelines.

snarl writes to paths its user names (``--report``, ``--timeline``, ``report=``), often at
predictable places such as ``/tmp``.  Another user may have planted a symbolic link there,
or a FIFO that would block the writer.  So:

* :func:`open_append` opens a file for appending with ``O_NOFOLLOW`` on the final component
  and ``O_NONBLOCK`` for the open itself (a FIFO cannot block it), and accepts only a regular
  file;
* :func:`write_replace` writes a whole file through a new temporary file in the same directory
  (``O_EXCL``), renamed over the path: a symbolic link there is replaced, never followed;
* :func:`check_writable` says at start whether :func:`write_replace` can later succeed.

Errors are :class:`OSError` with a message that names the path and the reason in one line.
This module imports nothing of snarl.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import tempfile
from pathlib import Path
from typing import IO

__all__ = ["check_writable", "open_append", "write_replace"]

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_NONBLOCK = getattr(os, "O_NONBLOCK", 0)


def _error(path: str | os.PathLike[str], reason: str, code: int = errno.EINVAL) -> OSError:
    return OSError(code, f"cannot write {os.fspath(path)}: {reason}")


def _reason(exc: OSError) -> str:
    if exc.errno == errno.ELOOP:
        return "it is a symbolic link (snarl does not follow one)"
    return exc.strerror or str(exc)


def open_append(path: str | os.PathLike[str]) -> IO[str]:
    """Open ``path`` for appending text (created 0644 less the umask if missing).

    The final component is never followed if it is a symbolic link, and only a regular file
    is accepted (not a FIFO, a device or a directory).  OSError otherwise, with a one-line
    message.
    """
    flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | _NOFOLLOW | _CLOEXEC | _NONBLOCK
    try:
        fd = os.open(path, flags, 0o644)
    except OSError as exc:
        raise _error(path, _reason(exc), exc.errno or errno.EINVAL) from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise _error(path, "it is not a regular file")
        if _NONBLOCK:
            os.set_blocking(fd, True)
        return open(fd, "a", encoding="utf-8", closefd=True)
    except BaseException:
        os.close(fd)
        raise


def check_writable(path: str | os.PathLike[str]) -> None:
    """Raise OSError (one line) unless :func:`write_replace` can write ``path`` now.

    The path must not be a symbolic link or anything but a regular file, and its directory
    must let a new file be made (one is made and removed).
    """
    target = Path(path)
    try:
        st = os.lstat(target)
    except FileNotFoundError:
        st = None
    except OSError as exc:
        raise _error(path, _reason(exc), exc.errno or errno.EINVAL) from None
    if st is not None and stat.S_ISLNK(st.st_mode):
        raise _error(path, "it is a symbolic link (snarl does not follow one)", errno.ELOOP)
    if st is not None and not stat.S_ISREG(st.st_mode):
        raise _error(path, "it is not a regular file")
    directory = target.parent
    try:
        fd, name = tempfile.mkstemp(prefix=f".{target.name}.", dir=directory)
    except OSError as exc:
        raise _error(path, _reason(exc), exc.errno or errno.EINVAL) from None
    os.close(fd)
    with contextlib.suppress(OSError):
        os.unlink(name)


def write_replace(path: str | os.PathLike[str], text: str) -> None:
    """Write ``text`` (UTF-8) as the whole content of ``path``, atomically.

    A new temporary file is made in the same directory (exclusively: nothing there is
    reused or followed), written, given the mode a new file would have (or the mode of the
    regular file it replaces), and renamed over ``path``: a symbolic link at ``path`` is
    replaced, not followed.  OSError (one line) when that cannot be done; nothing is left
    behind then.
    """
    target = Path(path)
    try:
        st = os.lstat(target)
    except OSError:
        st = None
    if st is not None and not (stat.S_ISREG(st.st_mode) or stat.S_ISLNK(st.st_mode)):
        raise _error(path, "it is not a regular file")
    mode = stat.S_IMODE(st.st_mode) if st is not None and stat.S_ISREG(st.st_mode) else None
    try:
        fd, name = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    except OSError as exc:
        raise _error(path, _reason(exc), exc.errno or errno.EINVAL) from None
    try:
        with open(fd, "w", encoding="utf-8") as f:
            f.write(text)
            os.fchmod(f.fileno(), mode if mode is not None else 0o666 & ~_umask())
        os.replace(name, target)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(name)
        raise _error(path, _reason(exc), exc.errno or errno.EINVAL) from None


def _umask() -> int:
    """The process's umask, read without changing it where Linux allows (else 0o022)."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    return 0o022
