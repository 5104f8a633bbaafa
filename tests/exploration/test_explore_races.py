"""``snarl explore --races`` / ``explore(..., races=True)``: a schedule that hits a data race
fails with kind ``race`` even when its assertions pass; synchronised twins never do.

The programs are in ``programs/race_checks.py``.  Exploration is deterministic given the
strategy, seed and program, so every assertion holds on every run.
"""

from __future__ import annotations

import json
import re

import pytest

import snarl
from snarl.exploration.runner import replay
from snarl.runtime.workers import available as workers_available
from tests.helpers import REPO, run_python

from .programs import race_checks

PROGRAM = REPO / "tests" / "exploration" / "programs" / "race_checks.py"


def line_of(text: str) -> int:
    """The number of the first line of the program file that is ``text``."""
    return PROGRAM.read_text().splitlines().index(text) + 1


def explore(fn, **kw):
    kw.setdefault("schedules", 100)
    kw.setdefault("seed", 0)
    kw.setdefault("races", True)
    return snarl.explore(fn, **kw)


def test_a_racy_test_whose_assertions_pass_fails_as_a_race_at_once():
    result = explore(race_checks.unlocked_deposits)
    f = result.failure
    assert f is not None and f.kind == "race"
    assert result.schedules == 1  # found in the first schedule: no preemption needed
    assert f.message.startswith("data race on attribute balance of an Account in thread")
    report = f.report
    assert "WARNING: DATA RACE" in report
    assert "Location: attribute balance of an Account" in report
    assert "of account.balance by thread" in report  # the access, as the code names it
    assert "Previous write of account.balance by thread" in report
    deposit = line_of("        account.balance = account.balance + 1")
    assert f"race_checks.py:{deposit}  deposit" in report  # both accesses' line, in stacks
    assert "locks held: none" in report
    start = line_of("        t.start()")
    assert f"started at tests/exploration/programs/race_checks.py:{start}  _both" in report
    # two managed threads, distinct for the detector even on a kept OS thread (3.10-3.12)
    # (threading numbers unnamed threads process-wide: the numbers depend on earlier tests)
    names = set(re.findall(r'thread "(Thread-\d+ \(deposit\))"', report))
    assert len(names) == 2, report
    assert "Interleaving:" in report and "[data race]" in report
    assert re.search(r"snarl replay snarl-\S+ \S+::unlocked_deposits --races$", report)
    assert f.race is not None and f.race.location == "attribute balance of an Account"
    assert f.to_dict()["race"]["location"] == "attribute balance of an Account"


def test_without_races_the_same_test_passes_every_schedule():
    result = explore(race_checks.unlocked_deposits, races=False)
    assert result.failure is None and result.schedules == 100 and result.races is None


def test_the_race_replays_from_its_token():
    f = explore(race_checks.unlocked_deposits).failure
    again = replay(race_checks.unlocked_deposits, f.token, races=True)
    assert again is not None and again.kind == "race"
    assert again.race.location == f.race.location
    assert again.schedule == f.schedule


def test_a_race_only_some_schedules_hit_is_found_and_shrunk():
    result = explore(race_checks.sometimes_racy)
    f = result.failure
    assert f is not None and f.kind == "race" and result.schedules == 5
    assert f.preemptions == 0 < f.found_preemptions  # shrunk, and still a race
    assert "Location: attribute balance of an Account" in f.report
    again = replay(race_checks.sometimes_racy, f.token, races=True)
    assert again is not None and again.kind == "race"


def test_threads_on_one_kept_os_thread_are_two_threads_for_the_detector():
    f = explore(race_checks.racy_on_one_os_thread).failure
    assert f is not None and f.kind == "race"
    names = set(re.findall(r'of box\.balance by thread "(Thread-\d+ \(add\))"', f.report))
    assert len(names) == 2, f.report
    if workers_available():  # 3.10-3.12: the second ran on the first one's OS thread
        assert len(race_checks.idents) == 2 and len(set(race_checks.idents)) == 1


def test_a_race_on_a_module_global():
    f = explore(race_checks.unlocked_global).failure
    assert f is not None and f.kind == "race"
    assert "Location: global hits of module" in f.report


@pytest.mark.parametrize(
    "name",
    [
        "locked_deposits",
        "queue_handoff",
        "event_publish",
        "read_after_join",
        "future_result",
        "futures_wait",
        "condition_handoff",
        "semaphore_handoff",
        "barrier_phases",
        "one_after_another",
    ],
)
def test_synchronised_twins_are_never_reported(name):
    result = explore(getattr(race_checks, name))
    assert result.failure is None, result.failure.report
    assert result.schedules == 100
    checked = result.races
    assert checked is not None and checked.executions == 100 and checked.accesses_checked > 0
    text = str(result)
    assert "Data races were checked in every schedule" in text
    assert "none found" in text and "not seen: C extensions' internal state" in text
    assert result.to_dict()["races"]["executions"] == 100


def test_the_lock_held_is_named_in_a_report():
    def half_locked() -> None:  # one side takes the lock, the other does not
        account = race_checks.Account()
        lock = race_checks.threading.Lock()

        def locked() -> None:
            with lock:
                account.balance = account.balance + 1

        def unlocked() -> None:
            account.balance = account.balance + 1

        race_checks._both(locked, unlocked)

    f = explore(half_locked).failure
    assert f is not None and f.kind == "race"
    held = re.search(
        r"locks held: Lock 'lock' \(tests/exploration/test_explore_races\.py:\d+\)", f.report
    )
    assert held, f.report


# -- the command line -------------------------------------------------------------------------
def snarl_cli(*args: str):
    return run_python("-m", "snarl", *args, timeout=120)


def test_cli_race_exit_code_report_and_replay():
    found = snarl_cli("explore", f"{PROGRAM}::unlocked_deposits", "--races", "--seed", "0")
    assert found.returncode == 1, found.stderr
    out = found.stdout
    assert "snarl: data race on attribute balance of an Account" in out
    assert "WARNING: DATA RACE" in out and "Previous write of account.balance" in out
    [command] = [line.strip() for line in out.splitlines() if "snarl replay" in line]
    token = command.split()[2]
    assert command == f"snarl replay {token} {PROGRAM}::unlocked_deposits --races"
    again = snarl_cli("replay", token, f"{PROGRAM}::unlocked_deposits", "--races")
    assert again.returncode == 1, again.stderr
    assert "WARNING: DATA RACE" in again.stdout


def test_cli_json_and_a_clean_verdict():
    bad = snarl_cli("explore", f"{PROGRAM}::unlocked_deposits", "--races", "--json")
    assert bad.returncode == 1, bad.stderr
    data = json.loads(bad.stdout)
    assert data["found"] is True and data["kind"] == "race"
    assert data["failure"]["race"]["location"] == "attribute balance of an Account"
    clean = snarl_cli(
        "explore", f"{PROGRAM}::queue_handoff", "--races", "--schedules", "50"
    )  # fmt: skip
    assert clean.returncode == 0, clean.stderr
    assert "No failing schedule found." in clean.stdout
    assert "Data races were checked in every schedule" in clean.stdout
    assert "instrumented: race_checks.py" in clean.stdout
    plain = snarl_cli("explore", f"{PROGRAM}::unlocked_deposits", "--schedules", "50")
    assert plain.returncode == 0 and "Data races" not in plain.stdout


def test_cli_jobs_give_the_result_of_one_process():
    args = ("explore", f"{PROGRAM}::sometimes_racy", "--races", "--json", "--seed", "0")
    one = json.loads(snarl_cli(*args).stdout)
    two = json.loads(snarl_cli(*args, "--jobs", "2").stdout)
    assert one["kind"] == "race"
    assert (two["kind"], two["replay"], two["schedules"]) == (
        one["kind"],
        one["replay"],
        one["schedules"],
    )


def test_help_names_the_option():
    out = snarl_cli("explore", "--help").stdout
    assert "--races" in out and "kind race" in out
    assert "--races" in snarl_cli("replay", "--help").stdout


def test_the_decorator_passes_races_on():
    test = snarl.interleavings(schedules=20, races=True)(race_checks.unlocked_deposits)
    with pytest.raises(snarl.InterleavingFailure) as info:
        test()
    assert info.value.failure.kind == "race"
    assert "race_checks.py::unlocked_deposits --races" in str(info.value)
