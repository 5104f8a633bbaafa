"""The ``snarl`` command: argument parsing, exit codes, nothing clever.

One module per subcommand (:mod:`.demo`, :mod:`.run`, :mod:`.dump`, :mod:`.explore` with
``replay``, :mod:`.timeline`); each adds its parser (``add``) and handles its arguments.
:mod:`.common` holds what they share.  Exit codes: each subcommand's ``EXIT_CODES``, gathered
in :data:`EXIT_CODES`, is the one list of them; ``snarl --help`` and ``snarl COMMAND --help``
print it, and the README's "Exit codes" table repeats it.  Every command: 0 success, 2 usage
error.
"""

from __future__ import annotations

import argparse
import difflib
import os
import sys
from collections.abc import Sequence

from .. import __version__
from . import demo, dump, explore, race, run, timeline
from .common import EXIT_USAGE, Formatter, Parser, epilog
from .demo import EXAMPLES as EXAMPLES
from .demo import example_path as example_path
from .explore import load_target as load_target

__all__ = ["EXAMPLES", "EXIT_CODES", "example_path", "load_target", "main"]

# name → (add the parser, exit codes, examples): in the order `snarl --help` lists them
_COMMANDS = {
    "demo": (demo.add, demo.EXIT_CODES, demo.EXAMPLES_HELP),
    "run": (run.add, run.EXIT_CODES, run.EXAMPLES_HELP),
    "dump": (dump.add, dump.EXIT_CODES, dump.EXAMPLES_HELP),
    "explore": (explore.add, explore.EXPLORE_EXIT_CODES, explore.EXPLORE_EXAMPLES),
    "replay": (explore.add_replay, explore.REPLAY_EXIT_CODES, explore.REPLAY_EXAMPLES),
    "timeline": (timeline.add, timeline.EXIT_CODES, timeline.EXAMPLES_HELP),
    "race": (race.add, race.EXIT_CODES, race.EXAMPLES_HELP),
}

EXIT_CODES: dict[str, tuple[tuple[str, str], ...]] = {
    name: tuple(codes) for name, (_, codes, _) in _COMMANDS.items()
}
"""Every command's exit codes: (code, meaning) pairs, printed in its ``--help``."""


def _summary() -> str:
    """The epilog of ``snarl --help``: a first step, then every command's exit codes."""
    lines = [
        "start here:",
        "  $ snarl demo seed",
        "      a dump of a program where one thread waits for a lock another never releases",
        "  $ snarl run app.py ARGS...",
        "      run your program with lock owners tracked and a hang watchdog;"
        " `snarl dump PID` from another shell",
        "",
        "exit codes (each command's --help explains its own):",
        f"  {'every':<9}0 success, 2 usage error",
    ]
    for name, codes in EXIT_CODES.items():
        rest = [f"{c} {text}" for c, text in codes if c != "0" and text != "usage error"]
        lines.append(f"  {name:<9}" + ("; ".join(rest) or "0 and 2 only"))
    return "\n".join(lines)


def _parser() -> tuple[argparse.ArgumentParser, dict[str, argparse.ArgumentParser]]:
    parser = Parser(
        prog="snarl",
        description=(
            "Control and debug Python thread behaviour: where every thread is stopped, what it"
            " waits for, who holds it, which threads are deadlocked."
        ),
        epilog=_summary(),
        formatter_class=Formatter,
    )
    parser.add_argument("--version", action="version", version=f"snarl {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    commands = {}
    for name, (add, codes, examples) in _COMMANDS.items():
        command = add(sub)
        command.epilog = epilog(examples, codes)
        command.formatter_class = Formatter
        commands[name] = command
    return parser, commands


def _unknown_command(word: str) -> int:
    """``snarl dupm``: one line, with the nearest command if one is near."""
    near = difflib.get_close_matches(word, list(_COMMANDS), n=1)
    hint = f"; did you mean '{near[0]}'?" if near else f" (choose from {', '.join(_COMMANDS)})"
    print(f"snarl: error: unknown command {word!r}{hint} (see 'snarl --help')", file=sys.stderr)
    return EXIT_USAGE


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    words = list(sys.argv[1:] if argv is None else argv)
    parser, commands = _parser()
    if not words:  # `snarl` alone: what it can do, not an error
        parser.print_help()
        return 0
    if not words[0].startswith("-") and words[0] not in _COMMANDS:
        return _unknown_command(words[0])
    if words[0] in ("run", "race"):  # snarl's options, then the program's words, untouched
        opts, module, target, program_args = run.split_argv(commands[words[0]], words[1:])
        args = parser.parse_args([words[0], *opts])
        args.module, args.target, args.args = module, target, program_args
    else:
        args = parser.parse_args(words)
    if getattr(args, "handler", None) is None:  # options only, such as `snarl --json`
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        return int(args.handler(args))
    except BrokenPipeError:  # the reader went away (`snarl explore ... | head`): not an error
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # so the interpreter's final flush is quiet
        return 1
