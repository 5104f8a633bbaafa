"""``snarl timeline IN.json -o OUT.html``: a saved Chrome-trace timeline made into the page."""

from __future__ import annotations

import argparse

from .common import say, usage

__all__ = ["EXIT_CODES", "add", "handle"]

NAME = "timeline"

EXIT_CODES = (
    ("0", "the page (or trace) was written"),
    ("2", "usage error"),
)

EXAMPLES_HELP = (
    (
        "snarl timeline run.json -o run.html",
        "the page for a trace saved by `snarl run --timeline run.json`",
    ),
)


def add(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add ``snarl timeline`` to the subcommands."""
    cmd = sub.add_parser(
        NAME,
        help="turn a saved .json timeline into the HTML page",
        description=(
            "Read a Chrome-trace timeline that snarl saved (`snarl run --timeline FILE.json`,"
            " `--timeline` of explore, replay or the checkinterval demo) and write it as the"
            " self-contained HTML page (or, for a .json OUTPUT, as a Chrome trace again).  An input"
            " that is not a snarl timeline, or an output that cannot be written, is a usage"
            " error."
        ),
    )
    cmd.add_argument("input", metavar="IN.json", help="the saved timeline (Chrome trace JSON)")
    cmd.add_argument(
        "-o",
        "--output",
        required=True,
        metavar="OUT.html",
        help="the file to write (.html or .htm: the page; .json: a trace)",
    )
    cmd.set_defaults(handler=handle)
    return cmd


def handle(args: argparse.Namespace) -> int:
    """Run ``snarl timeline``; returns the exit code."""
    from ..timeline import save
    from ..timeline.reading import load_trace

    try:
        timelines = load_trace(args.input)
    except (OSError, ValueError) as exc:
        return usage(NAME, str(exc) if isinstance(exc, ValueError) else _oserror(exc))
    if not timelines:
        return usage(NAME, f"{args.input} holds no timeline")
    try:
        save(args.output, timelines)
    except ValueError as exc:
        return usage(NAME, str(exc).removeprefix("snarl: "))
    except OSError as exc:
        return usage(NAME, _oserror(exc))
    say(f"snarl timeline: {len(timelines)} timeline(s) written to {args.output}")
    return 0


def _oserror(exc: OSError) -> str:
    where = f": {exc.filename}" if exc.filename else ""
    return f"{exc.strerror or exc}{where}"
