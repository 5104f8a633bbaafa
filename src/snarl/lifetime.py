"""``snarl run``: a program's whole life under tracking, the watchdog, the dump and the agent.

:func:`run_program` sets each part up on its own before the program's first line, runs the
program, and returns its exit code.  It is the composition root of ``snarl run`` (the
command line parses and checks the options; this module does the rest).

Set-up never fails the program
------------------------------
Each part is set up by itself: tracking, the dump on ``SIGUSR1``, the agent, the watchdog,
the timeline recording, the check interval.  Whatever cannot be set up (an agent directory
that is not safe, a ``--report`` or ``--timeline`` path that cannot be written, a signal
that cannot be handled) is said in one line on standard error, ``snarl run: ...``, and the
program runs without that part; its exit code is its own.  Output paths are checked before
the program starts and are never written through a symbolic link (:mod:`snarl.safefile`).

Teardown at the real exit
-------------------------
Nothing is torn down when the main code returns.  The teardown is an ``atexit`` handler
registered before anything else of snarl or of the program, so it runs last: after
``threading``'s shutdown (the joins of non-daemon threads, and ``threading``'s own exit
hooks) and after every other ``atexit`` handler.  Until then the watchdog (a daemon thread,
which ``threading._shutdown`` does not join) keeps checking, so a process that waits at exit
for a thread that never ends is reported like any other hang; ``kill -USR1`` writes the dump;
the agent answers (its own ``atexit`` handler, registered after this one, stops it after the
program's handlers).  The teardown stops the watchdog and writes the timeline; a timeline
that cannot be written then is said in one line, and the exit code stays the program's.

Fork
----
A child forked under ``snarl run`` has **no watchdog and no agent** (see
:mod:`snarl.hangs.watchdog` and :mod:`snarl.remote.agent`); the dump on ``SIGUSR1`` is
inherited and dumps the child.  The child's exit writes no timeline (the parent's file is the
parent's) and stops nothing of the parent's.  A child that wants its own watchdog calls
``snarl.watch()``.
"""

from __future__ import annotations

import atexit
import os
import signal
import sys
from collections.abc import Callable
from typing import Any

__all__ = ["run_program"]


def _say(message: str) -> None:
    """One line on standard error, as every set-up problem is told."""
    from .hangs.report import write_stderr

    write_stderr(f"snarl run: {message}\n")


class _Run:
    """What one ``snarl run`` set up, and its teardown at the interpreter's exit."""

    def __init__(self, args: Any) -> None:
        self.args = args
        self.pid = os.getpid()
        self.watchdog: Any = None
        self.recording: Any = None
        self.timeline: str | None = None
        self.interval = False
        self.done = False

    # -- set-up -------------------------------------------------------------------------
    def setup(self) -> None:
        args = self.args
        report = self._report_path(args.report)
        if not args.no_track:
            self._try("no tracking", lambda: _install_tracking(args.lockorder))
        if not args.no_signal:
            self._try("no dump on SIGUSR1", lambda: _install_signal(report))
        if not args.no_track and not args.no_agent:
            self._try("no agent for `snarl dump PID`", _start_agent)
        if not args.no_watchdog:
            self.watchdog = self._try("no watchdog", lambda: _watch(args, report))
        if args.timeline is not None:
            self._start_timeline(args)
        if args.check_interval:
            from .interval import setcheckinterval

            def interval() -> bool:
                setcheckinterval(args.check_interval, user_only=args.user_only)
                return True

            self.interval = bool(self._try("no check interval", interval))
        if args.switch_interval is not None:
            sys.setswitchinterval(args.switch_interval)

    def _try(self, what: str, step: Callable[[], Any]) -> Any:
        try:
            return step()
        except Exception as exc:  # set-up never fails the program: say it, go on without
            _say(f"{what}: {_one_line(exc)}; the program runs without it")
            return None

    def _report_path(self, path: str | None) -> str | None:
        if path is None:
            return None
        from .safefile import open_append

        try:
            open_append(path).close()
        except OSError as exc:
            _say(f"no --report file: {_one_line(exc)}; reports go to standard error")
            return None
        return path

    def _start_timeline(self, args: Any) -> None:
        from .safefile import check_writable

        try:
            check_writable(args.timeline)
        except OSError as exc:
            _say(f"no timeline: {_one_line(exc)}; the program runs without it")
            return
        from .timeline import record

        recording = self._try(
            "no timeline",
            lambda: record(size=args.timeline_size, gil=bool(args.check_interval)).start(),
        )
        if recording is None:
            return
        self.recording, self.timeline = recording, args.timeline
        if self.watchdog is not None:  # an abort ends the process: save the timeline first
            self.watchdog.before_abort = self.save_timeline

    # -- teardown -----------------------------------------------------------------------
    def teardown(self) -> None:
        """The last ``atexit`` handler: stop the watchdog, write the timeline.  In a forked
        child (another pid) it does nothing: what it would touch is the parent's."""
        if self.done or os.getpid() != self.pid:
            return
        self.done = True
        try:
            if self.watchdog is not None:
                self.watchdog.stop()
            if self.interval:
                from .interval import setcheckinterval

                setcheckinterval(0)
            self.save_timeline()
        except Exception as exc:  # never a traceback, never another exit code
            _say(f"teardown failed: {_one_line(exc)}")

    def save_timeline(self) -> None:
        recording, path = self.recording, self.timeline
        if recording is None or path is None or os.getpid() != self.pid:
            return
        self.recording = None
        try:
            recording.stop()
            recording.save(path)
        except Exception as exc:
            _say(f"timeline not written: {_one_line(exc)}")
            return
        dropped = f" ({recording.dropped} oldest events dropped)" if recording.dropped else ""
        _say(f"timeline written to {path}{dropped}")


def _one_line(exc: BaseException) -> str:
    text = str(exc)
    if isinstance(exc, OSError) and exc.strerror:  # no "[Errno N]"
        text = exc.strerror if exc.filename is None else f"{exc.filename}: {exc.strerror}"
    text = " ".join(text.split()) or type(exc).__name__
    return text.removeprefix("snarl: ")


def _install_tracking(lockorder: bool) -> Any:
    from .diagnosis import install

    return install(lockorder=lockorder)


def _install_signal(report: str | None) -> Any:
    from .hangs import install_signal_dump

    return install_signal_dump(signal.SIGUSR1, file=report)


def _start_agent() -> Any:
    from .remote import start_agent

    return start_agent()


def _watch(args: Any, report: str | None) -> Any:
    from .hangs import ABORT_EXIT_CODE, watch

    return watch(
        args.period,
        args.stuck,
        report=report,
        format="json" if args.json else "text",
        abort=ABORT_EXIT_CODE if args.abort_on_deadlock else False,
        abort_on=("deadlock",),
    )


def run_program(args: Any, program: Callable[[], None]) -> int:
    """Set up what ``args`` (``snarl run``'s parsed options) ask, run ``program`` and return
    its exit code; the teardown waits for the interpreter's exit (see the module docstring).

    ``program`` runs the script or module (it sets ``sys.argv`` and ``sys.path`` as python
    would).  A ``SystemExit`` it raises gives the exit code; any other exception propagates,
    as it would from the program under python.
    """
    run = _Run(args)
    atexit.register(run.teardown)  # first of snarl's handlers, so it runs last
    run.setup()
    try:
        program()
    except SystemExit as exc:  # the program's own exit code passes through
        return exit_code(exc)
    return 0


def exit_code(exc: SystemExit) -> int:
    """The exit code python gives for ``exc`` (a non-integer code is printed, and is 1)."""
    code = exc.code
    if code is None or isinstance(code, int):
        return code or 0
    print(code, file=sys.stderr)
    return 1
