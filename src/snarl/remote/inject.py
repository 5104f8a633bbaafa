"""The dump of a process without the agent: gdb makes it run snarl's snapshot in a new thread.

How it works.  ``gdb -p PID -batch -nx`` attaches (stopping the process for a moment) and makes
only calls that cannot block on the GIL: it maps one private page (``mmap``), copies into it 36
bytes of x86-64 code and the source of a small Python snippet, makes the page executable
(``mprotect``), and starts a thread on that code with ``PyThread_start_new_thread``.  Then it
detaches.  The new thread does what a C extension's thread does: ``PyGILState_Ensure()``,
``PyRun_SimpleString(snippet)``, ``PyGILState_Release()``.  The snippet imports snarl (the
target's own if it has one, else from the client's source directory, added to ``sys.path`` only
for the import), takes the snapshot and writes its JSON to a file the client created in a
private directory (mode 0700, handed to the target's uid); the client polls for it.

Why a new thread, and not ``call PyGILState_Ensure()`` from gdb in an existing one: when a
thread holds the GIL inside C code, ``PyGILState_Ensure`` never returns, and neither
interrupting that call nor killing gdb is safe (the thread would be left inside the GIL's
condition variable, or return into a breakpoint gdb no longer handles, and crash the program).
Here gdb never waits for the GIL; the new thread does, harmlessly, and the client gives up after
its timeout (:class:`NoAnswer`, exit code 8) while the program runs on.  The client then
removes the output file; a snippet that runs later, when the GIL is free, finds it gone and
does nothing (it imports nothing then).

Risks, stated:

* The process is stopped while gdb attaches (about half a second, longer with many threads),
  and a thread interrupted in a system call has the call restarted.
* gdb's calls (``mmap``, ``mprotect``, ``PyThread_start_new_thread``) run on the thread gdb
  selects; one interrupted inside ``malloc`` could make ``PyThread_start_new_thread`` wait
  for the allocator's lock.  gdb is interrupted after the timeout (``set unwindonsignal on``
  restores that thread's registers), and killed two seconds later if it still runs.
* Each dump leaves one page (8 KiB at most) mapped in the process; the snippet, when snarl was
  not imported yet, leaves snarl's modules imported (``Fetched.notes`` says so).  A process
  that never imported ``threading`` is not dumped before 3.13 (:class:`Unavailable`): imported
  first from the snippet's thread, ``threading`` would take that thread for the main thread.
* gdb needs ptrace permission: the same user and ``kernel.yama.ptrace_scope`` 0, or root.
  The machine code is x86-64 only; other machines get :class:`Unavailable`.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import NoAnswer, PermissionDenied, RemoteError, UnsupportedVersion
from .target import Target

__all__ = ["END", "Injected", "Unavailable", "inject_dump", "ptrace_problem", "ptrace_scope"]

END = b"\nsnarl-end\n"
"""Written after the JSON: the client reads the file only once it ends with this."""

# The thread's code, x86-64 System V (rdi = a block of four pointers: Ensure, RunSimpleString,
# Release, the source text); the stack stays 16-byte aligned at each call:
#   push rbx; push r12; sub rsp, 8; mov rbx, rdi
#   call [rbx]                      ; eax = PyGILState_Ensure()
#   mov r12d, eax
#   mov rdi, [rbx+24]; call [rbx+8] ; PyRun_SimpleString(source)
#   mov edi, r12d; call [rbx+16]    ; PyGILState_Release(state)
#   add rsp, 8; pop r12; pop rbx; ret
_CODE_X86_64 = bytes.fromhex(
    "534154" "4883ec08" "4889fb" "ff13" "4189c4" "488b7b18" "ff5308" "4489e7" "ff5310"
    "4883c408" "415c" "5b" "c3"
)  # fmt: skip
_BLOCK = 64  # offset of the four pointers
_SOURCE = 128  # offset of the NUL-terminated source
_PAGE = 4096
_INVALID_THREAD = (1 << 64) - 1
_SAFE_PATH = re.compile(r"^[A-Za-z0-9_./+-]+$")

# Runs in the target, in the thread started above.  Conservative syntax: a process whose version
# could not be read beforehand gets an answer ("unsupported"), not a SyntaxError.
_SNIPPET = r"""
def _snarl_inject(path, src, with_locals):
    import os
    try:
        fd = os.open(path, os.O_WRONLY | os.O_TRUNC)
    except OSError:
        return  # the client gave up and removed the file: do nothing at all
    try:
        import json
        import sys
        try:
            if not (3, 10) <= sys.version_info[:2] <= (3, 13):
                reply = {"unsupported": "%d.%d" % sys.version_info[:2]}
            elif "threading" not in sys.modules and sys.version_info < (3, 13):
                # Imported first from this thread, threading would take it for the main one.
                reply = {"unavailable": "the process never imported threading"}
            else:
                imported = "snarl" not in sys.modules
                try:
                    import snarl
                except ImportError:
                    sys.path.insert(0, src)
                    try:
                        import snarl
                    finally:
                        if src in sys.path:
                            sys.path.remove(src)
                try:  # snarl's own threads left out, as the agent does
                    from snarl.remote.agent import snapshot_dict
                except ImportError:  # an older snarl in the process
                    data = snarl.snapshot(locals=with_locals).to_dict()
                    data["threads"] = [t for t in data["threads"] if not t["current"]]
                else:
                    data = snapshot_dict(with_locals)
                reply = {"snapshot": data, "imported": imported}
        except BaseException as exc:
            reply = {"error": "%s: %s" % (type(exc).__name__, exc)}
        payload = (json.dumps(reply) + "\nsnarl-end\n").encode()
        while payload:
            payload = payload[os.write(fd, payload):]
    finally:
        os.close(fd)
"""


class Unavailable(RemoteError):
    """This method cannot be used on this process (gdb missing, another machine, ...)."""

    exit_code = 9


@dataclass(frozen=True)
class Injected:
    """What the injected snippet sent back: the snapshot's JSON form, and whether it had to
    import snarl into the process (True: the process now has snarl's modules loaded)."""

    data: dict[str, Any]
    imported: bool


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


def _snarl_source_dir() -> str:
    """The directory that holds this ``snarl`` package (put on the target's path if needed)."""
    return str(Path(__file__).resolve().parents[2])


def _blob(out: str, with_locals: bool) -> bytes:
    """The page's content: the code, room for the pointers, then the source to run."""
    program = _SNIPPET + f"\n_snarl_inject({out!r}, {_snarl_source_dir()!r}, {with_locals!r})\n"
    call = f"exec({program!r}, {{'__name__': 'snarl.remote._injected'}})"
    return _CODE_X86_64.ljust(_SOURCE, b"\0") + call.encode("utf-8") + b"\0"


def _script(blob: Path, size: int) -> str:
    return "\n".join(
        [
            "set pagination off",
            "set confirm off",
            "set unwindonsignal on",
            "set $snarl_ensure = (void *) &PyGILState_Ensure",
            "set $snarl_run = (void *) &PyRun_SimpleString",
            "set $snarl_release = (void *) &PyGILState_Release",
            "set $snarl_start = (void *) &PyThread_start_new_thread",
            f"set $snarl_m = (void *) mmap((void *) 0, (unsigned long) {size}, 3, 0x22, -1,"
            " (long) 0)",
            "if $snarl_m == (void *) -1",
            "  echo snarl-inject: mmap failed\\n",
            "  detach",
            "  quit",
            "end",
            f"restore {blob} binary $snarl_m",
            f"set *(void **) ($snarl_m + {_BLOCK}) = $snarl_ensure",
            f"set *(void **) ($snarl_m + {_BLOCK + 8}) = $snarl_run",
            f"set *(void **) ($snarl_m + {_BLOCK + 16}) = $snarl_release",
            f"set *(void **) ($snarl_m + {_BLOCK + 24}) = (void *) ($snarl_m + {_SOURCE})",
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
    )


def inject_dump(target: Target, *, with_locals: bool = False, timeout: float = 5.0) -> Injected:
    """Run snarl's snapshot inside ``target`` through gdb; see the module docstring.

    Raises :class:`Unavailable` (gdb missing, not x86-64, another mount namespace, no libpython
    symbols), :class:`PermissionDenied` (ptrace refused), :class:`NoAnswer` (no answer within
    ``timeout`` seconds: the GIL is probably held) or :class:`UnsupportedVersion`.
    """
    deadline = time.monotonic() + timeout
    gdb = shutil.which("gdb")
    if gdb is None:
        raise Unavailable("gdb is not installed")
    machine = _machine(target.pid)
    if machine != "x86-64":
        raise Unavailable(f"gdb injection supports x86-64 processes only, not {machine}")
    if not target.same_root:
        raise Unavailable("the process runs in another root directory (a container)")
    problem = ptrace_problem(target)
    if problem is not None:
        raise PermissionDenied(f"gdb may not attach to process {target.pid}: {problem}")
    base = tempfile.gettempdir()
    if not _SAFE_PATH.match(base):
        base = "/tmp"
    private = Path(tempfile.mkdtemp(prefix="snarl-inject-", dir=base))
    try:
        fd, out = tempfile.mkstemp(prefix="dump-", suffix=".json", dir=private)
        os.close(fd)
        if target.uid != os.geteuid():  # root dumping another user's process
            os.chown(private, target.uid, target.gid)
            os.chown(out, target.uid, target.gid)
        blob = _blob(out, with_locals)
        size = -(-len(blob) // _PAGE) * _PAGE
        blob_path, script_path = private / "code.bin", private / "commands.gdb"
        blob_path.write_bytes(blob)
        script_path.write_text(_script(blob_path, size), encoding="utf-8")
        _run_gdb(gdb, target, script_path, deadline)
        return _await(target, Path(out), deadline, timeout)
    finally:
        shutil.rmtree(private, ignore_errors=True)


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
        raise NoAnswer(f"gdb did not finish attaching to process {target.pid} in time") from None
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
        from .errors import NoSuchProcess

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


def _await(target: Target, out: Path, deadline: float, timeout: float) -> Injected:
    """Poll the output file until the snippet has written all of it, or the deadline."""
    while True:
        try:
            data = out.read_bytes()
        except FileNotFoundError:
            data = b""
        if data.endswith(END):
            break
        if time.monotonic() >= deadline:
            raise NoAnswer(
                f"process {target.pid} did not answer in {timeout:g} s: a thread probably holds"
                " the GIL (in C code, or the process is frozen)"
            )
        time.sleep(0.01)  # a poll interval, not a guess: the loop re-reads the file
    reply = json.loads(data[: -len(END)])
    if "unsupported" in reply:
        raise UnsupportedVersion(f"process {target.pid} runs Python {reply['unsupported']}")
    if "unavailable" in reply:
        raise Unavailable(f"{reply['unavailable']} (snarl would import it from another thread)")
    if "error" in reply:
        raise Unavailable(f"snarl's snapshot failed inside the process: {reply['error']}")
    return Injected(reply["snapshot"], bool(reply["imported"]))
