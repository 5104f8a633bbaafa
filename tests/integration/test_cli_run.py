"""``snarl run``: a program run with tracking installed before its first line."""

from __future__ import annotations

import textwrap

import pytest

from ..helpers import run_python

PROGRAM = textwrap.dedent(
    """
    import sys
    import threading

    import snarl

    lock = threading.Lock()  # made by the program's first lines: tracked under snarl run
    print("args", sys.argv[1:])
    print("type", type(lock).__module__)
    lock.acquire()
    snap = snarl.snapshot()
    [me] = [t for t in snap.threads if t.current]
    print("held", [(h.object.name, h.basis) for h in me.held])
    sys.exit(int(sys.argv[1]))
    """
)


def test_run_installs_before_the_first_line_and_passes_exit_code_and_args(tmp_path):
    script = tmp_path / "prog.py"
    script.write_text(PROGRAM, encoding="utf-8")
    proc = run_python("-m", "snarl", "run", str(script), "7", "--flag")
    assert proc.returncode == 7, proc.stderr
    lines = proc.stdout.splitlines()
    assert "args ['7', '--flag']" in lines
    assert "type snarl.sync.lock" in lines
    assert "held [('lock', 'tracked')]" in lines


def test_run_module_and_lockorder(tmp_path):
    (tmp_path / "progmod.py").write_text(PROGRAM, encoding="utf-8")
    proc = run_python(
        "-c",
        "import sys, snarl.cli; sys.path.insert(0, sys.argv[1]);"
        " sys.exit(snarl.cli.main(['run', '--lockorder', '-m', 'progmod', '0']))",
        str(tmp_path),
    )
    assert proc.returncode == 0, proc.stderr
    assert "type snarl.sync.lock" in proc.stdout.splitlines()


def test_run_errors_are_one_line(tmp_path):
    missing = run_python("-m", "snarl", "run", str(tmp_path / "nope.py"))
    assert missing.returncode == 2
    assert missing.stderr.strip() == (
        f"snarl run: error: no such script: {tmp_path / 'nope.py'} (see 'snarl run --help')"
    )
    nothing = run_python("-m", "snarl", "run")
    assert nothing.returncode == 2
    assert len(nothing.stderr.splitlines()) == 1 and "Traceback" not in nothing.stderr


INTERVAL_PROGRAM = textwrap.dedent(
    """
    import sys

    import snarl

    print("interval", snarl.getcheckinterval(), "switch", sys.getswitchinterval())
    raise SystemExit(int(sys.argv[1]))
    """
)


def test_run_with_check_and_switch_interval(tmp_path):
    script = tmp_path / "interval.py"
    script.write_text(INTERVAL_PROGRAM, encoding="utf-8")
    proc = run_python("-m", "snarl", "run", "--check-interval", "25", str(script), "3")
    assert proc.returncode == 3, proc.stderr
    assert proc.stdout.split()[:2] == ["interval", "25"]
    proc = run_python(
        "-m", "snarl", "run", "--check-interval", "25", "--switch-interval", "0.002",
        str(script), "0",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["interval", "25", "switch", "0.002"]


def test_run_program_exception_passes_through_under_the_check_interval(tmp_path):
    script = tmp_path / "boom.py"
    script.write_text("raise KeyError('boom')\n", encoding="utf-8")
    proc = run_python("-m", "snarl", "run", "--check-interval", "10", str(script))
    assert proc.returncode == 1
    assert "KeyError: 'boom'" in proc.stderr and "Traceback" in proc.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--check-interval", "-5"], "must be >= 0"),
        (["--check-interval", "ten"], "not an integer"),
        (["--switch-interval", "0"], "must be strictly positive"),
        (["--switch-interval", "x"], "not a number"),
        (["--check-interval"], "not an integer"),  # the script is taken as its value
        (["--no-such-option"], "unrecognized arguments"),
    ],
)
def test_run_interval_usage_errors_are_one_line(tmp_path, args, message):
    script = tmp_path / "ok.py"
    script.write_text("pass\n", encoding="utf-8")
    proc = run_python("-m", "snarl", "run", *args, str(script))
    assert proc.returncode == 2
    assert len(proc.stderr.splitlines()) == 1 and message in proc.stderr, proc.stderr


def test_demo_checkinterval_prints_each_settings_order():
    proc = run_python("-m", "snarl", "demo", "checkinterval")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    for setting in ("interval     10, 1000 extra:", "interval 100000, 1000 extra:"):
        assert setting in out
    [sequential] = [line for line in out.splitlines() if "interval 100000, 1000 extra:" in line]
    names = sequential.split(":", 1)[1].split("(")[0].split()
    assert names == ["T0"] * 5 + ["T1"] * 5 + ["T2"] * 5
    assert "Print variant" in out and "hands it to a waiting thread" in out
