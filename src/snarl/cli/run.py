"""``snarl run``: run a program under snarl, passing its arguments, output, exit code and
traceback through as python would.

snarl's own options come before the program; the first word that is not one of them (the
script, or ``-m MODULE``) ends them, and everything after it is the program's, options
included (``snarl run -m pytest -v``).  What python does that the program can see is done the
same way: ``sys.argv``, ``sys.path[0]`` (the script's folder, or the current one for ``-m``),
an absolute ``__file__``, python's one line for a module that does not exist, and a traceback
that starts at the program's own first frame.
"""

from __future__ import annotations

import argparse
import os
import runpy
import sys
import types
from collections.abc import Callable, Sequence
from pathlib import Path

from .common import interval, positive, say, seconds, usage

__all__ = ["EXIT_CODES", "add", "handle", "split_argv", "trimmed_traceback"]

NAME = "run"

EXIT_DEADLOCK = 70

EXIT_CODES = (
    (
        "N",
        "the program's own exit code (1 for an uncaught exception, or when -m names no module,"
        " as python gives)",
    ),
    ("2", "usage error"),
    (
        str(EXIT_DEADLOCK),
        "--abort-on-deadlock ended it, or under --deterministic every thread blocked",
    ),
)

EXAMPLES_HELP = (
    ("snarl run server.py --port 8080", "run server.py with its own --port option"),
    ("snarl run --stuck 2 -m pytest -x tests/", "pytest under snarl; hangs reported after 2 s"),
    ("snarl run --abort-on-deadlock app.py", "end the program (exit code 70) on a deadlock"),
    ("snarl run --check-interval 100 race.py", "offer the GIL every 100 bytecodes"),
)


def add(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add ``snarl run`` to the subcommands."""
    run = sub.add_parser(
        NAME,
        help="run a Python program under snarl: tracking, watchdog, dump on signal, agent",
        usage=(
            "snarl run [OPTIONS] SCRIPT [ARGS...]\n       snarl run [OPTIONS] -m MODULE [ARGS...]"
        ),
        allow_abbrev=False,
        description=(
            "Run a script (or -m module) with snarl.install() in force from its first line, so"
            " every lock it creates records its owner; a hang watchdog reports deadlocks and"
            " stuck threads to stderr (or --report FILE); SIGUSR1 writes the full dump"
            " (SIGUSR2: faulthandler's, for a stuck GIL); `snarl dump PID` reaches the"
            " process through its agent.\n\n"
            "snarl's options come first; everything from SCRIPT or -m MODULE on is the"
            " program's, options included.  Its arguments, output, exit code and traceback"
            " pass through as python gives them: sys.argv, sys.path[0], an absolute __file__,"
            " python's one line for a missing module."
        ),
    )
    run.add_argument("--no-track", action="store_true", help="do not install tracking")
    run.add_argument(
        "--races",
        action="store_true",
        help="run under the data race detector, as `snarl race` (exit code 66 on a race);"
        " the watchdog, agent and signal dump are not started with it",
    )
    run.add_argument("--lockorder", action="store_true", help="also validate lock order")
    run.add_argument("--no-watchdog", action="store_true", help="do not start the watchdog")
    run.add_argument(
        "--period",
        type=seconds,
        default=1.0,
        metavar="SECONDS",
        help="how often the watchdog checks (default: %(default)g)",
    )
    run.add_argument(
        "--stuck",
        type=seconds,
        default=10.0,
        metavar="SECONDS",
        help="report a thread waiting this long; idle workers never count (default: %(default)g)",
    )
    run.add_argument(
        "--report", metavar="FILE", help="append watchdog reports to FILE (default: stderr)"
    )
    run.add_argument("--json", action="store_true", help="write watchdog reports as JSON")
    run.add_argument(
        "--abort-on-deadlock",
        action="store_true",
        help=f"end the program with exit code {EXIT_DEADLOCK} once a deadlock is reported",
    )
    run.add_argument(
        "--timeline",
        metavar="FILE",
        help="record a thread timeline, written at exit to FILE (.html page or .json trace)",
    )
    run.add_argument(
        "--timeline-size",
        type=positive,
        default=100_000,
        metavar="N",
        help="events the timeline keeps; the oldest are dropped, and counted"
        " (default: %(default)d)",
    )
    run.add_argument("--no-signal", action="store_true", help="no dump on SIGUSR1/SIGUSR2")
    run.add_argument("--no-agent", action="store_true", help="no agent for `snarl dump PID`")
    run.add_argument(
        "--check-interval",
        type=interval,
        metavar="N",
        help="offer the GIL every N bytecodes, as Python 2's sys.setcheckinterval(N)"
        " (default: off)",
    )
    run.add_argument(
        "--user-only",
        action="store_true",
        help="with --check-interval: count only code outside the stdlib and site-packages",
    )
    run.add_argument(
        "--deterministic",
        action="store_true",
        help=(
            "with --check-interval: run the threads one at a time, switching round-robin"
            " every N bytecodes (exactly reproducible; no watchdog, agent or signal dump)"
        ),
    )
    run.add_argument(
        "--seed", type=int, metavar="S", help="with --deterministic: a seeded order instead"
    )
    run.add_argument(
        "--switch-interval",
        type=seconds,
        metavar="SECONDS",
        help="sys.setswitchinterval(SECONDS) for the run (default: python's, 0.005)",
    )
    run.add_argument("-m", dest="module", metavar="MODULE", help="run a module, as python -m")
    run.add_argument("target", nargs="?", metavar="SCRIPT", help="the script to run")
    run.add_argument("args", nargs="*", metavar="ARGS", help="the program's own arguments")
    run.set_defaults(handler=handle)
    return run


def split_argv(
    parser: argparse.ArgumentParser, argv: Sequence[str]
) -> tuple[list[str], str | None, str | None, list[str]]:
    """``snarl run``'s words → (snarl's options, module, script, the program's arguments).

    snarl's options end at the first word that is neither one of them nor an option's value:
    the script, ``-m MODULE`` (or ``-mMODULE``), or the word after ``--``.
    """
    opts: list[str] = []
    i = 0
    while i < len(argv):
        word = argv[i]
        if word == "--":
            i += 1
            break
        if word == "-m":
            if i + 1 == len(argv):
                opts.append(word)  # argparse says "expected one argument"
                return opts, None, None, []
            return opts, argv[i + 1], None, list(argv[i + 2 :])
        if word.startswith("-m") and not word.startswith("--"):
            return opts, word[2:], None, list(argv[i + 1 :])
        if not word.startswith("-") or word == "-":
            break
        opts.append(word)
        action = parser._option_string_actions.get(word.split("=", 1)[0])
        if action is not None and action.nargs != 0 and "=" not in word and i + 1 < len(argv):
            opts.append(argv[i + 1])
            i += 1
        i += 1
    rest = list(argv[i:])
    return opts, None, (rest[0] if rest else None), rest[1:]


class _NoModule(Exception):
    """``-m NAME`` names no runnable module (runpy's own error, as python reports it)."""


def handle(args: argparse.Namespace) -> int:
    """Run ``snarl run``; returns the exit code."""
    if args.module is None and args.target is None:
        return usage(NAME, "give a script, or -m MODULE")
    if args.module is None and not Path(args.target).is_file():
        return usage(NAME, f"no such script: {args.target}")
    if args.races:
        from .race import run_races

        return run_races(args)
    if args.deterministic and not args.check_interval:
        return usage(NAME, "--deterministic needs --check-interval N")
    if args.seed is not None and not args.deterministic:
        return usage(NAME, "--seed needs --deterministic")
    if args.timeline is not None:
        if args.no_track and not args.deterministic:
            return usage(NAME, "--timeline records tracked waits: it cannot go with --no-track")
        if not args.timeline.endswith((".html", ".htm", ".json")):
            return usage(NAME, f"--timeline writes .html or .json, not {args.timeline}")
    saved_argv, saved_path = sys.argv[:], sys.path[:]
    if args.module is not None:
        path0 = os.getcwd()  # python -m: the current folder comes first
        sys.path.insert(0, path0)
        try:
            # What python -m itself does (pdb too): find the module (importing its parent
            # packages, as python would) before anything runs, so that a missing one is
            # python's one line and an ImportError raised by the program stays a traceback.
            runpy._get_module_details(args.module, _NoModule)  # type: ignore[attr-defined]
        except _NoModule as exc:
            say(f"snarl run: error: {exc}")
            return 1
        finally:
            sys.path[:] = saved_path
        argv = [args.module, *args.args]
    else:
        path0 = str(Path(args.target).resolve().parent)
        argv = [args.target, *args.args]
    script = None if args.target is None else os.path.abspath(args.target)

    def program() -> None:
        sys.argv = argv
        sys.path.insert(0, path0)
        if script is not None:
            runpy.run_path(script, run_name="__main__")
        else:
            runpy.run_module(args.module, run_name="__main__", alter_sys=True)

    if args.deterministic:
        return _run_deterministic(args, program, saved_argv, saved_path)
    from ..lifetime import run_program

    try:
        return run_program(args, program)
    except KeyboardInterrupt as exc:
        report_uncaught(exc)
        return 130
    except Exception as exc:  # uncaught in the program: python's report, without snarl's frames
        report_uncaught(exc)
        return 1


def trimmed_traceback(tb: types.TracebackType | None) -> types.TracebackType | None:
    """``tb`` from the program's first frame on: snarl's and runpy's frames above it cut."""
    while tb is not None:
        name = tb.tb_frame.f_globals.get("__name__")
        if not isinstance(name, str) or not (name == "runpy" or name.startswith("snarl.")):
            break
        tb = tb.tb_next
    return tb


def report_uncaught(exc: BaseException) -> None:
    """Report an exception the program did not catch, as python does (through
    ``sys.excepthook``), from the program's own first frame."""
    exc.__traceback__ = trimmed_traceback(exc.__traceback__)
    sys.excepthook(type(exc), exc, exc.__traceback__)


def _run_deterministic(
    args: argparse.Namespace, program: Callable[[], None], argv: list[str], path: list[str]
) -> int:
    """``snarl run --check-interval N --deterministic``: the program's threads one at a time,
    switched round-robin every N bytecodes by the controlled runtime (see snarl.exploration)."""
    from ..exploration.execution import Exploring, execute
    from ..exploration.strategies import RoundRobinScheduler

    try:
        with Exploring("interval"):
            rt = execute(
                program,
                RoundRobinScheduler(args.seed),
                granularity="interval",
                interval=args.check_interval,
                max_steps=10**9,
                record_steps=args.timeline is not None,
            )
    finally:
        sys.argv, sys.path[:] = argv, path
    if args.timeline is not None:
        from ..timeline import save, timeline_from_steps

        names = [t.name for t in rt.threads]
        save(args.timeline, [timeline_from_steps(rt.steps, names, title=str(args.target))])
        say(f"snarl run: timeline written to {args.timeline}")
    o = rt.outcome
    if o is not None and o.kind == "exception" and o.exception is not None:
        exc = o.exception
        if isinstance(exc, SystemExit):
            from ..lifetime import exit_code

            return exit_code(exc)
        report_uncaught(exc)
        return 1
    if o is not None and o.kind == "blocked":
        from ..exploration.blocked import explain

        say("snarl run: every thread is blocked:")
        for line in explain(o.blocked, rt.threads).lines:
            say(line)
        return EXIT_DEADLOCK
    return 0
