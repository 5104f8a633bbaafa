"""Each error's remedy fits the case: no `sudo` for root, no gdb for ``--method py-spy``, a
longer ``--timeout`` (not the GIL) when gdb had no time to attach; and py-spy is found in
snarl's own environment, not only on ``PATH``."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from snarl.remote import main_dump, pyspy, target

PAUSE = "import sys; sys.stdout.write('ready\\n'); sys.stdout.flush(); sys.stdin.read()"


def dump(pid: int, **options) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main_dump(str(pid), stdout=out, stderr=err, **options)
    lines = err.getvalue().splitlines()
    assert len(lines) == 1 and lines[0].startswith("snarl dump: error: "), err.getvalue()
    return code, lines[0]


@pytest.fixture
def child():
    proc = subprocess.Popen(
        [sys.executable, "-c", PAUSE], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None and proc.stdout.readline() == "ready\n"
    yield proc
    proc.stdin.close()  # type: ignore[union-attr]
    proc.wait(10)


def test_root_refused_is_not_told_to_use_sudo(child, monkeypatch):
    def refused(path, *args, **kwargs):
        raise PermissionError(13, "Permission denied", path)

    monkeypatch.setattr(target.os, "readlink", refused)
    monkeypatch.setattr(target.os, "geteuid", lambda: 0)
    code, line = dump(child.pid)
    assert code == 6
    assert "sudo" not in line
    assert "root" in line and "SYS_PTRACE" in line


def test_method_py_spy_without_py_spy_says_how_to_install_py_spy_only(child, monkeypatch):
    monkeypatch.setattr(pyspy, "find_pyspy", lambda: None)
    code, line = dump(child.pid, method="py-spy")
    assert code == 9
    assert "pip install py-spy" in line
    assert "gdb" not in line and "agent" not in line


def test_py_spy_is_found_beside_snarls_interpreter(tmp_path, monkeypatch):
    bin_dir = tmp_path / "venv" / "bin"
    bin_dir.mkdir(parents=True)
    spy = bin_dir / "py-spy"
    spy.write_text("#!/bin/sh\nexit 0\n")
    spy.chmod(0o755)
    monkeypatch.setenv("PATH", os.defpath)
    monkeypatch.setattr(pyspy.sys, "executable", str(bin_dir / "python"))
    assert pyspy.find_pyspy() == str(spy)


def test_a_too_short_timeout_for_gdb_is_not_blamed_on_the_gil(child, tmp_path, monkeypatch):
    # A gdb that takes longer to attach than the timeout allows (a real one takes about half
    # a second): the remedy is a longer --timeout, not the GIL.
    slow = tmp_path / "gdb"
    slow.write_text("#!/bin/sh\nexec sleep 30\n")
    slow.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.defpath}")
    monkeypatch.setattr(target.os, "geteuid", lambda: 0)  # (no ptrace check stands in the way)
    code, line = dump(child.pid, method="gdb", timeout=0.5)
    if "gdb" in line and "Unavailable" in line:
        pytest.skip(line)
    assert code == 8, line
    assert "GIL" not in line
    assert "--timeout" in line
    assert Path(slow).exists()
