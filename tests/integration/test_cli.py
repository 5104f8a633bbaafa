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
    [("demo",), ("frobnicate",), ("demo", "seed", "--bogus")],
    ids=["no-example", "unknown-command", "unknown-option"],
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


def test_tracked_demo_names_the_holder_of_a_bare_acquire():
    # Without tracking the seed example's `blocker` holder is unknown (it was taken by a bare
    # acquire()); under snarl.install() the dump names it, with how long the wait has lasted.
    proc = run_python("-m", "snarl", "demo", "seed", "--tracked")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "· tracked ·" in out
    [wait] = [line for line in out.splitlines() if "waits" in line and "`blocker`" in line]
    assert 'held by "Thread-2 (block)" since ' in wait
    assert "waits " in wait and " s for Lock `blocker`" in wait
    assert "holds Lock `blocker` (acquired at " in out
