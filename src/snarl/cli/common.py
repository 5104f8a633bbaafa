"""What every subcommand of ``snarl`` shares: the parser and help formatter, the option types,
the one-line usage error, and the help's epilog (examples, then exit codes)."""

from __future__ import annotations

import argparse
import re
import sys
import textwrap
from collections.abc import Sequence
from typing import NoReturn

__all__ = [
    "EXIT_USAGE",
    "Formatter",
    "Parser",
    "epilog",
    "interval",
    "positive",
    "say",
    "seconds",
    "usage",
]

EXIT_USAGE = 2
"""Every command: a usage error (bad option, bad value, missing argument)."""


class Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (and exit code 2), not a usage block."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


class Formatter(argparse.HelpFormatter):
    """Prose filled as usual, a blank line kept between paragraphs; in an epilog, ``  $ ...``
    example lines kept whole, and an indented ``  CODE  meaning`` line's meaning wrapped under
    itself."""

    def __init__(self, prog: str) -> None:
        super().__init__(prog, max_help_position=32)

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        lines = []
        for line in text.splitlines():
            if not line.strip() or line.lstrip().startswith("$ "):
                lines.append(indent + line if line.strip() else "")
                continue
            if line.startswith("      "):  # an example's explanation
                first = rest = indent + "      "
                words = " ".join(line.split())
            else:
                item = re.match(r"(\s+\S+\s+)(.*)", line)
                first = indent + item[1] if item else indent
                rest = " " * len(first) if item else indent
                words = item[2] if item else " ".join(line.split())
            lines.append(textwrap.fill(words, width, initial_indent=first, subsequent_indent=rest))
        return "\n".join(lines)


def epilog(examples: Sequence[tuple[str, str]], codes: Sequence[tuple[str, str]]) -> str:
    """The end of ``snarl COMMAND --help``: examples (``$ command``, what it does), then
    every exit code with its meaning."""
    parts = []
    if examples:
        lines = ["examples:"]
        for command, what in examples:
            lines.append(f"  $ {command}")
            lines.append(f"      {what}")
        parts.append("\n".join(lines))
    parts.append("exit codes:\n" + "\n".join(f"  {c:<5}{text}" for c, text in codes))
    return "\n\n".join(parts)


def usage(command: str, message: str) -> int:
    """A usage error of ``snarl COMMAND``: one ``error:`` line on stderr; returns 2."""
    say(f"snarl {command}: error: {message} (see 'snarl {command} --help')")
    return EXIT_USAGE


def say(line: str) -> None:
    """One line on standard error."""
    print(line, file=sys.stderr)


def interval(text: str) -> int:
    """An option type: a check interval, an integer >= 0 (0 turns it off)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0 (0 turns it off), not {value}")
    return value


def positive(text: str) -> int:
    """An option type: an integer >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, not {value}")
    return value


def seconds(text: str) -> float:
    """An option type: a strictly positive number of seconds."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be strictly positive, not {text}")
    return value
