"""The in-process agent: answers one fixed request, over a Unix socket, with the JSON snapshot.

:func:`start_agent` starts a daemon thread named ``snarl-agent`` that listens on
``{directory}/{pid}.sock``; ``snarl dump PID`` (:mod:`snarl.remote.client`) connects to it and
receives :meth:`snarl.Snapshot.to_dict` of this process, lock owners included when snarl's
tracked primitives are installed.  Safety, in the order a connection meets it:

* **The directory** is per-user: ``$XDG_RUNTIME_DIR/snarl`` when ``XDG_RUNTIME_DIR`` is set
  and is a directory of this user with mode 0700, else ``{tempfile.gettempdir()}/snarl-{uid}``.
  It is created with mode 0700; if it exists with another owner, or lets anyone else in, or is
  not a plain directory (a symlink), the agent refuses to start (:class:`AgentError`).
* **The socket** is bound at a temporary name inside that directory, given mode 0600, then
  renamed to ``{pid}.sock``: it is 0600 from its first moment at the name clients use, with no
  change of the process-wide umask (which would race with the program's own threads).
* **The peer's uid** is read with ``SO_PEERCRED``: only this process's own effective uid, and
  root, are answered (root may ptrace the process anyway).  Others get one error line, after
  their request is read and left unused (so that the line reaches a client still sending).
* **The request** is one fixed line, :data:`REQUESTS`; nothing else is accepted, nothing in it
  is evaluated, and at most :data:`MAX_REQUEST` bytes are read.  Every connection has a
  :data:`TIMEOUT` for reading and writing; one connection is served at a time.
* **The reply** is ``snarl-ok/1 LENGTH\\n`` and LENGTH bytes of JSON, or
  ``snarl-error/1 REASON\\n``; then the agent closes the connection.

The snapshot leaves out snarl's own threads (the agent's, and one a client injected).  In dumps
the program takes itself, the agent thread is listed under its name ``snarl-agent``, with its
frames (snarl's) hidden as every snarl frame is.  The socket is removed by :func:`stop_agent`,
at interpreter exit (``atexit``), and when the next agent starts in the same directory and
finds sockets of processes that no longer exist.  A process killed by a signal leaves its
socket behind: a client that finds one gets "connection refused" and treats it as no agent.

**After fork**, the child has no agent: it closes its copies of the agent's sockets without
removing the parent's socket file, and never answers for the parent.  A child that wants to be
dumped calls :func:`start_agent` again and gets ``{child pid}.sock``.
"""

from __future__ import annotations

import _thread
import atexit
import contextlib
import json
import os
import re
import secrets
import select
import socket
import stat
import struct
import sys
import tempfile
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..threaddump.collect import snapshot
from .errors import AgentError

__all__ = [
    "MAX_REQUEST",
    "REQUESTS",
    "TIMEOUT",
    "Agent",
    "agent_dir",
    "candidate_dirs",
    "peer_credentials",
    "snapshot_dict",
    "start_agent",
    "stop_agent",
]

REQUESTS: dict[bytes, bool] = {
    b"snarl-dump/1 locals=0\n": False,
    b"snarl-dump/1 locals=1\n": True,
}
"""The only requests the agent answers, and whether each asks for locals."""

MAX_REQUEST = 64
"""Bytes read from a connection at most; a longer request is refused."""

TIMEOUT = 5.0
"""Seconds a connection may take to send its request and to read the reply."""

OK = b"snarl-ok/1 "
ERROR = b"snarl-error/1 "

THREAD_NAME = "snarl-agent"

_SOCKET_NAME = re.compile(r"^(\d+)\.sock$")
_UCRED = struct.Struct("3i")  # struct ucred: pid, uid, gid


def peer_credentials(conn: socket.socket) -> tuple[int, int, int]:
    """(pid, uid, gid) of the process at the other end of a connected Unix socket."""
    raw = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, _UCRED.size)
    pid, uid, gid = _UCRED.unpack(raw)
    return pid, uid, gid


def snapshot_dict(with_locals: bool = False) -> dict[str, Any]:
    """This process's snapshot in its JSON form, without snarl's own threads.

    Left out: the thread taking it (the agent, or the one a client injected) and the agent's
    thread: their frames are snarl's, so they would only show as threads with no frame of the
    program's.
    """
    data = snapshot(locals=with_locals).to_dict()
    agent = _agent
    ours = agent.thread.ident if agent is not None and agent.running else None
    data["threads"] = [t for t in data["threads"] if not t["current"] and t["ident"] != ours]
    return data


# ---- the directory ------------------------------------------------------------------------


def _is_private_dir(path: Path, uid: int) -> bool:
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
    if runtime and os.path.isabs(runtime) and _is_private_dir(Path(runtime), uid):
        return Path(runtime) / "snarl"
    return Path(tempfile.gettempdir()) / f"snarl-{uid}"


def candidate_dirs(uid: int, environ: Mapping[str, str]) -> list[Path]:
    """Where the agent of a process of user ``uid``, started with ``environ``, may listen.

    A client cannot call :func:`agent_dir` in the target, so it tries every directory the
    target could have chosen: its ``XDG_RUNTIME_DIR``, then the temporary directories
    ``tempfile.gettempdir()`` would pick from the target's environment, then the usual ones.
    """
    found: list[Path] = []
    runtime = environ.get("XDG_RUNTIME_DIR")
    if runtime and os.path.isabs(runtime):
        found.append(Path(runtime) / "snarl")
    bases = [environ.get(name) for name in ("TMPDIR", "TEMP", "TMP")]
    bases += ["/tmp", "/var/tmp", "/usr/tmp", tempfile.gettempdir()]
    for base in bases:
        if base and os.path.isabs(base):
            path = Path(base) / f"snarl-{uid}"
            if path not in found:
                found.append(path)
    return found


def _ensure_dir(path: Path, uid: int) -> None:
    """Create ``path`` (mode 0700), or check that the existing one is private to ``uid``."""
    try:
        os.mkdir(path, 0o700)
    except FileExistsError:
        pass
    except OSError as exc:
        raise AgentError(f"cannot create the agent directory {path}: {exc.strerror}") from None
    else:
        os.chmod(path, 0o700)  # our own new directory: undo an unusual umask
    st = os.lstat(path)
    if not stat.S_ISDIR(st.st_mode):
        raise AgentError(f"the agent directory {path} is not a directory (a symlink or a file)")
    if st.st_uid != uid:
        raise AgentError(
            f"the agent directory {path} belongs to uid {st.st_uid}, not {uid}: refusing to use it"
        )
    mode = stat.S_IMODE(st.st_mode)
    if mode & 0o077 or mode & 0o700 != 0o700:
        raise AgentError(f"the agent directory {path} has mode {mode:04o}, not 0700: refusing")


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


# ---- the agent ----------------------------------------------------------------------------


class Agent:
    """A running agent: the socket it listens on and the thread that answers.

    Made by :func:`start_agent`; :meth:`stop` (or :func:`stop_agent`) ends it and removes the
    socket.
    """

    def __init__(self, directory: Path) -> None:
        self.pid = os.getpid()
        self.uid = os.geteuid()
        self.directory = directory
        self.path = directory / f"{self.pid}.sock"
        self._stopping = False
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            self._inode = self._bind()
            self._sock.listen(8)
        except BaseException:
            self._sock.close()
            raise
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_w, False)
        self.thread = threading.Thread(target=self._serve, name=THREAD_NAME, daemon=True)
        self.thread.start()

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"<snarl Agent pid={self.pid} {state} at {str(self.path)!r}>"

    @property
    def running(self) -> bool:
        """Whether the agent still answers (False after :meth:`stop` or in a forked child)."""
        return not self._stopping and self.pid == os.getpid()

    def _bind(self) -> int:
        temp = self.directory / f".{self.pid}.{secrets.token_hex(4)}.tmp"
        if len(os.fsencode(self.path)) >= 104 or len(os.fsencode(temp)) >= 104:
            raise AgentError(f"the agent socket path {self.path} is too long for a Unix socket")
        try:
            self._sock.bind(os.fspath(temp))
            try:
                os.chmod(temp, 0o600)
                os.replace(temp, self.path)  # also replaces a stale socket of an earlier pid
            except BaseException:
                os.unlink(temp)
                raise
        except OSError as exc:
            raise AgentError(f"cannot create the agent socket {self.path}: {exc}") from None
        return os.lstat(self.path).st_ino

    def _serve(self) -> None:
        sock = self._sock
        while not self._stopping:
            try:
                ready, _, _ = select.select([sock, self._wake_r], [], [])
            except (OSError, ValueError):
                return
            if self._stopping or self._wake_r in ready:
                return
            try:
                conn, _ = sock.accept()
            except OSError:
                continue
            # A client's failure never stops the agent, nor disturbs the program.
            with conn, contextlib.suppress(Exception):
                self._answer(conn)

    def _answer(self, conn: socket.socket) -> None:
        conn.settimeout(TIMEOUT)
        _, uid, _ = peer_credentials(conn)
        # The request is read (64 bytes at most, nothing done with it) before any refusal, so
        # that the refusal reaches a client still sending instead of breaking its pipe.
        request = _read_request(conn)
        if uid not in (self.uid, 0):
            _send_error(conn, f"uid {uid} may not dump this process (uid {self.uid})")
            return
        if request is None:
            _send_error(conn, f"request longer than {MAX_REQUEST} bytes")
            return
        with_locals = REQUESTS.get(request)
        if with_locals is None:
            _send_error(conn, "unknown request")
            return
        if self._stopping:
            return
        try:
            payload = json.dumps(snapshot_dict(with_locals)).encode()
        except Exception as exc:
            _send_error(conn, f"the snapshot failed: {type(exc).__name__}: {exc}")
            return
        conn.sendall(OK + b"%d\n" % len(payload) + payload)

    def stop(self) -> None:
        """Stop answering and remove the socket (only this process's own socket file)."""
        if self._stopping:
            return
        self._stopping = True
        if self.pid != os.getpid():  # a forked child: close our copies, touch no file
            self._close()
            return
        with contextlib.suppress(OSError):
            os.write(self._wake_w, b"x")
        if self.thread is not threading.current_thread():
            self.thread.join(TIMEOUT)
        self._close()
        try:
            if os.lstat(self.path).st_ino == self._inode:
                os.unlink(self.path)
        except OSError:
            pass

    def _close(self) -> None:
        self._sock.close()
        for fd in (self._wake_r, self._wake_w):
            with contextlib.suppress(OSError):
                os.close(fd)


def _read_request(conn: socket.socket) -> bytes | None:
    """The request line (with its newline), or what came before EOF; None if too long."""
    data = b""
    while b"\n" not in data:
        chunk = conn.recv(MAX_REQUEST + 1 - len(data))
        if not chunk:
            break
        data += chunk
        if len(data) > MAX_REQUEST:
            return None
    return data


def _send_error(conn: socket.socket, reason: str) -> None:
    with contextlib.suppress(OSError):
        conn.sendall(ERROR + reason.encode("utf-8", "replace") + b"\n")


# ---- start and stop -----------------------------------------------------------------------

_lock = _thread.allocate_lock()  # not threading.Lock: snarl.install() must not track it
_agent: Agent | None = None
_hooks_installed = False


def start_agent() -> Agent:
    """Start this process's agent (idempotent: a running agent is returned as it is).

    Raises :class:`AgentError` when the per-user directory is not safe (see the module
    docstring) or the platform has no ``SO_PEERCRED`` (the agent needs Linux).
    """
    global _agent, _hooks_installed
    if not hasattr(socket, "SO_PEERCRED") or not hasattr(socket, "AF_UNIX"):
        raise AgentError(
            f"the snarl agent needs Unix sockets with SO_PEERCRED (Linux), not {sys.platform}"
        )
    with _lock:
        if _agent is not None and _agent.running:
            return _agent
        directory = agent_dir()
        _ensure_dir(directory, os.geteuid())
        _remove_stale(directory)
        _agent = Agent(directory)
        if not _hooks_installed:
            atexit.register(_at_exit)
            os.register_at_fork(after_in_child=_after_fork_in_child)
            _hooks_installed = True
        return _agent


def stop_agent() -> None:
    """Stop this process's agent, if one runs, and remove its socket."""
    global _agent
    with _lock:
        agent, _agent = _agent, None
    if agent is not None:
        agent.stop()


def _at_exit() -> None:
    if _agent is not None and _agent.pid == os.getpid():
        stop_agent()


def _after_fork_in_child() -> None:
    global _agent, _lock
    _lock = _thread.allocate_lock()  # the parent's may have been held by another thread
    agent, _agent = _agent, None
    if agent is not None:
        agent.stop()  # in the child: closes the inherited sockets, removes nothing
