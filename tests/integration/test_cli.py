"""``python -m snarl``: version, usage errors and unknown examples, as a user sees them."""

from __future__ import annotations

import pytest

import snarl

from ..helpers import run_python


def test_version():
    proc = run_python("-m", "snarl", "--version")
    assert proc.returncode == 0
    assert proc.stdout.strip() == f"snarl {snarl.__version__}"


def test_unknown_example_is_one_line_without_traceback():
    proc = run_python("-m", "snarl", "demo", "nope")
    assert proc.returncode != 0
    assert proc.stdout == ""
    assert "Traceback" not in proc.stderr
    [message] = proc.stderr.splitlines()
    assert "nope" in message
    for name in ("seed", "abba", "condition", "pool"):
        assert name in message


@pytest.mark.parametrize(
    "args",
    [(), ("demo",), ("frobnicate",), ("demo", "seed", "--bogus")],
    ids=["no-command", "no-example", "unknown-command", "unknown-option"],
)
def test_usage_errors_are_one_line(args):
    proc = run_python("-m", "snarl", *args)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    [message] = proc.stderr.splitlines()
    assert message.startswith("snarl")
    assert "error" in message


def test_help_lists_the_demo_command():
    proc = run_python("-m", "snarl", "--help")
    assert proc.returncode == 0
    assert "demo" in proc.stdout
