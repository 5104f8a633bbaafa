"""``snarl explore`` and ``snarl replay`` from the command line, and ``snarl run
--deterministic``: exit codes, JSON, one-line errors, the same result with --jobs, Ctrl-C,
what a test file may import and name."""

from __future__ import annotations

import json
import os
import re
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from snarl import cli
from tests.helpers import EXAMPLES, REPO, run_python, snarl_env

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


@pytest.fixture
def in_process(monkeypatch):
    """For ``cli.main`` run in this process: ``sys.path`` restored after it, and what loading
    a target set up (snarl's control of what the file made) undone."""
    monkeypatch.setattr(sys, "path", list(sys.path))
    yield
    from snarl.exploration import target

    loaded = target.LOADED
    if loaded is not None:
        loaded.close()


FIRST_CALL_FAILS = """
import threading

CALLS = [0]


def test_first_call_fails():
    CALLS[0] += 1
    t = threading.Thread(target=lambda: None)
    t.start()
    t.join()
    assert CALLS[0] > 1, "fails on its first call only"


def test_first_call_differs():  # three threads the first time, then one: the schedule no
    CALLS[0] += 1               # longer fits when it is replayed
    n = 3 if CALLS[0] == 1 else 1
    lock = threading.Lock()
    box = []

    def work():
        with lock:
            box.append(1)

    threads = [threading.Thread(target=work) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(box) != 3, "three threads ran"
"""


@pytest.mark.parametrize(
    ("test", "why"),
    [
        ("test_first_call_fails", "did not fail when replayed: this time the outcome was a pass"),
        ("test_first_call_differs", "did not fit the test when replayed: replay diverged at step"),
    ],
)
def test_a_test_that_is_not_deterministic_is_a_one_line_error_with_exit_code_2(
    tmp_path, capsys, in_process, test, why
):
    path = tmp_path / "test_flaky.py"
    path.write_text(FIRST_CALL_FAILS)
    assert cli.main(["explore", f"{path}::{test}", "--schedules", "5"]) == 2
    out, err = capsys.readouterr()
    [line] = err.strip().splitlines()
    assert line.startswith("snarl explore: error: the test is not deterministic: "), line
    assert why in line and out == ""


def test_explore_help_lists_every_exit_code(capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(["explore", "--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    for code, meaning in cli.EXIT_CODES["explore"]:
        first_words = " ".join(meaning.split()[:3])
        assert re.search(rf"^  {code} +{re.escape(first_words)}", out, re.M), (code, out)
    assert "--shrink-time SECONDS" in out and "CLASS::METHOD" in out
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    epilog = capsys.readouterr().out.split("\nexit codes", 1)[1]
    rows = dict(re.findall(r"^  (\w+) +(.*(?:\n {5,}.*)*)", epilog, re.M))  # command: codes
    assert rows.keys() == {"every", *cli.EXIT_CODES}, epilog
    assert rows["every"] == "0 success, 2 usage error"
    for command, codes in cli.EXIT_CODES.items():
        listed = " ".join(rows[command].split())
        for code, meaning in codes:
            if code != "0" and meaning != "usage error":  # those two: in "every"
                assert re.search(rf"(^|; ){code} ", listed), (command, code, listed)


def test_the_readme_table_lists_every_exit_code():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    table = readme.split("### Exit codes", 1)[1].split("\n\n", 2)[1]
    rows = [[cell.strip() for cell in line.strip("|").split("|")] for line in table.splitlines()]
    for command, codes in cli.EXIT_CODES.items():
        for code, _ in codes:
            code = "any" if code == "N" else code
            assert any(
                (code in re.split(r"[\N{EN DASH}, ]+", row[0]) or _in_range(code, row[0]))
                and (f"`{command}`" in row[1] or row[1] == "every command")
                for row in rows[2:]
            ), (command, code)


def _in_range(code: str, cell: str) -> bool:
    low, _, high = cell.partition("\N{EN DASH}")
    return bool(high) and code.isdigit() and int(low) <= int(code) <= int(high)


def test_a_test_file_imports_packages_from_the_current_directory_as_under_pytest(
    tmp_path, monkeypatch, in_process
):
    (tmp_path / "snarl_cwd_project").mkdir()
    (tmp_path / "snarl_cwd_project" / "__init__.py").write_text("ANSWER = 42\n")
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_x.py").write_text(
        "import snarl_cwd_project\n\n\ndef test_answer():\n"
        "    assert snarl_cwd_project.ANSWER == 42\n"
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p not in ("", os.curdir)])
    try:
        fn, _ = cli.load_target("tests/test_x.py::test_answer")
        fn()
    finally:
        sys.modules.pop("snarl_cwd_project", None)
    assert Path(sys.path[0]).resolve() == tmp_path.resolve()  # first, as python -m puts it
    assert Path(sys.path[1]).resolve() == (tmp_path / "tests").resolve()


A_TEST_CLASS = """
import threading


class TestThing:
    def setup_method(self, method):
        self.lock_a = threading.Lock()
        self.lock_b = threading.Lock()

    def test_race(self):
        def one():
            with self.lock_a, self.lock_b:
                pass

        def two():
            with self.lock_b, self.lock_a:
                pass

        threads = [threading.Thread(target=f, name=f.__name__) for f in (one, two)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()


class NeedsArguments:
    def __init__(self, size):
        self.size = size

    def test_it(self):
        pass
"""


def test_a_method_of_a_test_class_is_explored_and_replayed(tmp_path, capsys, in_process):
    path = tmp_path / "test_thing.py"
    path.write_text(A_TEST_CLASS)
    spec = f"{path}::TestThing::test_race"
    assert cli.main(["explore", spec, "--json", "--seed", "1"]) == 1
    found = json.loads(capsys.readouterr().out)
    assert found["kind"] == "deadlock"  # the locks setup_method made, taken in both orders
    assert cli.main(["replay", found["replay"], spec]) == 1
    out = capsys.readouterr().out
    assert "Found 1 deadlock:" in out and f"snarl replay {found['replay']} {spec}" in out


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("NeedsArguments::test_it", "cannot instantiate NeedsArguments: TypeError: "),
        ("TestThing::test_nothing", "no method 'test_nothing' in class TestThing of "),
        ("NoSuchClass::test_it", "no class 'NoSuchClass' in "),
        ("TestThing::Inner::test_race", "a test in a nested class is not supported"),
        ("a::b::c::d", "a test in a nested class is not supported"),
    ],
)
def test_classes_it_cannot_run_are_refused_in_one_line(tmp_path, capsys, in_process, name, message):
    path = tmp_path / "test_thing.py"
    path.write_text(A_TEST_CLASS)
    assert cli.main(["explore", f"{path}::{name}"]) == 2
    [line] = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("snarl explore: error: ") and message in line, line


def _read_terminal(fd: int, until: bytes | None, timeout: float = 60.0) -> bytes:
    """What the program wrote to the terminal: until ``until`` shows (bounded), or all."""
    seen = b""
    deadline = time.monotonic() + timeout
    while until is None or until not in seen:
        left = deadline - time.monotonic()
        assert left > 0, f"not shown on the terminal in {timeout} s: {until!r} (shown: {seen!r})"
        if not select.select([fd], [], [], left)[0]:
            continue
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # the terminal's other end is closed: all read
            break
        if not chunk:
            break
        seen += chunk
    return seen


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_ctrl_c_stops_with_a_partial_summary_and_exit_code_130(jobs):
    # A user's terminal: stderr is a pty (so the progress line is drawn), and SIGINT comes once
    # the line shows a rate.  Ten million schedules would take an hour.
    import pty

    command = ["explore", f"{BUGS}::ordered", "--schedules", "10000000", "--jobs", jobs]
    terminal, child = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "snarl", *command],
        cwd=REPO,
        env=snarl_env(),
        stdout=subprocess.PIPE,
        stderr=child,
        text=True,
    )
    os.close(child)
    try:
        shown = _read_terminal(terminal, b"schedules/s, ETA ")
        assert b"/10000000 schedules, 0 failing" in shown
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=60)
        shown += _read_terminal(terminal, None)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(terminal)
    assert proc.returncode == 130, (out, shown)
    assert out.startswith("Interrupted: no failing schedule found in the schedules run.")
    stats = out.strip().splitlines()[-1]
    pattern = r"\d+ schedules \(random, seed 0, granularity auto: [^)]*\), \d+ distinct"
    assert re.match(pattern, stats)
    assert "0 failing" in stats and "schedules/s" in stats and stats.endswith("; interrupted")
    assert shown.endswith(b"\r\x1b[K")  # the progress line was cleared
