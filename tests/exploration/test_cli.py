"""``snarl explore`` and ``snarl replay`` from the command line, and ``snarl run
--deterministic``: exit codes, JSON, one-line errors, the same result with --jobs."""

from __future__ import annotations

import json

from tests.helpers import EXAMPLES, REPO, run_python

BUGS = REPO / "tests" / "exploration" / "programs" / "bugs.py"


def snarl(*args: str):
    return run_python("-m", "snarl", *args, timeout=120)


def test_explore_finds_prints_and_exits_1_then_replay_reproduces():
    found = snarl("explore", f"{BUGS}::abba", "--schedules", "300", "--seed", "1")
    assert found.returncode == 1, found.stderr
    out = found.stdout
    assert "snarl: deadlock" in out and "Found 1 deadlock:" in out
    [command] = [line.strip() for line in out.splitlines() if "snarl replay" in line]
    token = command.split()[2]
    assert command == f"snarl replay {token} {BUGS}::abba"
    again = snarl("replay", token, f"{BUGS}::abba")
    assert again.returncode == 1, again.stderr
    assert "Found 1 deadlock:" in again.stdout


def test_explore_json_and_a_clean_test_exits_0():
    clean = snarl("explore", f"{BUGS}::ordered", "--schedules", "50", "--json")
    assert clean.returncode == 0, clean.stderr
    data = json.loads(clean.stdout)
    assert data["found"] is False and data["schedules"] == 50 and data["kind"] is None
    bad = snarl("explore", f"{BUGS}::lost_update", "--json", "--strategy", "pct")
    assert bad.returncode == 1
    data = json.loads(bad.stdout)
    assert data["found"] is True and data["kind"] == "assertion"
    assert data["replay"].startswith("snarl-") and "lost an update" in data["message"]


def test_jobs_give_the_result_of_one_process():
    one = json.loads(snarl("explore", f"{BUGS}::lost_update", "--json", "--seed", "5").stdout)
    two = json.loads(
        snarl("explore", f"{BUGS}::lost_update", "--json", "--seed", "5", "--jobs", "2").stdout
    )
    assert (two["kind"], two["replay"], two["schedules"]) == (
        one["kind"],
        one["replay"],
        one["schedules"],
    )


def test_user_mistakes_are_one_line_errors_with_exit_code_2():
    cases = [
        ("explore", f"{BUGS}::no_such_test"),
        ("explore", f"{BUGS}"),
        ("explore", "missing.py::test"),
        ("explore", f"{BUGS}::abba", "--strategy", "bogus"),
        ("explore", f"{BUGS}::abba", "--schedules", "0"),
        ("replay", "not-a-token", f"{BUGS}::abba"),
        ("replay", "snarl-AAAA", f"{BUGS}::abba"),
        ("explore", f"{BUGS}::abba", "--jobs", "2", "--strategy", "dfs"),
    ]
    for args in cases:
        proc = snarl(*args)
        assert proc.returncode == 2, (args, proc.stderr)
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and "Traceback" not in proc.stderr, (args, proc.stderr)
    missing = snarl("explore", f"{BUGS}::no_such_test")
    assert "no function 'no_such_test'" in missing.stderr and "abba" in missing.stderr


def test_replay_on_a_changed_program_says_it_did_not_reproduce():
    found = json.loads(snarl("explore", f"{BUGS}::abba", "--json").stdout)
    proc = snarl("replay", found["replay"], f"{BUGS}::ordered")
    assert proc.returncode == 3
    assert proc.stderr.startswith("snarl replay: did not reproduce:")


def test_deterministic_check_interval_reproduces_the_seed_demo_exactly():
    demo = str(EXAMPLES / "seed_queue.py")
    runs = [snarl("run", "--check-interval", "10", "--deterministic", demo, "1000") for _ in "ab"]
    assert all(r.returncode == 0 for r in runs), runs[0].stderr
    names = runs[0].stdout.split()
    assert runs[0].stdout == runs[1].stdout and sorted(names) == sorted(["T0", "T1", "T2"] * 5)
    assert len(set(names[:3])) == 3  # round-robin every 10 bytecodes: the threads interleave
    seeded = [
        snarl("run", "--check-interval", "10", "--deterministic", "--seed", "3", demo, "0")
        for _ in "ab"
    ]
    assert seeded[0].returncode == 0 and seeded[0].stdout == seeded[1].stdout
    big = snarl("run", "--check-interval", "100000", "--deterministic", demo, "1000")
    assert big.stdout.split() == ["T0"] * 5 + ["T1"] * 5 + ["T2"] * 5  # each runs to the end
    assert snarl("run", "--deterministic", demo).returncode == 2


def test_a_target_that_fails_to_load_is_a_one_line_error_naming_the_line(tmp_path):
    broken = tmp_path / "broken.py"
    broken.write_text("import threading\n\nraise ImportError('no such helper')\n")
    for command in (("explore", f"{broken}::test"), ("replay", "snarl-AAAA", f"{broken}::test")):
        proc = snarl(*command)
        assert proc.returncode == 2, proc.stderr
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
        assert f"raised ImportError: no such helper at {broken}:3" in lines[0], lines[0]
