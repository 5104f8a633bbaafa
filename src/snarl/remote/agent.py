"""The in-process agent: answers one fixed request, over a Unix socket, with the JSON snapshot.

:func:`start_agent` starts a daemon thread named ``snarl-agent`` that listens on
``{directory}/{pid}.sock``; ``snarl dump PID`` (:mod:`snarl.remote.client`) connects to it and
receives :meth:`snarl.Snapshot.to_dict` of this process, lock owners included when snarl's
tracked primitives are installed.  Safety, in the order a connection meets it:

* **The directory** is per-user: ``$XDG_RUNTIME_DIR/snarl`` when ``XDG_RUNTIME_DIR`` is set
  and is a directory of this user with mode 0700, else ``{tempfile.gettempdir()}/snarl-{uid}``.
  It is created with mode 0700; if it exists with another owner, or lets anyone else in, or is
  not a plain directory (a symlink), or its socket path would be too long, it is not used: the
  agent tries ``/tmp/snarl-{uid}``, then a fresh private directory made by ``mkdtemp``
  (``snarl-{uid}-XXXXXXXX`` in the temporary directory, else in ``/tmp``; removed when the
  agent stops).  Only when none works does :func:`start_agent` raise :class:`AgentError`,
  whose ``str()`` is one line (what was tried and why each failed).
* **The socket** is bound at a temporary name inside that directory, given mode 0600, then
  renamed to ``{pid}.sock``: it is 0600 from its first moment at the name clients use, with no
  change of the process-wide umask (which would race with the program's own threads).
* **The peer's uid** is read with ``SO_PEERCRED``: only this process's own effective uid, and
  root, are answered (root may ptrace the process anyway).  Others get one error line, after
  their request is read and left unused (so that the line reaches a client still sending).
* **The request** is one fixed line, :data:`REQUESTS`; nothing else is accepted, nothing in it
  is evaluated, and at most :data:`MAX_REQUEST` bytes are read.  Connections are served side by
  side from one thread (``selectors``: no ``select()`` limit on descriptor numbers): a client
  has :data:`REQUEST_TIMEOUT` to send its request (then it is told so and closed) and
  :data:`TIMEOUT` for the whole connection, so a silent or slow client never holds the agent
  for others.  At most :data:`MAX_CONNECTIONS` are open at once.  When descriptors run out
  (``EMFILE`` on accept), the agent stops accepting for a moment instead of spinning.
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
import errno
import json
import os
import secrets
import selectors
import socket
import struct
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from ..terminal import escape
from ..threaddump.collect import snapshot
from .agentdir import _ensure_dir, _fits, _remove_stale, agent_dir, candidate_dirs
from .errors import AgentError

__all__ = [
    "MAX_CONNECTIONS",
    "MAX_REQUEST",
    "REQUESTS",
    "REQUEST_TIMEOUT",
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
"""Seconds a connection may last, from accept to the last byte of the reply."""

REQUEST_TIMEOUT = 2.0
"""Seconds a client has to send its request after connecting."""

MAX_CONNECTIONS = 16
"""Connections served at once; more wait in the listen backlog."""

OK = b"snarl-ok/1 "
ERROR = b"snarl-error/1 "

THREAD_NAME = "snarl-agent"

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


# ---- the agent ----------------------------------------------------------------------------


class _Connection:
    """One client: its socket, peer uid, what it sent, what is left to send, its deadlines."""

    __slots__ = ("deadline", "out", "request", "request_by", "sock", "uid")

    def __init__(self, sock: socket.socket, uid: int, now: float) -> None:
        self.sock = sock
        self.uid = uid
        self.request = b""
        self.out: memoryview | None = None
        self.request_by = now + REQUEST_TIMEOUT
        self.deadline = now + TIMEOUT


class Agent:
    """A running agent: the socket it listens on and the thread that answers.

    Made by :func:`start_agent`; :meth:`stop` (or :func:`stop_agent`) ends it and removes the
    socket (and the directory, when the agent made a private one for itself: ``owns_dir``).
    """

    def __init__(self, directory: Path, *, owns_dir: bool = False) -> None:
        self.pid = os.getpid()
        self.uid = os.geteuid()
        self.directory = directory
        self.owns_dir = owns_dir
        self.path = directory / f"{self.pid}.sock"
        self._stopping = False
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            self._inode = self._bind()
            self._sock.listen(8)
            self._sock.setblocking(False)
        except BaseException:
            self._sock.close()
            raise
        try:
            self._wake_r, self._wake_w = os.pipe()
            os.set_blocking(self._wake_w, False)
            # Made here, not in the thread: every descriptor the agent needs exists before
            # start_agent() returns (a program that then uses up its descriptors cannot leave
            # the thread without its selector).
            self._selector = selectors.DefaultSelector()
        except OSError as exc:
            self._sock.close()
            for fd in getattr(self, "_wake_r", None), getattr(self, "_wake_w", None):
                if fd is not None:
                    os.close(fd)
            raise AgentError(f"cannot start the agent: {exc.strerror or exc}") from None
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
        if not _fits(self.directory):
            raise AgentError(
                f"the agent socket path {escape(str(self.path))} is too long for a Unix socket"
            )
        try:
            self._sock.bind(os.fspath(temp))
            try:
                os.chmod(temp, 0o600)
                os.replace(temp, self.path)  # also replaces a stale socket of an earlier pid
            except BaseException:
                os.unlink(temp)
                raise
        except OSError as exc:
            raise AgentError(
                f"cannot create the agent socket {escape(str(self.path))}: {exc.strerror}"
            ) from None
        return os.lstat(self.path).st_ino

    def _serve(self) -> None:
        # The agent never disturbs the program, whatever happens here.
        with contextlib.suppress(Exception):
            self._loop(self._selector)
        if not self._stopping:  # the loop failed: refuse connections rather than hold them
            with contextlib.suppress(OSError):
                self._sock.close()

    def _loop(self, selector: selectors.BaseSelector) -> None:
        selector.register(self._wake_r, selectors.EVENT_READ, "wake")
        selector.register(self._sock, selectors.EVENT_READ, "listen")
        listening = True
        resume_at = 0.0  # when accepting may start again after EMFILE
        pause = 0.05
        conns: dict[int, _Connection] = {}
        while not self._stopping:
            now = time.monotonic()
            due = [c.request_by if c.out is None else c.deadline for c in conns.values()]
            if not listening:
                due.append(resume_at)
            timeout = max(0.0, min(due) - now) if due else None
            for key, _ in selector.select(timeout):
                if key.data == "wake" or self._stopping:
                    return
                if key.data == "listen":
                    pause = self._accept(selector, conns, pause)
                    if pause > 0.05 or len(conns) >= MAX_CONNECTIONS:
                        selector.unregister(self._sock)
                        listening = False
                        resume_at = time.monotonic() + (pause if pause > 0.05 else 0.05)
                else:
                    self._step(selector, conns, key.data)
            now = time.monotonic()
            for conn in list(conns.values()):
                if conn.out is None and now >= conn.request_by:
                    _send_error(conn.sock, f"no request within {REQUEST_TIMEOUT:g} s")
                    self._drop(selector, conns, conn)
                elif now >= conn.deadline:
                    self._drop(selector, conns, conn)  # a reader too slow: it gets a short reply
            if not listening and now >= resume_at and len(conns) < MAX_CONNECTIONS:
                selector.register(self._sock, selectors.EVENT_READ, "listen")
                listening = True

    def _accept(
        self, selector: selectors.BaseSelector, conns: dict[int, _Connection], pause: float
    ) -> float:
        """Accept what waits; the pause before accepting again (doubled while out of fds)."""
        while len(conns) < MAX_CONNECTIONS:
            try:
                sock, _ = self._sock.accept()
            except BlockingIOError:
                return 0.05
            except OSError as exc:
                if exc.errno in (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM):
                    return min(1.0, max(0.1, pause * 2))  # no spin while descriptors run out
                return 0.05
            try:
                sock.setblocking(False)
                _, uid, _ = peer_credentials(sock)
            except OSError:
                sock.close()
                continue
            conn = _Connection(sock, uid, time.monotonic())
            conns[sock.fileno()] = conn
            selector.register(sock, selectors.EVENT_READ, conn)
        return 0.05

    def _drop(
        self, selector: selectors.BaseSelector, conns: dict[int, _Connection], conn: _Connection
    ) -> None:
        conns.pop(conn.sock.fileno(), None)
        with contextlib.suppress(KeyError, ValueError, OSError):
            selector.unregister(conn.sock)
        conn.sock.close()

    def _step(
        self, selector: selectors.BaseSelector, conns: dict[int, _Connection], conn: _Connection
    ) -> None:
        """Read from or write to one connection, as far as it goes without blocking."""
        try:
            if conn.out is None:
                chunk = conn.sock.recv(MAX_REQUEST + 1 - len(conn.request))
                conn.request += chunk
                if chunk and b"\n" not in conn.request and len(conn.request) <= MAX_REQUEST:
                    return  # more to come
                conn.out = memoryview(self._reply(conn))
                selector.modify(conn.sock, selectors.EVENT_WRITE, conn)
            sent = conn.sock.send(conn.out[: 1 << 18])
            conn.out = conn.out[sent:]
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            self._drop(selector, conns, conn)
            return
        if not conn.out:
            self._drop(selector, conns, conn)

    def _reply(self, conn: _Connection) -> bytes:
        """The whole reply to a complete request (or to what came before EOF)."""
        # The request is read (64 bytes at most, nothing done with it) before any refusal, so
        # that the refusal reaches a client still sending instead of breaking its pipe.
        if conn.uid not in (self.uid, 0):
            return _error(f"uid {conn.uid} may not dump this process (uid {self.uid})")
        if len(conn.request) > MAX_REQUEST:
            return _error(f"request longer than {MAX_REQUEST} bytes")
        with_locals = REQUESTS.get(conn.request)
        if with_locals is None:
            return _error("unknown request")
        try:
            payload = json.dumps(snapshot_dict(with_locals)).encode()
        except Exception as exc:
            return _error(f"the snapshot failed: {type(exc).__name__}: {exc}")
        return OK + b"%d\n" % len(payload) + payload

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
        if self.owns_dir:
            with contextlib.suppress(OSError):
                os.rmdir(self.directory)

    def _close(self) -> None:
        with contextlib.suppress(Exception):
            self._selector.close()
        self._sock.close()
        for fd in (self._wake_r, self._wake_w):
            with contextlib.suppress(OSError):
                os.close(fd)


def _error(reason: str) -> bytes:
    return ERROR + " ".join(reason.split()).encode("utf-8", "replace") + b"\n"


def _send_error(conn: socket.socket, reason: str) -> None:
    with contextlib.suppress(OSError):
        conn.send(_error(reason))


# ---- start and stop -----------------------------------------------------------------------

_FALLBACK_BASE = "/tmp"  # the usual temporary directory, tried when TMPDIR's cannot be used

_lock = _thread.allocate_lock()  # not threading.Lock: snarl.install() must not track it
_agent: Agent | None = None
_hooks_installed = False


def _start_somewhere(uid: int) -> Agent:
    """An agent in the first directory that works (see the module docstring)."""
    problems: list[str] = []
    preferred = agent_dir()
    usual = Path(_FALLBACK_BASE) / f"snarl-{uid}"
    for directory in dict.fromkeys([preferred, usual]):
        try:
            if not _fits(directory):
                raise AgentError(f"the socket path in {escape(str(directory))} is too long")
            _ensure_dir(directory, uid)
            _remove_stale(directory)
            return Agent(directory)
        except AgentError as exc:
            problems.append(str(exc))
    for base in dict.fromkeys([tempfile.gettempdir(), _FALLBACK_BASE]):
        if not _fits(Path(base) / f"snarl-{uid}-{'x' * 8}"):
            problems.append(f"{escape(base)} is too long a path for a socket")
            continue
        try:
            private = Path(tempfile.mkdtemp(prefix=f"snarl-{uid}-", dir=base))
        except OSError as exc:
            problems.append(f"no private directory in {escape(base)}: {exc.strerror}")
            continue
        try:
            return Agent(private, owns_dir=True)
        except AgentError as exc:
            problems.append(str(exc))
            with contextlib.suppress(OSError):
                os.rmdir(private)
    raise AgentError("; ".join(problems))


def start_agent() -> Agent:
    """Start this process's agent (idempotent: a running agent is returned as it is).

    The directory is chosen as the module docstring says; a hostile or unusable one is passed
    over.  Raises :class:`AgentError` (a one-line ``str()``: each place tried and why it could
    not be used) when no directory works, or when the platform has no ``SO_PEERCRED`` (the
    agent needs Linux).
    """
    global _agent, _hooks_installed
    if not hasattr(socket, "SO_PEERCRED") or not hasattr(socket, "AF_UNIX"):
        raise AgentError(
            f"the snarl agent needs Unix sockets with SO_PEERCRED (Linux), not {sys.platform}"
        )
    with _lock:
        if _agent is not None and _agent.running:
            return _agent
        _agent = _start_somewhere(os.geteuid())
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
