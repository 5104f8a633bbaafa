"""Why ``snarl dump PID`` could not dump a process: one exception class per exit code.

Each class carries ``exit_code`` (documented in :mod:`snarl.remote.client`) and ``help``: what
to do next.  :func:`snarl.remote.client.main_dump` prints ``str(exc)`` and ``help`` on one
line of standard error and returns ``exit_code``; a ``PID`` in ``help`` is replaced by the
process id there.
"""

from __future__ import annotations

from ..errors import SnarlError

__all__ = [
    "AgentError",
    "BadPid",
    "BadReply",
    "NoAnswer",
    "NoMethod",
    "NoSuchProcess",
    "NotPython",
    "PermissionDenied",
    "RemoteError",
    "UnsupportedVersion",
]


class RemoteError(SnarlError):
    """The root of the errors of a dump of another process."""

    exit_code: int = 1
    help: str = "See the snarl documentation."

    def __init__(self, message: str, help: str | None = None) -> None:
        super().__init__(message)
        if help is not None:
            self.help = help


class BadPid(RemoteError):
    """The PID argument is not a positive integer (a usage error)."""

    exit_code = 2
    help = "Give the process id as a positive integer, e.g. `snarl dump 4242`."


class NoSuchProcess(RemoteError):
    """No process has this id (it may just have exited)."""

    exit_code = 4
    help = "Check the id with `ps` or `pgrep -f SCRIPT`."


class NotPython(RemoteError):
    """The process is not a Python interpreter (nor a program that embeds libpython)."""

    exit_code = 5
    help = "Give the id of the Python process itself, not of a shell or launcher around it."


class PermissionDenied(RemoteError):
    """This user may not inspect the process."""

    exit_code = 6
    help = "Run snarl as the user that owns the process, or with sudo."


class UnsupportedVersion(RemoteError):
    """The process runs a Python snarl does not support (CPython 3.10 to 3.13)."""

    exit_code = 7
    help = "snarl dumps CPython 3.10 to 3.13 (and PyPy not at all); try `py-spy dump --pid PID`."


class NoAnswer(RemoteError):
    """The process did not answer in time: most likely a thread holds the GIL in C code."""

    exit_code = 8
    help = (
        "A dump that needs no GIL: `py-spy dump --pid PID`, or faulthandler's signal if the "
        "program registered one (faulthandler.register(signal.SIGUSR2), then `kill -USR2 PID`)."
    )
    gil: bool = True
    """Whether a thread holding the GIL is the likely cause; False when the timeout was too
    short to tell (gdb had not finished attaching, or left almost no time for the answer)."""

    @classmethod
    def too_short(cls, message: str) -> NoAnswer:
        """A timeout too short to tell anything: its remedy is a longer ``--timeout``."""
        exc = cls(
            message,
            help="Give a longer --timeout: gdb takes about half a second to attach (longer"
            " with many threads), and the dump itself some more.",
        )
        exc.gil = False
        return exc


class NoMethod(RemoteError):
    """No method could reach the process: no agent, gdb failed or absent, no py-spy."""

    exit_code = 9
    help = (
        "Run the program under `snarl run` or call snarl.install(agent=True) in it; "
        "or install gdb (apt-get install gdb), or py-spy (pip install py-spy)."
    )


class BadReply(RemoteError):
    """The process answered, but not with a snarl dump (malformed, truncated, too large)."""

    exit_code = 10
    help = (
        "The process may run another snarl version, or something else answers for it; "
        "try `--method py-spy`."
    )


class AgentError(SnarlError):
    """The agent could not start: no safe directory or socket could be made for it.

    Its ``str()`` is one line, ready to print after ``snarl: agent not started: ``."""

    help = (
        "Remove the directory named (or fix its owner and mode to 0700), or set "
        "XDG_RUNTIME_DIR to a private directory of yours."
    )
