"""``snarl dump PID``: the dump of another running Python process.

:func:`fetch` checks the process (:func:`snarl.remote.target.inspect_target`), then tries, in
order, each method that can reach it, and says which one answered and what it cannot see:

1. ``agent``: the process runs snarl's agent (``snarl run``, or ``snarl.install(agent=True)``,
   or :func:`snarl.remote.start_agent`); its own snarl answers over a Unix socket with the full
   snapshot, lock owners included when it tracks locks (:mod:`snarl.remote.agent`).
2. ``gdb``: gdb starts a thread in the process that runs snarl's snapshot there
   (:mod:`snarl.remote.inject`): the same facts as the agent, without preparing the program.
3. ``py-spy``: if installed, py-spy reads the stacks from outside, without the GIL
   (:mod:`snarl.remote.pyspy`): frames only.

When the agent or gdb gets no answer in time (a thread holds the GIL), gdb is not tried after
the agent, and py-spy, which needs no GIL, still is.

Exit codes of :func:`main_dump` (each error is one line on standard error, with its remedy):

== ==========================================================================================
0  the dump was printed
2  usage: the PID is not a positive integer
4  no such process (it may just have exited)
5  not a Python process
6  permission denied (another user's process, or ptrace refused)
7  unsupported Python version (snarl dumps CPython 3.10 to 3.13)
8  the process did not answer in time: probably a thread holds the GIL in C code
9  no method could reach the process: no agent, gdb failed or absent, no py-spy
10 the process answered, but not with a snarl dump (malformed, truncated or over
   :data:`~snarl.remote.inject.MAX_REPLY` bytes)
== ==========================================================================================

``--timeout`` bounds the whole call: every method shares one deadline.  What came from the
process (thread and file names, source lines, error text) reaches the terminal escaped
(:mod:`snarl.terminal`): control characters are printed as visible ``\\xNN``.
"""

from __future__ import annotations

import errno
import json as _json
import math
import os
import signal
import socket
import stat
import sys
import time
from dataclasses import dataclass
from typing import IO, Any

from ..terminal import escape, escape_text
from ..threaddump.api import format_dump
from ..threaddump.model import Snapshot
from .agent import ERROR, OK, candidate_dirs, peer_credentials
from .agentdir import is_private_dir
from .errors import (
    BadPid,
    BadReply,
    NoAnswer,
    NoMethod,
    PermissionDenied,
    RemoteError,
)
from .inject import MAX_REPLY, Unavailable, inject_dump
from .pyspy import CANNOT as PYSPY_CANNOT
from .pyspy import PySpyFailed, pyspy_dump, pyspy_holders_of_gil
from .target import Target, inspect_target

__all__ = ["METHODS", "Fetched", "fetch", "main_dump", "parse_pid"]

METHODS = ("agent", "gdb", "py-spy")
"""The ways to reach a process, in the order :func:`fetch` tries them."""

_MAX_HEADER = 1024  # bytes of the reply's first line: "snarl-ok/1 LENGTH" or an error
_AGENT_HELP = "Run the program under `snarl run`, or call snarl.install(agent=True) in it."
_ONLY = {
    "gdb": "Check the reason above; without gdb (apt-get install gdb), try --method py-spy.",
    "py-spy": "Install py-spy: `pip install py-spy` (found on PATH, or beside snarl's own"
    " interpreter).",
}
_UNTRACKED = (
    "owners of locks taken with a bare acquire(), and how long each wait has lasted"
    " (the process does not track locks: run it under `snarl run`)"
)


@dataclass(frozen=True)
class Fetched:
    """A dump of another process: the snapshot, the method that made it (one of
    :data:`METHODS`), what that method cannot see, and notes on how it was obtained."""

    snapshot: Snapshot
    method: str
    cannot: tuple[str, ...]
    notes: tuple[str, ...] = ()


class _Skip(Exception):
    """A method cannot be used on this process: try the next one."""


def parse_pid(text: str) -> int:
    """The PID argument as an int; :class:`BadPid` unless it is a positive decimal integer."""
    stripped = text.strip()
    if not stripped.isdecimal() or not stripped.isascii() or int(stripped) <= 0:
        raise BadPid(f"not a process id: {text!r}")
    return int(stripped)


def fetch(
    pid: int, *, locals: bool = False, timeout: float = 5.0, method: str | None = None
) -> Fetched:
    """The dump of process ``pid``, by ``method`` (one of :data:`METHODS`) or the first that
    works.  ``locals=True`` asks for each frame's locals (bounded reprs: the agent and gdb run
    them in the process, py-spy reads them).  ``timeout`` bounds the whole call, in seconds:
    the methods share it.

    Raises a :class:`snarl.remote.errors.RemoteError` subclass: see the exit codes above.
    """
    if method is not None and method not in METHODS:
        raise BadPid(f"unknown method {method!r}", help=f"Choose one of {', '.join(METHODS)}.")
    if not timeout > 0:
        raise BadPid(f"the timeout must be positive, not {timeout}", help="Give it in seconds.")
    deadline = time.monotonic() + timeout
    target = inspect_target(pid)
    methods = (method,) if method is not None else METHODS
    skipped: list[str] = []
    failure: RemoteError | None = None
    notes: list[str] = []
    gil_stuck = False
    for name in methods:
        if name == "gdb" and gil_stuck:
            skipped.append("gdb: not tried (it needs the GIL too)")
            continue
        left = deadline - time.monotonic()
        if left <= 0:
            failure = failure or NoAnswer(
                f"process {pid} was not dumped within the timeout ({timeout:g} s)"
            )
            skipped.append(f"{name}: not tried (no time left)")
            continue
        try:
            fetched = _METHODS[name](target, locals, timeout, deadline)
        except _Skip as exc:
            skipped.append(f"{name}: {exc}")
            continue
        except NoAnswer as exc:
            if method is not None:
                raise _with_hints(exc, target) from None
            failure = failure or exc
            gil_stuck = True
            notes.append(f"{name} got no answer in {timeout:g} s")
            continue
        except PermissionDenied as exc:
            if method is not None:
                raise
            failure = failure if isinstance(failure, NoAnswer) else exc
            skipped.append(f"{name}: {exc}")
            continue
        return Fetched(fetched.snapshot, fetched.method, fetched.cannot, (*notes, *fetched.notes))
    if isinstance(failure, NoAnswer):
        raise _with_hints(failure, target)
    if failure is not None:
        raise failure
    if method == "agent":
        reason = skipped[0].removeprefix("agent: ")
        raise NoMethod(f"process {pid} runs no snarl agent ({reason})", help=_AGENT_HELP)
    if method is not None:  # the remedy of the one method asked for, not of the others
        raise NoMethod(
            f"nothing could reach process {pid}: " + "; ".join(skipped), help=_ONLY[method]
        )
    raise NoMethod(f"nothing could reach process {pid}: " + "; ".join(skipped))


def _with_hints(exc: NoAnswer, target: Target) -> NoAnswer:
    """The timeout's remedy, made specific: is faulthandler's SIGUSR2 there, is py-spy?"""
    if not exc.gil:
        return exc  # the timeout was too short to tell: its own remedy says so
    hints = []
    if signal.SIGUSR2 in target.caught:
        hints.append(
            f"send SIGUSR2 for faulthandler's dump, if that is what the program registered"
            f" (`kill -USR2 {target.pid}`: it needs no GIL)"
        )
    else:
        hints.append(
            "faulthandler's dump needs no GIL: make the program call"
            " faulthandler.register(signal.SIGUSR2), then `kill -USR2 PID`".replace(
                "PID", str(target.pid)
            )
        )
    hints.append(f"`py-spy dump --pid {target.pid}` reads the stacks without the GIL")
    return NoAnswer(str(exc), help="A thread holding the GIL blocks snarl: " + "; ".join(hints))


# ---- agent --------------------------------------------------------------------------------


def _agent(target: Target, with_locals: bool, timeout: float, deadline: float) -> Fetched:
    refused = []
    for directory in candidate_dirs(target.uid, target.environ):
        # Only a real directory of the target's user that no one else may enter: a symlink or
        # another owner's directory (named by the target's TMPDIR) is never followed.
        if not is_private_dir(directory, target.uid):
            continue
        path = directory / f"{target.pid}.sock"
        try:
            if not stat.S_ISSOCK(os.lstat(path).st_mode):
                continue
        except OSError:
            continue
        conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            conn.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                conn.connect(os.fspath(path))
            except ConnectionRefusedError:
                refused.append(str(path))  # a stale socket: its process died without cleanup
                continue
            except OSError as exc:
                if exc.errno in (errno.EACCES, errno.EPERM):
                    raise PermissionDenied(
                        f"not allowed to connect to the agent socket {path}"
                    ) from None
                continue
            peer_pid, _peer_uid, _ = peer_credentials(conn)
            if peer_pid != target.pid:
                refused.append(f"{path} (answered by pid {peer_pid})")
                continue
            data = _ask(conn, with_locals, deadline, target)
        finally:
            conn.close()
        snap = _snapshot(data, target, "agent")
        cannot = () if snap.tracked else (_UNTRACKED,)
        return Fetched(snap, "agent", cannot, (f"the agent answered at {path}",))
    stale = f" (stale sockets, no one listening: {', '.join(refused)})" if refused else ""
    raise _Skip(f"no agent socket{stale}")


def _ask(conn: socket.socket, with_locals: bool, deadline: float, target: Target) -> Any:
    """Send the request; the reply's JSON, parsed (a dict is checked for by the caller)."""
    request = b"snarl-dump/1 locals=%d\n" % int(with_locals)
    bad = f"the agent of process {target.pid}"
    try:
        conn.settimeout(max(0.001, deadline - time.monotonic()))
        conn.sendall(request)
        header = b""
        while b"\n" not in header:
            if len(header) > _MAX_HEADER:
                raise BadReply(f"{bad} sent a header line longer than {_MAX_HEADER} bytes")
            conn.settimeout(max(0.001, deadline - time.monotonic()))
            chunk = conn.recv(_MAX_HEADER + 1)
            if not chunk:
                if not header:
                    raise BadReply(f"{bad} closed the connection without a reply")
                break
            header += chunk
        line, _, body = header.partition(b"\n")
        if line.startswith(ERROR):
            reason = escape(line[len(ERROR) :].decode("utf-8", "replace"))[:300]
            if reason.startswith("uid "):
                raise PermissionDenied(f"the agent of process {target.pid} refused: {reason}")
            raise _Skip(f"the agent refused: {reason}")
        digits = line[len(OK) :]
        if not line.startswith(OK) or not digits.isdigit() or len(digits) > 19:
            raise BadReply(f"{bad} answered something that is not a snarl agent's reply")
        size = int(digits)
        if size > MAX_REPLY:
            raise BadReply(f"{bad} announced {size} bytes, more than {MAX_REPLY >> 20} MiB")
        chunks = [body[:size]]
        received = len(chunks[0])
        while received < size:
            conn.settimeout(max(0.001, deadline - time.monotonic()))
            chunk = conn.recv(min(1 << 20, size - received))
            if not chunk:
                raise BadReply(f"{bad} closed the connection after {received} of {size} bytes")
            chunks.append(chunk)
            received += len(chunk)
    except TimeoutError:
        raise NoAnswer(
            f"the agent of process {target.pid} did not answer in time: a thread probably"
            " holds the GIL"
        ) from None
    except OSError as exc:
        raise BadReply(f"the connection with {bad} failed: {exc.strerror or exc}") from None
    try:
        return _json.loads(b"".join(chunks))
    except ValueError:
        raise BadReply(f"{bad} sent a reply that is not JSON") from None


def _snapshot(data: Any, target: Target, method: str) -> Snapshot:
    """The snapshot in a reply, or :class:`BadReply` for anything that is not one."""
    try:
        if not isinstance(data, dict):
            raise TypeError("not a JSON object")
        snap = Snapshot.from_dict(data)
        if not isinstance(snap.pid, int) or not all(
            isinstance(t.name, str | None) for t in snap.threads
        ):
            raise TypeError("fields of the wrong type")
    except Exception as exc:
        raise BadReply(
            f"the {method} reply of process {target.pid} is not a snarl dump"
            f" ({type(exc).__name__}: {escape(str(exc))[:200]})"
        ) from None
    return snap


# ---- gdb ----------------------------------------------------------------------------------


def _gdb(target: Target, with_locals: bool, timeout: float, deadline: float) -> Fetched:
    try:
        injected = inject_dump(target, with_locals=with_locals, timeout=timeout, deadline=deadline)
    except Unavailable as exc:
        raise _Skip(str(exc)) from None
    snap = _snapshot(injected.data, target, "gdb")
    cannot = () if snap.tracked else (_UNTRACKED,)
    notes = ["gdb started a thread in the process that ran snarl's snapshot there"]
    if not injected.own:
        notes.append(
            "the process has no snarl: this snarl's code was sent to it, its modules removed after"
        )
    return Fetched(snap, "gdb", cannot, tuple(notes))


# ---- py-spy -------------------------------------------------------------------------------


def _pyspy(target: Target, with_locals: bool, timeout: float, deadline: float) -> Fetched:
    try:
        snap, raw = pyspy_dump(target, with_locals=with_locals, timeout=timeout, deadline=deadline)
    except PySpyFailed as exc:
        raise _Skip(str(exc)) from None
    notes = []
    holders = pyspy_holders_of_gil(raw)
    if holders:
        notes.append(f"holding the GIL: {', '.join(holders)}")
    return Fetched(snap, "py-spy", PYSPY_CANNOT, tuple(notes))


_METHODS = {"agent": _agent, "gdb": _gdb, "py-spy": _pyspy}


# ---- printing -----------------------------------------------------------------------------


def render(fetched: Fetched, *, json: bool = False, all: bool = False) -> str:
    """The dump as ``snarl dump`` prints it: text (grouped unless ``all``) or JSON.

    In text, every string that came from the process is escaped first
    (:func:`snarl.terminal.escape`): a name cannot move the cursor or forge a line.  JSON
    escapes control characters by itself.
    """
    snap = fetched.snapshot
    if json:
        data = snap.to_dict()
        if math.isnan(snap.switch_interval):
            data["switch_interval"] = None  # unknown (py-spy): JSON has no NaN
        return _json.dumps(data) + "\n"
    snap = Snapshot.from_dict(_escape_strings(snap.to_dict()))
    text = escape_text(format_dump(snap, "text", group=not all))
    if fetched.method == "py-spy":
        header, _, rest = text.partition("\n")
        n = len(snap.threads)
        header = (
            f"py-spy dump of pid {snap.pid} · {snap.implementation} {snap.python}"
            f" · {n} thread{'s' if n != 1 else ''} · states, waits and lock owners unknown"
            f" · took {snap.duration * 1000:.1f} ms"
        )
        text = header + "\n" + rest
    return text


def _escape_strings(value: Any) -> Any:
    """``value`` (a snapshot's JSON form) with every string, keys of locals included, escaped."""
    if isinstance(value, str):
        return escape(value)
    if isinstance(value, list):
        return [_escape_strings(v) for v in value]
    if isinstance(value, dict):
        return {escape(k): _escape_strings(v) for k, v in value.items()}
    return value


def note(fetched: Fetched) -> str:
    """The one line ``snarl dump`` writes to standard error: the method, and what it misses."""
    how = {
        "agent": "snarl's agent in the process",
        "gdb": "gdb injection",
        "py-spy": "py-spy (read from outside)",
    }[fetched.method]
    parts = [f"snarl dump: pid {fetched.snapshot.pid} via {how}"]
    parts += [escape(n) for n in fetched.notes]
    if fetched.cannot:
        parts.append("cannot see: " + "; ".join(fetched.cannot))
    else:
        parts.append("lock owners tracked")
    return " · ".join(parts)


def main_dump(
    pid: str,
    *,
    json: bool = False,
    locals: bool = False,
    all: bool = False,
    timeout: float = 5.0,
    method: str | None = None,
    stdout: IO[str] | None = None,
    stderr: IO[str] | None = None,
) -> int:
    """``snarl dump PID``: print the dump to stdout, a one-line note on how it was made to
    stderr, and return 0; or print one error line to stderr and return its exit code (see
    the module docstring)."""
    out = sys.stdout if stdout is None else stdout
    err = sys.stderr if stderr is None else stderr
    try:
        fetched = fetch(parse_pid(pid), locals=locals, timeout=timeout, method=method)
        try:
            text = render(fetched, json=json, all=all)
        except Exception as exc:  # a reply that parsed, but holds values of the wrong kinds
            raise BadReply(
                f"the reply of process {fetched.snapshot.pid} cannot be printed"
                f" ({type(exc).__name__}: {exc})"
            ) from None
    except RemoteError as exc:
        remedy = exc.help.replace("PID", pid.strip())
        print(escape(f"snarl dump: error: {exc}. {remedy}"), file=err)
        return exc.exit_code
    out.write(text)
    out.flush()
    print(note(fetched), file=err)
    return 0


def _main(argv: list[str] | None = None) -> int:
    """``python -m snarl.remote PID [...]``: the same as ``snarl dump``, until the CLI has it."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m snarl.remote", description=__doc__)
    parser.add_argument("pid", metavar="PID")
    parser.add_argument("--json", action="store_true", help="print the JSON form")
    parser.add_argument("--locals", action="store_true", help="add each frame's locals")
    parser.add_argument("--all", action="store_true", help="every thread, ungrouped")
    parser.add_argument("--timeout", type=float, default=5.0, metavar="SECONDS")
    parser.add_argument("--method", choices=METHODS)
    args = parser.parse_args(argv)
    return main_dump(
        args.pid,
        json=args.json,
        locals=args.locals,
        all=args.all,
        timeout=args.timeout,
        method=args.method,
    )
