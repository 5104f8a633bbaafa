"""Issue 12, points 4 and 5: one default that finds synchronisation bugs and data races; a
"no failure" verdict says where threads were switched and what was not controlled; library
code is explored with ``include``."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from snarl.exploration.runner import explore

from .programs import bugs, races

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PROGRAMS = os.path.join(ROOT, "tests", "exploration", "programs")


@pytest.mark.parametrize(
    "program",
    [races.global_increment, races.check_then_create, races.torn_pair, races.dict_iteration],
    ids=lambda f: f.__name__,
)
def test_the_default_finds_data_races_that_sync_cannot(program):
    assert explore(program, granularity="sync", schedules=200).failure is None
    result = explore(program, schedules=200)
    assert result.failure is not None, str(result)
    assert result.granularity == "auto"
    assert "shared" in result.failure.token or result.failure.token  # replayable
    assert "at shared" in (result.points or "")


def test_the_default_finds_a_deadlock_as_quickly_as_sync():
    sync = explore(bugs.abba, granularity="sync", schedules=50, shrink=False)
    auto = explore(bugs.abba, schedules=50, shrink=False)
    assert sync.failure is not None and auto.failure is not None
    assert auto.schedules <= 2 * sync.schedules


@pytest.mark.parametrize("strategy", ["random", "pct", "dfs"])
def test_the_default_passes_the_fixed_twin_and_says_what_it_covered(strategy):
    result = explore(races.locked_increment, strategy=strategy, schedules=200)
    assert result.failure is None, str(result)
    text = str(result)
    assert "Threads were switched at every synchronisation operation" in text
    assert "also before every access to shared state in user code" in text
    assert "granularity auto: " in result.statistics()


def test_dfs_claims_coverage_only_when_both_searches_covered():
    result = explore(races.locked_increment, strategy="dfs", schedules=5)
    assert not result.covered  # the budget ran out first
    small = explore(races.locked_increment, strategy="dfs", schedules=100_000)
    assert small.covered, str(small)


def test_a_lock_held_when_the_exploration_began_is_named_in_the_verdict():
    held = bugs.threading.Lock()  # a native lock (made in this module's namespace below)
    bugs.HELD_FOR_TEST = held
    held.acquire()
    try:
        result = explore(races.locked_increment, schedules=5)
    finally:
        held.release()
        del bugs.HELD_FOR_TEST
    assert result.failure is None
    assert any("HELD_FOR_TEST" in u for u in result.uncontrolled), result.uncontrolled
    assert "Not under snarl's control" in str(result)


LIBRARY = os.path.join(PROGRAMS, "site-packages", "")

# The package stands for an installed one: its folder counts as library code, as
# site-packages does (the command line is run the same way, in a child process).
AS_INSTALLED = (
    "import sys, snarl.interval.emulation as e; e._LIBRARY += (sys.argv.pop(1),); "
    "from snarl.cli import main; sys.exit(main(sys.argv[1:]))"
)


@pytest.fixture
def installed(monkeypatch):
    from snarl.interval import emulation

    monkeypatch.setattr(emulation, "_LIBRARY", (*emulation._LIBRARY, LIBRARY))


def test_library_code_is_explored_only_when_included(installed):
    assert explore(races.library_over_admits, schedules=300).failure is None
    result = explore(races.library_over_admits, schedules=300, include=["ratelimit"])
    assert result.failure is not None and result.failure.kind == "assertion", str(result)
    assert "--include ratelimit" in result.failure.report


def test_the_command_line_includes_a_package_and_replays_with_it():
    env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "src"))
    target = os.path.join(PROGRAMS, "races.py") + "::library_over_admits"
    run = [sys.executable, "-c", AS_INSTALLED, LIBRARY]
    found = subprocess.run(
        [*run, "explore", target, "--include", "ratelimit", "--schedules", "300"],
        capture_output=True, text=True, env=env, timeout=120, cwd=ROOT,
    )  # fmt: skip
    assert found.returncode == 1, found.stdout + found.stderr
    command = found.stdout.rsplit("Replay it with:", 1)[1].strip().splitlines()[0].split()
    assert command[:2] == ["snarl", "replay"] and command[-2:] == ["--include", "ratelimit"]
    again = subprocess.run(
        [*run, *command[1:]], capture_output=True, text=True, env=env, timeout=120, cwd=ROOT
    )
    assert again.returncode == 1, again.stdout + again.stderr
    unknown = subprocess.run(
        [*run, "explore", target, "--include", "no_such_package_here"],
        capture_output=True, text=True, env=env, timeout=120, cwd=ROOT,
    )  # fmt: skip
    assert unknown.returncode == 2
    assert unknown.stderr.count("\n") == 1 and "no_such_package_here" in unknown.stderr


@pytest.mark.parametrize("granularity", ["auto", "line", "shared", "bytecode"])
def test_a_nonlocal_updated_under_a_lock_is_never_lost(granularity):
    result = explore(races.nonlocal_under_a_lock, granularity=granularity, schedules=300)
    assert result.failure is None, str(result)
