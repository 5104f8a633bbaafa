"""``snarl run`` passes everything through as python does: the program's options, ``-m`` of a
local package, an absolute ``__file__``, a traceback without snarl's frames, and python's one
line for a missing module."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from ..helpers import snarl_env

SHOW = textwrap.dedent(
    """
    import sys
    print("argv", sys.argv[1:])
    print("file", __file__)
    print("path0", sys.path[0])
    """
)

RAISES = textwrap.dedent(
    """
    def inner():
        raise ValueError("from the program")

    inner()
    """
)


def run(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args],
        cwd=cwd,
        env=snarl_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_programs_options_are_the_programs(tmp_path):
    (tmp_path / "prog.py").write_text(SHOW, encoding="utf-8")
    proc = run(tmp_path, "-m", "snarl", "run", "--stuck", "5", "prog.py", "-v", "--help", "-m")
    assert proc.returncode == 0, proc.stderr
    assert "argv ['-v', '--help', '-m']" in proc.stdout.splitlines()


def test_a_modules_help_option_is_the_modules(tmp_path):
    proc = run(tmp_path, "-m", "snarl", "run", "-m", "json.tool", "--help")
    assert proc.returncode == 0, proc.stderr
    assert "json.tool" in proc.stdout and "snarl" not in proc.stdout


def test_m_finds_a_local_package_and_file_is_absolute_as_under_python(tmp_path):
    pkg = tmp_path / "localpkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("", encoding="utf-8")
    (pkg / "__main__.py").write_text(SHOW, encoding="utf-8")
    python = run(tmp_path, "-m", "localpkg", "-x")
    under = run(tmp_path, "-m", "snarl", "run", "-m", "localpkg", "-x")
    assert python.returncode == 0, python.stderr
    assert under.returncode == 0, under.stderr
    assert under.stdout == python.stdout


def test_a_scripts_file_is_absolute_as_under_python(tmp_path):
    (tmp_path / "prog.py").write_text(SHOW, encoding="utf-8")
    python = run(tmp_path, "prog.py", "a")
    under = run(tmp_path, "-m", "snarl", "run", "prog.py", "a")
    assert under.returncode == 0, under.stderr
    assert under.stdout == python.stdout
    assert f"file {tmp_path / 'prog.py'}" in under.stdout.splitlines()


def test_a_traceback_starts_at_the_programs_first_frame(tmp_path):
    (tmp_path / "prog.py").write_text(RAISES, encoding="utf-8")
    python = run(tmp_path, "prog.py")
    under = run(tmp_path, "-m", "snarl", "run", "prog.py")
    assert under.returncode == python.returncode == 1
    assert under.stderr == python.stderr
    assert "snarl" not in under.stderr and "runpy" not in under.stderr


def test_a_missing_module_is_one_line_with_exit_code_1(tmp_path):
    python = run(tmp_path, "-m", "no_such_module_here")
    under = run(tmp_path, "-m", "snarl", "run", "-m", "no_such_module_here")
    assert python.returncode == under.returncode == 1
    assert "Traceback" not in under.stderr
    assert under.stderr == "snarl run: error: No module named no_such_module_here\n"
    assert python.stderr.endswith(": No module named no_such_module_here\n")


def test_an_import_error_inside_the_module_is_still_a_traceback(tmp_path):
    (tmp_path / "breaks.py").write_text("import no_such_dependency\n", encoding="utf-8")
    under = run(tmp_path, "-m", "snarl", "run", "-m", "breaks")
    assert under.returncode == 1
    assert under.stderr.startswith("Traceback (most recent call last):\n")
    assert "ModuleNotFoundError: No module named 'no_such_dependency'" in under.stderr
