"""The dump of a process without the agent: gdb makes it run snarl's snapshot in a new thread.

How it works.  ``gdb -p PID -batch -nx`` attaches (stopping the process for a moment) and makes
only calls that cannot block on the GIL: it maps one private page (``mmap``), copies into it 69
bytes of x86-64 code and the source of :data:`snarl.remote.bootstrap.SOURCE`, makes the page
executable (``mprotect``), and starts a thread on that code with
``PyThread_start_new_thread``.  Then it detaches.  The new thread does what a C extension's
thread does: ``PyGILState_Ensure()``, ``PyRun_String(bootstrap, Py_file_input, d, d)`` with a
fresh dict ``d`` (so nothing in the program's ``__main__`` is seen), ``PyGILState_Release()``.
The bootstrap connects to an abstract Unix socket the client listens on (a random name; the
client answers only the process whose id ``SO_PEERCRED`` gives), receives snarl's code from the
client and sends the snapshot back (:mod:`snarl.remote.bootstrap` says how the code is loaded).

Safe as root against another user's process.  The gdb script and the code page are written in a
private directory of the dumper (``mkdtemp``, mode 0700, never handed to anyone); the target
receives nothing on disk, and nothing of the target is executed, imported or followed by the
dumper.  The reply is data: size-capped, parsed as JSON, checked by ``Snapshot.from_dict``.

Why a new thread, and not ``call PyGILState_Ensure()`` from gdb in an existing one: when a
thread holds the GIL inside C code, ``PyGILState_Ensure`` never returns, and neither
interrupting that call nor killing gdb is safe (the thread would be left inside the GIL's
condition variable, or return into a breakpoint gdb no longer handles, and crash the program).
Here gdb never waits for the GIL; the new thread does, harmlessly, and the client gives up after
its timeout (:class:`NoAnswer`, exit code 8) while the program runs on.  The client then closes
its socket; a bootstrap that runs later, when the GIL is free, cannot connect and does nothing.

Risks, stated:

* The process is stopped while gdb attaches (about half a second, longer with many threads),
  and a thread interrupted in a system call has the call restarted.
* gdb's calls (``mmap``, ``mprotect``, ``PyThread_start_new_thread``) run on the thread gdb
  selects; one interrupted inside ``malloc`` could make ``PyThread_start_new_thread`` wait
  for the allocator's lock.  gdb is interrupted after the timeout (``set unwindonsignal on``
  restores that thread's registers), and killed two seconds later if it still runs.
* Each dump leaves one page mapped in the process; standard-library modules snarl's snapshot
  needs stay imported.  A process that never imported ``threading`` is not dumped before 3.13
  (:class:`Unavailable`): imported first from the bootstrap's thread, ``threading`` would take
  that thread for the main thread.
* gdb needs ptrace permission: the same user and ``kernel.yama.ptrace_scope`` 0, or root.
  The machine code is x86-64 only; other machines get :class:`Unavailable`, and so does a
  process in another network namespace (the abstract socket would not reach it).
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .bootstrap import BUNDLE_LIMIT, SOURCE, bundle
from .errors import (
    BadReply,
    NoAnswer,
    NoSuchProcess,
    PermissionDenied,
    RemoteError,
    UnsupportedVersion,
)
from .target import Target

__all__ = [
    "MAX_REPLY",
    "Injected",
    "Unavailable",
    "inject_dump",
    "ptrace_problem",
    "ptrace_scope",
]

MAX_REPLY = 1 << 28
"""The largest reply read from the process (256 MiB); a longer one is an error."""

# The thread's code, x86-64 System V (rdi = a block of seven pointers: PyGILState_Ensure,
# PyRun_String, PyGILState_Release, the source text, PyDict_New, Py_DecRef, PyErr_Clear); three
# pushes keep the stack 16-byte aligned at each call:
#   push rbx; push r12; push r13; mov rbx, rdi
#   call [rbx]                    ; eax = PyGILState_Ensure()
#   mov r12d, eax
#   call [rbx+32]; mov r13, rax   ; d = PyDict_New()
#   test rax, rax; jz release
#   mov rdi, [rbx+24]; mov esi, 257; mov rdx, r13; mov rcx, r13
#   call [rbx+8]                  ; r = PyRun_String(source, Py_file_input, d, d)
#   mov rdi, rax; call [rbx+40]   ; Py_DecRef(r) (NULL is fine)
#   call [rbx+48]                 ; PyErr_Clear()
#   mov rdi, r13; call [rbx+40]   ; Py_DecRef(d)
# release:
#   mov edi, r12d; call [rbx+16]  ; PyGILState_Release(state)
#   pop r13; pop r12; pop rbx; ret
_CODE_X86_64 = bytes.fromhex(
    "53" "4154" "4155" "4889fb" "ff13" "4189c4" "ff5320" "4989c5" "4885c0" "7421"
    "488b7b18" "be01010000" "4c89ea" "4c89e9" "ff5308" "4889c7" "ff5328" "ff5330"
    "4c89ef" "ff5328" "4489e7" "ff5310" "415d" "415c" "5b" "c3"
)  # fmt: skip
_BLOCK = 80  # offset of the seven pointers
_SOURCE = 160  # offset of the NUL-terminated source
_PAGE = 4096
_INVALID_THREAD = (1 << 64) - 1
_FUNCTIONS = (
    "PyGILState_Ensure",
    "PyRun_String",
    "PyGILState_Release",
    None,  # the source
    "PyDict_New",
    "Py_DecRef",
    "PyErr_Clear",
)


class Unavailable(RemoteError):
    """This method cannot be used on this process (gdb missing, another machine, ...)."""

    exit_code = 9


@dataclass(frozen=True)
class Injected:
    """What the injected bootstrap sent back: the snapshot's JSON form, and whether the
    program's own snarl took it (True) or the code the client sent (False)."""

    data: dict[str, Any]
    own: bool


def ptrace_scope() -> int | None:
    """Yama's ``kernel.yama.ptrace_scope`` (0 classic, 1 parents only, 2 root only, 3 none)."""
    try:
        return int(Path("/proc/sys/kernel/yama/ptrace_scope").read_text().strip())
    except (OSError, ValueError):
        return None


def ptrace_problem(target: Target) -> str | None:
    """Why this user certainly may not ptrace ``target``, or None (gdb may still be refused)."""
    scope = ptrace_scope()
    if scope is not None and scope >= 3:
        return "ptrace is disabled on this machine (kernel.yama.ptrace_scope = 3)"
    if scope == 2 and os.geteuid() != 0:
        return "kernel.yama.ptrace_scope is 2: only root may attach (use sudo)"
    return None


def _machine(pid: int) -> str:
    """``x86-64``, or a word for the executable's other ELF class or machine."""
    try:
        with open(f"/proc/{pid}/exe", "rb") as f:
            head = f.read(20)
    except OSError:
        return "unknown"
    if len(head) < 20 or head[:4] != b"\x7fELF":
        return "not ELF"
    machine = int.from_bytes(head[18:20], "little" if head[5] == 1 else "big")
    if head[4] == 2 and machine == 62:
        return "x86-64"
    return f"ELF class {head[4]}, machine {machine}"


def _same_namespace(pid: int, kind: str) -> bool:
    """Whether the process is in this process's namespace of ``kind`` (``net``, ``mnt``)."""
    try:
        mine, theirs = os.stat(f"/proc/self/ns/{kind}"), os.stat(f"/proc/{pid}/ns/{kind}")
    except OSError:
        return False
    return (mine.st_dev, mine.st_ino) == (theirs.st_dev, theirs.st_ino)


def _blob(name: str, with_locals: bool, timeout: float) -> bytes:
    """The page's content: the code, room for the pointers, then the source to run."""
    program = SOURCE + f"\n_snarl_boot({name!r}, {with_locals!r}, {timeout!r}, {BUNDLE_LIMIT})\n"
    return _CODE_X86_64.ljust(_SOURCE, b"\0") + program.encode("utf-8") + b"\0"


def _script(blob: Path, size: int) -> str:
    lines = ["set pagination off", "set confirm off", "set unwindonsignal on"]
    lines += [
        f"set $snarl_f{i} = (void *) &{function}"
        for i, function in enumerate(_FUNCTIONS)
        if function is not None
    ]
    lines += [
        f"set $snarl_m = (void *) mmap((void *) 0, (unsigned long) {size}, 3, 0x22, -1, (long) 0)",
        "if $snarl_m == (void *) -1",
        "  echo snarl-inject: mmap failed\\n",
        "  detach",
        "  quit",
        "end",
        f"restore {blob} binary $snarl_m",
    ]
    for i, function in enumerate(_FUNCTIONS):
        value = f"$snarl_f{i}" if function is not None else f"(void *) ($snarl_m + {_SOURCE})"
        lines.append(f"set *(void **) ($snarl_m + {_BLOCK + 8 * i}) = {value}")
    lines += [
        f"set $snarl_r = (int) mprotect($snarl_m, (unsigned long) {size}, 5)",
        "if $snarl_r != 0",
        "  echo snarl-inject: mprotect failed\\n",
        "  detach",
        "  quit",
        "end",
        "set $snarl_t = (unsigned long) PyThread_start_new_thread((void *) $snarl_m,"
        f" (void *) ($snarl_m + {_BLOCK}))",
        'printf "snarl-inject: thread %lu\\n", $snarl_t',
        "detach",
        "quit",
        "",
    ]
    return "\n".join(lines)


_ANSWER_TIME = 1.0
"""Seconds a dump is given after gdb has attached before its silence is put down to the GIL
(a snapshot of a thousand threads takes tens of milliseconds; starting the thread, sending
snarl's code and importing it, a few hundred)."""


def inject_dump(
    target: Target,
    *,
    with_locals: bool = False,
    timeout: float = 5.0,
    deadline: float | None = None,
) -> Injected:
    """Run snarl's snapshot inside ``target`` through gdb; see the module docstring.

    Raises :class:`Unavailable` (gdb missing, not x86-64, another mount or network namespace,
    no libpython symbols), :class:`PermissionDenied` (ptrace refused), :class:`NoAnswer` (no
    answer within ``timeout`` seconds: the GIL is probably held), :class:`UnsupportedVersion`
    or :class:`BadReply`.  ``deadline`` (``time.monotonic()``), when given, ends the attempt
    instead of ``timeout`` (which the messages then still name: the caller's whole budget).
    """
    if deadline is None:
        deadline = time.monotonic() + timeout
    gdb = shutil.which("gdb")
    if gdb is None:
        raise Unavailable("gdb is not installed")
    machine = _machine(target.pid)
    if machine != "x86-64":
        raise Unavailable(f"gdb injection supports x86-64 processes only, not {machine}")
    if not target.same_root:
        raise Unavailable("the process runs in another root directory (a container)")
    if not _same_namespace(target.pid, "net"):
        raise Unavailable("the process runs in another network namespace (a container)")
    problem = ptrace_problem(target)
    if problem is not None:
        raise PermissionDenied(f"gdb may not attach to process {target.pid}: {problem}")
    name = f"snarl-inject-{secrets.token_hex(16)}"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    # The dumper's own directory: mkdtemp makes it 0700 and it is never handed to anyone.
    private = Path(tempfile.mkdtemp(prefix="snarl-inject-"))
    try:
        listener.bind("\0" + name)
        listener.listen(4)
        blob = _blob(name, with_locals, timeout)
        size = -(-len(blob) // _PAGE) * _PAGE
        blob_path, script_path = private / "code.bin", private / "commands.gdb"
        _write_private(blob_path, blob)
        _write_private(script_path, _script(blob_path, size).encode("utf-8"))
        _run_gdb(gdb, target, script_path, deadline)
        left = deadline - time.monotonic()
        try:
            return _converse(target, listener, with_locals, deadline, timeout)
        except NoAnswer:
            if left < _ANSWER_TIME:  # too little was left to blame anything but the timeout
                raise NoAnswer.too_short(
                    f"process {target.pid} did not answer within the {timeout:g} s timeout:"
                    f" gdb's attach left {max(left, 0):.2f} s of it for the dump"
                ) from None
            raise
    finally:
        listener.close()
        shutil.rmtree(private, ignore_errors=True)


def _write_private(path: Path, data: bytes) -> None:
    """Write a new file of mode 0600 (never an existing one, never through a symlink)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    with open(fd, "wb") as f:
        f.write(data)


def _run_gdb(gdb: str, target: Target, script: Path, deadline: float) -> None:
    command = [
        gdb,
        "-p",
        str(target.pid),
        "-batch",
        "-nx",
        "-q",
        "-iex",
        "set auto-load off",
        "-iex",
        "set debuginfod enabled off",
        "-x",
        str(script),
    ]
    env = {k: v for k, v in os.environ.items() if k != "DEBUGINFOD_URLS"}
    proc = subprocess.Popen(
        command,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=env,
        start_new_session=True,
    )
    try:
        output, _ = proc.communicate(timeout=max(0.1, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGINT)  # interrupts a call; unwindonsignal restores the thread
        try:
            proc.communicate(timeout=2.0)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
        raise NoAnswer.too_short(
            f"gdb did not finish attaching to process {target.pid} within the timeout"
        ) from None
    text = output.decode("utf-8", "replace")
    started = re.search(r"^snarl-inject: thread (\d+)$", text, re.MULTILINE)
    if started is not None and int(started.group(1)) != _INVALID_THREAD:
        return
    if "ptrace: Operation not permitted" in text or "Could not attach" in text:
        remedy = "Run snarl with sudo; in a container, allow ptrace (--cap-add SYS_PTRACE)."
        if ptrace_scope() == 1 and os.geteuid() != 0:
            remedy = (
                "kernel.yama.ptrace_scope is 1 (only a parent may attach): run snarl with sudo,"
                " or `sudo sysctl kernel.yama.ptrace_scope=0`."
            )
        raise PermissionDenied(
            f"gdb may not attach to process {target.pid} (ptrace: operation not permitted)",
            help=remedy,
        )
    if "No symbol" in text:
        raise Unavailable("gdb found no libpython symbols (PyGILState_Ensure) in the process")
    if "No such process" in text:
        raise NoSuchProcess(f"process {target.pid} exited while gdb attached")
    reason = _last_line(text) or f"gdb exited with status {proc.returncode}"
    raise Unavailable(f"gdb could not start the dump thread: {reason}")


def _last_line(text: str) -> str:
    lines = [
        line.strip()
        for line in text.splitlines()
        if line.strip() and not line.startswith(("[", "warning:"))
    ]
    return lines[-1] if lines else ""


def _converse(
    target: Target, listener: socket.socket, with_locals: bool, deadline: float, timeout: float
) -> Injected:
    """Accept the bootstrap's connection, send it snarl's code, read its reply."""
    from .agent import peer_credentials

    late = NoAnswer(
        f"process {target.pid} did not answer in {timeout:g} s: a thread probably holds"
        " the GIL (in C code, or the process is frozen)"
    )
    while True:
        listener.settimeout(max(0.001, deadline - time.monotonic()))
        try:
            conn, _ = listener.accept()
        except TimeoutError:
            raise late from None
        peer, _, _ = peer_credentials(conn)
        if peer == target.pid:
            break
        conn.close()  # not the process we injected: someone who guessed the name
    with conn:
        try:
            code = bundle()
            conn.settimeout(max(0.001, deadline - time.monotonic()))
            conn.sendall(b"%d\n" % len(code) + code)
            data = _read_all(conn, deadline, target)
        except TimeoutError:
            raise late from None
        except OSError as exc:
            raise BadReply(f"the connection with process {target.pid} failed: {exc}") from None
    return _parse(target, data)


def _read_all(conn: socket.socket, deadline: float, target: Target) -> bytes:
    """Everything the bootstrap sends until it closes, at most :data:`MAX_REPLY` bytes."""
    chunks = []
    received = 0
    while True:
        conn.settimeout(max(0.001, deadline - time.monotonic()))
        chunk = conn.recv(1 << 20)
        if not chunk:
            return b"".join(chunks)
        received += len(chunk)
        if received > MAX_REPLY:
            raise BadReply(
                f"process {target.pid} sent more than {MAX_REPLY >> 20} MiB: refusing the reply"
            )
        chunks.append(chunk)


def _parse(target: Target, data: bytes) -> Injected:
    """The reply, checked: a dict with one of the expected keys."""
    try:
        reply = json.loads(data)
    except ValueError:
        reply = None
    if not isinstance(reply, dict):
        if not data:
            raise BadReply(f"process {target.pid} closed the connection without a reply")
        raise BadReply(f"the reply of process {target.pid} is not the JSON of a snarl dump")
    if "unsupported" in reply:
        raise UnsupportedVersion(f"process {target.pid} runs Python {reply['unsupported']!s:.20}")
    if "unavailable" in reply:
        raise Unavailable(f"{reply['unavailable']!s:.200}")
    if "error" in reply:
        raise Unavailable(f"snarl's snapshot failed inside the process: {reply['error']!s:.300}")
    if not isinstance(reply.get("snapshot"), dict):
        raise BadReply(f"the reply of process {target.pid} has no snapshot")
    return Injected(reply["snapshot"], bool(reply.get("own")))
