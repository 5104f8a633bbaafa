"""``snarl race``: run a program under the data race detector (``go test -race`` for Python).

snarl's options come before the program, as for ``snarl run``; the program's arguments, output
and exit code pass through, except that a race found makes the exit code 66 (``--exitcode``).
The reports and the summary go to standard error when the program has ended (its non-daemon
threads joined, as python does at exit), or to ``--report FILE``; ``--json FILE`` writes the
JSON document (``docs/races.md``).
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
from pathlib import Path

from .common import say, usage

__all__ = ["EXIT_CODES", "EXIT_RACE", "add", "handle", "run_races"]

NAME = "race"
EXIT_RACE = 66

EXIT_CODES = (
    ("N", "the program's own exit code when no race was found"),
    ("2", "usage error"),
    (str(EXIT_RACE), "a data race was found (--exitcode N chooses another code)"),
)

EXAMPLES_HELP = (
    ("snarl race bank.py", "run bank.py; report every data race among its threads"),
    ("snarl race --include mylib -m mylib.server", "also check the installed package mylib"),
    ("snarl race --json races.json app.py", "the reports as JSON too"),
    ("snarl race --exitcode 0 app.py", "report races but keep the program's exit code"),
)


def add(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add ``snarl race`` to the subcommands."""
    race = sub.add_parser(
        NAME,
        help="run a Python program under the data race detector",
        usage=(
            "snarl race [OPTIONS] SCRIPT [ARGS...]\n       snarl race [OPTIONS] -m MODULE [ARGS...]"
        ),
        allow_abbrev=False,
        description=(
            "Run a script (or -m module) with its modules instrumented and snarl's primitives"
            " installed, and report every data race: two accesses to the same attribute,"
            " global, closure cell, item or container from two threads, one a write, with no"
            " happens-before order between them (locks, thread start/join, queues, events,"
            " futures...).  A race is found in one ordinary run whatever the timing.  User"
            " code is the .py files under the script's folder (the current one for -m);"
            " --include adds packages.  Semantics: docs/races.md."
        ),
    )
    race.add_argument(
        "--include",
        action="append",
        default=[],
        metavar="PACKAGE",
        help="also instrument PACKAGE (repeatable)",
    )
    race.add_argument(
        "--suppressions",
        metavar="FILE",
        help="a file of PATH_GLOB[:LINE|:FUNCTION] patterns whose races are not reported",
    )
    race.add_argument(
        "--exitcode",
        type=int,
        default=EXIT_RACE,
        metavar="N",
        help="exit code when a race was found; 0 keeps the program's (default: %(default)d)",
    )
    race.add_argument(
        "--history",
        action="store_true",
        help="keep every access's stack, so that the earlier access of a race shows its"
        " stack too (several times slower)",
    )
    race.add_argument("--report", metavar="FILE", help="write the reports to FILE, not stderr")
    race.add_argument("--json", metavar="FILE", help="also write the JSON document to FILE")
    race.add_argument("-m", dest="module", metavar="MODULE", help="run a module, as python -m")
    race.add_argument("target", nargs="?", metavar="SCRIPT", help="the script to run")
    race.add_argument("args", nargs="*", metavar="ARGS", help="the program's own arguments")
    race.set_defaults(handler=handle)
    return race


def handle(args: argparse.Namespace) -> int:
    """Run ``snarl race``; returns the exit code."""
    if args.module is None and args.target is None:
        return usage(NAME, "give a script, or -m MODULE")
    if args.module is None and not Path(args.target).is_file():
        return usage(NAME, f"no such script: {args.target}")
    from ..race.session import read_suppressions, run_program

    suppress: list[str] = []
    if args.suppressions is not None:
        try:
            suppress = read_suppressions(args.suppressions)
        except OSError as exc:
            return usage(NAME, f"cannot read --suppressions: {exc.strerror}")
    target = args.module if args.module is not None else args.target
    r, outcome = run_program(
        target,
        args.args,
        module=args.module is not None,
        include=args.include,
        suppress=suppress,
        before_stop=_join_non_daemon,
        history=args.history,
    )
    code = _exit_code(outcome)
    text = r.text()
    if args.report is not None:
        with open(args.report, "a", encoding="utf-8") as f:
            f.write(text)
    else:
        sys.stdout.flush()  # the program's output first
        for line in text.splitlines():
            say(line)
    if args.json is not None:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(r.json(), f, indent=2)
            f.write("\n")
    if r.found and args.exitcode != 0:
        return int(args.exitcode)
    return code


def run_races(args: argparse.Namespace) -> int:
    """``snarl run --races``: ``snarl race``'s run, with its defaults for its own options."""
    args.include, args.suppressions, args.exitcode = [], None, EXIT_RACE
    args.report, args.json, args.history = None, None, False
    return handle(args)


def _join_non_daemon() -> None:
    """Wait for the program's non-daemon threads, as python does at exit."""
    me = threading.current_thread()
    for t in threading.enumerate():
        if t is not me and not t.daemon and t.is_alive():
            t.join()


def _exit_code(outcome: BaseException | None) -> int:
    if outcome is None:
        return 0
    if isinstance(outcome, SystemExit):
        from ..lifetime import exit_code

        return exit_code(outcome)
    from .run import report_uncaught

    if isinstance(outcome, KeyboardInterrupt):
        report_uncaught(outcome)
        return 130
    report_uncaught(outcome)
    return 1
