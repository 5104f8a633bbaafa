"""The ``snarl`` command explains itself: help with defaults, examples and exit codes; help
when run alone; "did you mean"; usage errors are exit code 2; ``--json`` is only JSON."""

from __future__ import annotations

import json
import re

import pytest

from snarl.cli import EXIT_CODES

from ..helpers import run_python

COMMANDS = ("demo", "run", "dump", "explore", "replay", "timeline")


def snarl(*args: str):
    return run_python("-m", "snarl", *args)


def test_snarl_alone_prints_the_help():
    proc = snarl()
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    assert proc.stdout.startswith("usage: snarl")
    for name in COMMANDS:
        assert f"\n    {name} " in proc.stdout
    assert "$ snarl demo seed" in proc.stdout


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_help_has_examples_and_every_exit_code(command):
    proc = snarl(command, "--help")
    assert proc.returncode == 0, proc.stderr
    text = proc.stdout
    assert "examples:\n  $ snarl " + command in text
    codes = text[text.index("exit codes:") :]
    for code, _ in EXIT_CODES[command]:
        assert re.search(rf"^  {re.escape(code)}\s", codes, re.M), (code, codes)


@pytest.mark.parametrize(
    ("command", "defaults"),
    [
        ("run", ("--period SECONDS", "(default: 1)", "--stuck SECONDS", "(default: 10)")),
        ("dump", ("--timeout SECONDS", "(default: 5)", "default: agent, then gdb")),
        ("explore", ("(default: random)", "(default: 1000)", "(default: auto)", "(default: 3)")),
    ],
)
def test_help_states_the_defaults(command, defaults):
    text = " ".join(snarl(command, "--help").stdout.split())
    for default in defaults:
        assert default in text, default


def test_every_exit_code_of_every_command_is_in_the_top_help():
    text = snarl("--help").stdout
    for command, codes in EXIT_CODES.items():
        for code, _ in codes:
            if code not in ("0", "2"):
                line = " ".join(text[text.index(f"  {command} ") :].split())
                assert f"{code} " in line, (command, code)


def test_a_misspelt_command_gets_a_did_you_mean():
    proc = snarl("dupm", "4242")
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr.strip() == (
        "snarl: error: unknown command 'dupm'; did you mean 'dump'? (see 'snarl --help')"
    )


def test_an_unknown_example_is_a_usage_error():
    proc = snarl("demo", "nope")
    assert proc.returncode == 2
    [line] = proc.stderr.splitlines()
    assert line.startswith("snarl demo: error: unknown example 'nope' (choose from seed, ")


def test_demo_json_is_only_json_on_stdout():
    proc = snarl("demo", "seed", "--json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)  # the example's own prints are not mixed in
    assert data["schema"] == 1
    assert "going to sleep" in proc.stderr


def test_demo_json_of_the_checkinterval_demo_is_refused():
    proc = snarl("demo", "checkinterval", "--json")
    assert proc.returncode == 2
    assert proc.stdout == ""
    [line] = proc.stderr.splitlines()
    assert line.startswith("snarl demo: error: --json is for the demos that dump: seed, ")


def test_an_untracked_demo_points_to_tracking_as_the_next_step():
    proc = snarl("demo", "seed")
    assert proc.returncode == 0, proc.stderr
    assert "holder is not known without tracking: run the program under `snarl run`" in (
        proc.stdout
    )
    last = proc.stderr.splitlines()[-1]
    assert last.startswith("next: `snarl demo seed --tracked` runs it with tracking")
