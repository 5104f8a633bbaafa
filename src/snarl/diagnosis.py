"""``snarl.install()``: tracked primitives, plus the live-diagnosis pieces that go with them.

:func:`snarl.sync.install` puts snarl's tracked primitives into ``threading``.  This module's
:func:`install` composes it with the two things a process needs to be diagnosed from
outside: the dump on a signal (:func:`snarl.hangs.install_signal_dump`) and the agent that
answers ``snarl dump PID`` (:func:`snarl.remote.start_agent`).  It is the composition root,
so it sits above both (``sync`` must not import ``watch`` or ``remote``).
"""

from __future__ import annotations

from types import TracebackType
from typing import Any

from .sync.patch import Installation, Report
from .sync.patch import install as install_tracking
from .sync.patch import uninstall as uninstall_tracking

__all__ = ["Diagnosis", "install", "uninstall"]


class Diagnosis:
    """What :func:`install` set up; as a context manager, undoes it on exit."""

    def __init__(self, tracking: Installation, signal_dump: Any, agent: Any) -> None:
        self.tracking = tracking
        self.signal_dump = signal_dump  # the SignalDump this call installed, or None
        self.agent = agent  # the Agent this call started, or None

    @property
    def validator(self) -> Any:
        """The lock-order validator in use, or None."""
        return self.tracking.validator

    def __repr__(self) -> str:
        parts = ["tracking"]
        if self.validator is not None:
            parts.append("lock order validated")
        if self.signal_dump is not None:
            parts.append("dump on signal")
        if self.agent is not None:
            parts.append("agent for `snarl dump PID`")
        return f"<snarl.Diagnosis: {', '.join(parts)}; `with` it, or snarl.uninstall(), undoes it>"

    def __enter__(self) -> Diagnosis:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.agent is not None:
            from .remote import stop_agent

            stop_agent()
        if self.signal_dump is not None:
            self.signal_dump.uninstall()
        self.tracking.__exit__(exc_type, exc, tb)


def install(
    lockorder: bool = False,
    *,
    stacks: bool = False,
    report: Report = "warn",
    signal: int | None = None,
    signal_file: Any = None,
    agent: bool = False,
) -> Diagnosis:
    """Put snarl's tracked primitives into ``threading`` (idempotent), and optionally more.

    ``lockorder``, ``stacks`` and ``report`` are those of :func:`snarl.sync.install`: the
    lock-order validator, full acquisition stacks, and how an inversion is reported.
    ``signal`` (e.g. ``signal.SIGUSR1``) writes the full dump when the process gets that
    signal, to ``signal_file`` (a path or stream; default standard error), and registers
    faulthandler on ``SIGUSR2`` for a stuck GIL (main thread only).  ``agent=True`` starts the
    agent that answers ``snarl dump PID`` over a private Unix socket.  Returns a
    :class:`Diagnosis`; used as a context manager it undoes what it set up.

    All or nothing: if any part cannot be set up (a signal that cannot be handled, a
    ``signal_file`` that cannot be opened, an agent directory that is not safe), what this
    call already set up is undone and the error is raised.  ``snarl run`` sets each part up
    by itself instead, and runs without the parts that fail.
    """
    dump = agent_started = None
    if signal is not None:
        from .hangs import install_signal_dump

        dump = install_signal_dump(signal, file=signal_file)
    try:
        tracking = install_tracking(lockorder, stacks=stacks, report=report)
    except BaseException:
        if dump is not None:
            dump.uninstall()
        raise
    if agent:
        from .remote import start_agent

        try:
            agent_started = start_agent()
        except BaseException:
            if dump is not None:
                dump.uninstall()
            tracking.__exit__(None, None, None)
            raise
    return Diagnosis(tracking, dump, agent_started)


def uninstall() -> None:
    """Undo :func:`install`: primitives, signal dump and agent (idempotent)."""
    from .hangs import uninstall_signal_dump
    from .remote import stop_agent

    stop_agent()
    uninstall_signal_dump()
    uninstall_tracking()
