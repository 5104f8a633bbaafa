"""Helpers for the plugin's tests: finding lines in generated test files, reading output."""

from __future__ import annotations

import re

import pytest


def line_of(source: str, marker: str) -> int:
    """The line of ``source`` with the comment ``# marker``, counted as pytester writes it.

    ``pytester.makepyfile`` drops the leading blank lines of a source.
    """
    lines = source.lstrip("\n").splitlines()
    found = [i for i, line in enumerate(lines, 1) if re.search(rf"#\s*{marker}\b", line)]
    assert len(found) == 1, f"{marker!r} is on lines {found}"
    return found[0]


def output(result: pytest.RunResult) -> str:
    """Everything the run wrote, stdout then stderr."""
    return result.stdout.str() + "\n" + result.stderr.str()
