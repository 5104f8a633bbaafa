"""The ``snarl`` command: argument parsing, exit codes, nothing clever.

Exit codes: 0 success, 2 usage error (argparse's own), 3 an unknown example name; ``snarl
run`` returns the program's own exit code (an uncaught exception prints its traceback and
gives 1, as ``python`` does).
"""

from __future__ import annotations

import argparse
import runpy
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from . import __version__

__all__ = ["EXAMPLES", "example_path", "main"]

EXAMPLES = {
    "seed": "seed_blocked.py",
    "abba": "abba_deadlock.py",
    "condition": "condition_no_notify.py",
    "pool": "idle_pool.py",
    "checkinterval": "checkinterval.py",
}
"""Bundled examples runnable with ``snarl demo NAME``."""

EXIT_UNKNOWN_EXAMPLE = 3


def example_path(name: str) -> Path:
    """The file of a bundled example: inside the installed package, or in a source checkout."""
    filename = EXAMPLES[name]
    here = Path(__file__).resolve().parent
    for folder in (here / "examples", here.parent.parent / "examples"):
        candidate = folder / filename
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"example {name!r} is not installed ({filename} not found)")


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (and exit code 2), not a usage block."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="snarl", description="Control and debug Python thread behaviour.")
    parser.add_argument("--version", action="version", version=f"snarl {__version__}")
    sub = parser.add_subparsers(
        dest="command", required=True, metavar="COMMAND", parser_class=_Parser
    )
    demo = sub.add_parser(
        "demo",
        help="run a bundled example",
        description=(
            "Run a bundled example program.  seed, abba, condition and pool end by dumping"
            " their threads; checkinterval runs the seed document's check-interval"
            " demonstrations."
        ),
    )
    demo.add_argument("name", metavar="NAME", help=f"one of: {', '.join(EXAMPLES)}")
    demo.add_argument("--json", action="store_true", help="dump as JSON instead of text")
    demo.add_argument("--all", action="store_true", help="show every thread, ungrouped")
    demo.add_argument(
        "--tracked",
        action="store_true",
        help="run it with snarl.install(): recorded lock owners and wait times",
    )
    demo.set_defaults(handler=_demo)
    run = sub.add_parser(
        "run",
        help="run a Python program with snarl's tracked primitives installed",
        description=(
            "Run a script (or -m module) with snarl.install() in force from its first line, so"
            " every lock it creates records its owner.  The program's arguments, output and exit"
            " code pass through unchanged."
        ),
    )
    run.add_argument("--lockorder", action="store_true", help="also validate lock order")
    run.add_argument(
        "--check-interval",
        type=_interval,
        metavar="N",
        help="offer the GIL every N bytecodes, as Python 2's sys.setcheckinterval(N)",
    )
    run.add_argument(
        "--user-only",
        action="store_true",
        help="with --check-interval: count only code outside the stdlib and site-packages",
    )
    run.add_argument(
        "--switch-interval",
        type=_seconds,
        metavar="SECONDS",
        help="sys.setswitchinterval(SECONDS) for the run",
    )
    run.add_argument("-m", dest="module", metavar="MODULE", help="run a module, as python -m")
    run.add_argument("target", nargs="?", metavar="SCRIPT", help="the script to run")
    run.add_argument("args", nargs=argparse.REMAINDER, help="the program's own arguments")
    run.set_defaults(handler=_run)
    return parser


def _interval(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0 (0 turns it off), not {value}")
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be strictly positive, not {text}")
    return value


def _demo(args: argparse.Namespace) -> int:
    if args.name not in EXAMPLES:
        print(
            f"snarl demo: unknown example {args.name!r} (choose from {', '.join(EXAMPLES)})",
            file=sys.stderr,
        )
        return EXIT_UNKNOWN_EXAMPLE
    path = example_path(args.name)
    argv = [str(path)] + (["--json"] if args.json else []) + (["--all"] if args.all else [])
    saved = sys.argv
    sys.argv = argv
    try:
        if args.tracked:
            from .sync import install

            with install():
                runpy.run_path(str(path), run_name="__main__")
        else:
            runpy.run_path(str(path), run_name="__main__")
    finally:
        sys.argv = saved
    return 0


def _run(args: argparse.Namespace) -> int:
    from .sync import install

    if args.module is None and args.target is None:
        print(
            "snarl run: error: give a script, or -m MODULE (see 'snarl run --help')",
            file=sys.stderr,
        )
        return 2
    if args.module is None and not Path(args.target).is_file():
        print(f"snarl run: error: no such script: {args.target}", file=sys.stderr)
        return 2
    rest = ([args.target] if args.module is not None and args.target else []) + args.args
    saved_argv, saved_path = sys.argv[:], sys.path[:]
    saved_switch = sys.getswitchinterval()
    install(lockorder=args.lockorder)
    if args.check_interval:
        from .interval import setcheckinterval

        try:
            setcheckinterval(args.check_interval, user_only=args.user_only)
        except RuntimeError as exc:  # another tool holds the hook it needs
            print(f"snarl run: error: {exc}", file=sys.stderr)
            return 2
    if args.switch_interval is not None:
        sys.setswitchinterval(args.switch_interval)
    try:
        if args.module is not None:
            sys.argv = [args.module, *rest]
            runpy.run_module(args.module, run_name="__main__", alter_sys=True)
        else:
            sys.argv = [args.target, *rest]
            sys.path.insert(0, str(Path(args.target).resolve().parent))
            runpy.run_path(args.target, run_name="__main__")
    except SystemExit as exc:  # the program's own exit code passes through
        code = exc.code
        if code is None or isinstance(code, int):
            return code or 0
        print(code, file=sys.stderr)
        return 1
    finally:
        sys.argv, sys.path[:] = saved_argv, saved_path
        if args.check_interval:
            from .interval import setcheckinterval

            setcheckinterval(0)
        sys.setswitchinterval(saved_switch)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    args = _parser().parse_args(argv)
    return int(args.handler(args))
