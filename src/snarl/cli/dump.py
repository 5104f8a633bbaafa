"""``snarl dump PID``: the threads of another running Python process."""

from __future__ import annotations

import argparse

from .common import seconds

__all__ = ["EXIT_CODES", "add", "handle"]

NAME = "dump"

EXIT_CODES = (
    ("0", "the threads were dumped"),
    ("2", "usage error (PID not a positive integer, a bad option)"),
    ("4", "no such process (it may just have exited)"),
    ("5", "not a Python process"),
    ("6", "permission denied (another user's process, or ptrace refused)"),
    ("7", "unsupported Python version (snarl dumps CPython 3.10 to 3.13)"),
    ("8", "the process did not answer within --timeout"),
    ("9", "no method could reach it: no agent, gdb failed or absent, no py-spy"),
    ("10", "it answered, but not with a snarl dump (malformed, truncated or too large)"),
)

EXAMPLES_HELP = (
    ("snarl dump 4242", "every thread of process 4242, by the best method that reaches it"),
    ("snarl dump 4242 --json > dump.json", "the same as JSON (schema: docs/json-schema.md)"),
    ("sudo snarl dump 4242 --method gdb", "another user's process, by gdb only"),
)


def add(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add ``snarl dump`` to the subcommands."""
    dump = sub.add_parser(
        NAME,
        help="dump the threads of another running Python process",
        description=(
            "Print every thread of process PID: through its agent (under `snarl run`, or"
            " snarl.install(agent=True)) with lock owners; else by injecting the dump with gdb;"
            " else with py-spy (on PATH, or installed beside snarl).  A note on stderr says"
            " which method was used and what it cannot see."
        ),
    )
    dump.add_argument("pid", metavar="PID", help="the process id")
    dump.add_argument("--json", action="store_true", help="JSON instead of text")
    dump.add_argument(
        "--locals", action="store_true", help="include each frame's locals (bounded reprs)"
    )
    dump.add_argument("--all", action="store_true", help="show every thread, ungrouped")
    dump.add_argument(
        "--timeout",
        type=seconds,
        default=5.0,
        metavar="SECONDS",
        help="give up after this long, all methods together (default: %(default)g)",
    )
    dump.add_argument(
        "--method",
        choices=("agent", "gdb", "py-spy"),
        help="use only this method (default: agent, then gdb, then py-spy)",
    )
    dump.set_defaults(handler=handle)
    return dump


def handle(args: argparse.Namespace) -> int:
    """Run ``snarl dump``; returns the exit code."""
    from ..remote import main_dump

    return main_dump(
        args.pid,
        json=args.json,
        locals=args.locals,
        all=args.all,
        timeout=args.timeout,
        method=args.method,
    )
