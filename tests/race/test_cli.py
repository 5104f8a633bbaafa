"""``snarl race``: output and exit code pass through; 66 on a race; JSON; -m; suppressions."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

SRC = str(Path(__file__).resolve().parents[2] / "src")

RACY = """
import sys, threading
class Account:
    def __init__(self):
        self.balance = 0
acct = Account()
def deposit():
    acct.balance += 1
ts = [threading.Thread(target=deposit, name=f"teller-{i}") for i in range(2)]
for t in ts: t.start()
for t in ts: t.join()
print("balance", acct.balance)
sys.exit(int(sys.argv[1]) if len(sys.argv) > 1 else 0)
"""

SAFE = RACY.replace(
    "def deposit():\n    acct.balance += 1",
    "lock = threading.Lock()\ndef deposit():\n    with lock:\n        acct.balance += 1",
)


def snarl_race(tmp_path, *args, script=RACY, name="prog.py"):
    (tmp_path / name).write_text(textwrap.dedent(script))
    env = {**os.environ, "PYTHONPATH": SRC}
    return subprocess.run(
        [sys.executable, "-m", "snarl", "race", *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_race_found_exits_66_with_the_report_after_the_output(tmp_path):
    proc = snarl_race(tmp_path, "prog.py")
    assert proc.returncode == 66, proc.stderr
    assert proc.stdout == "balance 2\n"
    assert "WARNING: DATA RACE" in proc.stderr
    assert "Location: attribute balance of an Account" in proc.stderr
    assert "Write of acct.balance by thread" in proc.stderr
    assert 'by thread "teller-' in proc.stderr
    assert "prog.py:8  deposit\n" in proc.stderr
    assert "snarl race: 1 data race found;" in proc.stderr


def test_exit_code_passes_through_and_exitcode_option(tmp_path):
    assert snarl_race(tmp_path, "prog.py", "3", script=SAFE).returncode == 3
    assert snarl_race(tmp_path, "--exitcode", "0", "prog.py", "3").returncode == 3
    assert snarl_race(tmp_path, "--exitcode", "9", "prog.py").returncode == 9


def test_no_race_says_what_was_covered(tmp_path):
    proc = snarl_race(tmp_path, "prog.py", script=SAFE)
    assert proc.returncode == 0, proc.stderr
    assert "snarl race: 0 data races found;" in proc.stderr
    assert "instrumented: __main__ (prog.py)" in proc.stderr
    assert "not seen:" in proc.stderr


def test_json_and_module_and_imported_user_module(tmp_path):
    (tmp_path / "bank.py").write_text(textwrap.dedent(RACY.replace("sys.exit", "pass  #")))
    proc = snarl_race(tmp_path, "--json", "out.json", "-m", "runner",
                      script="import bank\n", name="runner.py")  # fmt: skip
    assert proc.returncode == 66, proc.stderr
    doc = json.loads((tmp_path / "out.json").read_text())
    assert doc["schema"] == 1
    assert doc["races"][0]["access"]["site"]["file"].endswith("bank.py")
    assert "bank" in doc["summary"]["instrumented"]


def test_suppressions_file(tmp_path):
    (tmp_path / "supp.txt").write_text("prog.py:deposit\n")
    proc = snarl_race(tmp_path, "--suppressions", "supp.txt", "prog.py")
    assert proc.returncode == 0, proc.stderr
    assert "(1 suppressed)" in proc.stderr


@pytest.mark.parametrize("args", [[], ["missing.py"]])
def test_usage_errors(tmp_path, args):
    proc = snarl_race(tmp_path, *args)
    assert proc.returncode == 2


def test_snarl_run_races(tmp_path):
    (tmp_path / "prog.py").write_text(textwrap.dedent(RACY))
    env = {**os.environ, "PYTHONPATH": SRC}
    proc = subprocess.run(
        [sys.executable, "-m", "snarl", "run", "--races", "prog.py", "5"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 66, proc.stderr
    assert proc.stdout == "balance 2\n"
    assert "WARNING: DATA RACE" in proc.stderr


def test_uncaught_exception_is_pythons_report_and_exit_1(tmp_path):
    proc = snarl_race(tmp_path, "prog.py", script="def f():\n    raise ValueError('boom')\nf()\n")
    assert proc.returncode == 1
    assert "ValueError: boom" in proc.stderr
    assert 'File "' in proc.stderr and "prog.py" in proc.stderr and "snarl/race" not in proc.stderr
    assert "snarl race: 0 data races found" in proc.stderr


def test_include_instruments_a_package_outside_the_program_folder(tmp_path):
    lib = tmp_path / "lib" / "tally"
    lib.mkdir(parents=True)
    (lib / "__init__.py").write_text(
        "class Tally:\n    def __init__(self):\n        self.n = 0\n"
        "    def bump(self):\n        self.n += 1\n"
    )
    app = tmp_path / "app"
    app.mkdir()
    script = (
        "import threading\nfrom tally import Tally\nt = Tally()\n"
        "ts = [threading.Thread(target=t.bump) for _ in range(2)]\n"
        "for x in ts: x.start()\nfor x in ts: x.join()\n"
    )
    env_path = str(tmp_path / "lib")

    def run(*args):
        (app / "main.py").write_text(script)
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([SRC, env_path])}
        return subprocess.run(
            [sys.executable, "-m", "snarl", "race", *args, "main.py"],
            cwd=app, env=env, capture_output=True, text=True, timeout=60,
        )  # fmt: skip

    without = run()
    assert without.returncode == 0, without.stderr
    assert "instrumented: __main__ (main.py)" in without.stderr
    included = run("--include", "tally")
    assert included.returncode == 66, included.stderr
    assert "attribute n of a Tally" in included.stderr
    assert "tally" in included.stderr.split("instrumented:")[1]
