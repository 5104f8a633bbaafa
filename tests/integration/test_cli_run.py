"""``snarl run``: a program run with tracking installed before its first line."""

from __future__ import annotations

import textwrap

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
    assert missing.stderr.strip() == f"snarl run: error: no such script: {tmp_path / 'nope.py'}"
    nothing = run_python("-m", "snarl", "run")
    assert nothing.returncode == 2
    assert len(nothing.stderr.splitlines()) == 1 and "Traceback" not in nothing.stderr
