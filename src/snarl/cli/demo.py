"""``snarl demo NAME``: run a bundled example."""

from __future__ import annotations

import argparse
import runpy
import sys
from pathlib import Path

from .common import usage

__all__ = ["EXAMPLES", "EXIT_CODES", "add", "example_path", "handle"]

NAME = "demo"

EXAMPLES = {
    "seed": "seed_blocked.py",
    "abba": "abba_deadlock.py",
    "condition": "condition_no_notify.py",
    "pool": "idle_pool.py",
    "checkinterval": "checkinterval.py",
}
"""Bundled examples runnable with ``snarl demo NAME``."""

DUMPS = ("seed", "abba", "condition", "pool")
"""The examples that end with a dump (``--json`` and ``--all`` are theirs)."""

EXIT_CODES = (("0", "the example ran"), ("2", "usage error"))

EXAMPLES_HELP = (
    ("snarl demo seed", "a thread waits for a lock another holds forever: the dump says so"),
    ("snarl demo seed --tracked", "the same, tracked: the lock's holder and the wait's length"),
    ("snarl demo abba", "two threads in a deadlock: the dump reports the cycle"),
    ("snarl demo pool --json", "201 threads as JSON (200 idle workers in one group)"),
)


def example_path(name: str) -> Path:
    """The file of a bundled example: inside the installed package, or in a source checkout."""
    filename = EXAMPLES[name]
    here = Path(__file__).resolve().parent.parent
    for folder in (here / "examples", here.parent.parent / "examples"):
        candidate = folder / filename
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"example {name!r} is not installed ({filename} not found)")


def add(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add ``snarl demo`` to the subcommands."""
    demo = sub.add_parser(
        NAME,
        help="run a bundled example",
        description=(
            "Run a bundled example program (an unknown NAME is a usage error).  seed, abba,"
            " condition and pool end by dumping"
            " their threads (the dump on stdout; with --json, only the JSON is on stdout and"
            " the example's own prints go to stderr); checkinterval runs Python 2's"
            " sys.setcheckinterval demonstrations with snarl.setcheckinterval."
        ),
    )
    demo.add_argument("name", metavar="NAME", help=f"the example: one of {', '.join(EXAMPLES)}")
    demo.add_argument(
        "--json", action="store_true", help="seed, abba, condition, pool: dump as JSON"
    )
    demo.add_argument(
        "--all", action="store_true", help="seed, abba, condition, pool: every thread, ungrouped"
    )
    demo.add_argument(
        "--tracked",
        action="store_true",
        help="run it under snarl.install(): recorded lock owners and wait times",
    )
    demo.add_argument(
        "--timeline",
        metavar="FILE",
        help="checkinterval only: write the demonstrations as timelines (.html or .json)",
    )
    demo.set_defaults(handler=handle)
    return demo


def handle(args: argparse.Namespace) -> int:
    """Run ``snarl demo``; returns the exit code."""
    if args.name not in EXAMPLES:
        return usage(NAME, f"unknown example {args.name!r} (choose from {', '.join(EXAMPLES)})")
    for flag in ("json", "all"):
        if getattr(args, flag) and args.name not in DUMPS:
            return usage(NAME, f"--{flag} is for the demos that dump: {', '.join(DUMPS)}")
    path = example_path(args.name)
    if args.timeline is not None:
        if args.name != "checkinterval":
            return usage(NAME, "--timeline is for the checkinterval demo")
        from ..timeline import demo_timelines

        try:
            demo_timelines(args.timeline, example=path, report=print)
        except (OSError, ValueError) as exc:
            return usage(NAME, str(exc))
        print(f"timelines written to {args.timeline}")
        return 0
    argv = [str(path)] + (["--json"] if args.json else []) + (["--all"] if args.all else [])
    saved = sys.argv
    sys.argv = argv
    try:
        if args.tracked:
            from ..sync import install

            with install():
                runpy.run_path(str(path), run_name="__main__")
        else:
            runpy.run_path(str(path), run_name="__main__")
    finally:
        sys.argv = saved
    if args.name in DUMPS:
        sys.stdout.flush()  # (the dump first, then the hint)
        print(_next_step(args.name, args.tracked), file=sys.stderr)
    return 0


def _next_step(name: str, tracked: bool) -> str:
    """What to try after a dump demo (on stderr: stdout holds only the dump)."""
    if not tracked:
        return (
            f"next: `snarl demo {name} --tracked` runs it with tracking, so every lock's holder"
            " and each wait's length are known; on your own program: `snarl run app.py`, then"
            " `snarl dump PID` from another shell"
        )
    return (
        "next: on your own program, `snarl run app.py` tracks it the same way (plus a hang"
        " watchdog), and `snarl dump PID` from another shell prints this dump"
    )
