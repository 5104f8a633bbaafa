"""Each way ``snarl dump PID`` can fail: one line on stderr, a distinct exit code, a remedy."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from snarl.errors import SnarlError
from snarl.remote import errors, main_dump
from snarl.remote.target import _version_from_names, inspect_target

from ..helpers import run_python


def dump(pid: str, **options) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main_dump(pid, stdout=out, stderr=err, **options)
    return code, out.getvalue(), err.getvalue()


def one_error_line(err: str) -> str:
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    assert lines[0].startswith("snarl dump: error: ")
    return lines[0]


def test_exit_codes_are_distinct_and_every_error_has_a_remedy():
    classes = [
        errors.BadPid,
        errors.NoSuchProcess,
        errors.NotPython,
        errors.PermissionDenied,
        errors.UnsupportedVersion,
        errors.NoAnswer,
        errors.NoMethod,
    ]
    assert [c.exit_code for c in classes] == [2, 4, 5, 6, 7, 8, 9]
    for cls in classes:
        assert issubclass(cls, SnarlError) and cls.help and "\n" not in cls.help
    assert issubclass(errors.AgentError, SnarlError)


@pytest.mark.parametrize("text", ["abc", "0", "-5", "", "12x", "١٢"])
def test_a_bad_pid_is_a_usage_error(text):
    code, out, err = dump(text)
    assert code == 2 and out == ""
    assert one_error_line(err) == (
        f"snarl dump: error: not a process id: {text!r}. Give the process id as a positive"
        " integer, e.g. `snarl dump 4242`."
    )


def test_a_pid_that_just_exited():
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    code, out, err = dump(str(proc.pid))
    assert code == 4 and out == ""
    line = one_error_line(err)
    assert line.startswith(f"snarl dump: error: no process with id {proc.pid}")
    assert "`ps`" in line


def test_not_a_python_process(spawn):
    sleep = shutil.which("sleep")
    if sleep is None:
        pytest.skip("no sleep program")
    target = spawn(argv=[sleep, "30"], ready=None)
    code, out, err = dump(str(target.pid))
    assert code == 5 and out == ""
    line = one_error_line(err)
    assert line.startswith(f"snarl dump: error: process {target.pid} is not a Python process (")
    assert "sleep" in line


def _pyenv_python(minor: str) -> str | None:
    """An interpreter of the given ``X.Y`` from pyenv, if pyenv has one."""
    pyenv = shutil.which("pyenv")
    if pyenv is None:
        return None
    try:
        root = subprocess.run([pyenv, "root"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    for version in sorted((Path(root.stdout.strip()) / "versions").glob(f"{minor}.*")):
        candidate = version / "bin" / f"python{minor}"
        if candidate.is_file():
            return str(candidate)
    return None


@pytest.mark.parametrize("minor", ["2.7", "3.9"])
def test_an_unsupported_python_version(spawn, minor):
    python = _pyenv_python(minor)
    if python is None:
        pytest.skip(f"no Python {minor} from pyenv")
    code = "import sys, time; sys.stdout.write('ready\\n'); sys.stdout.flush(); time.sleep(30)"
    target = spawn(argv=[python, "-c", code])
    status, out, err = dump(str(target.pid))
    assert status == 7 and out == ""
    line = one_error_line(err)
    assert line.startswith(f"snarl dump: error: process {target.pid} runs Python {minor} (")
    assert "snarl dumps CPython 3.10 to 3.13" in line
    assert f"py-spy dump --pid {target.pid}" in line


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to become another user")
def test_another_users_process_is_permission_denied(spawn):
    target = spawn("plain.py")  # runs as root
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # become nobody and try to dump root's process
        try:
            os.close(read)
            os.setgid(65534)
            os.setuid(65534)
            code, _, err = dump(str(target.pid))
            os.write(write, f"{code}\n{err}".encode())
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as f:
        code, _, err = f.read().decode().partition("\n")
    os.waitpid(child, 0)
    assert code == "6"
    line = one_error_line(err)
    assert line == (
        f"snarl dump: error: process {target.pid} belongs to uid 0, and this is uid 65534."
        f" Run snarl as uid 0, or with sudo: `sudo snarl dump {target.pid}`."
    )


def test_agent_method_on_a_program_without_it_says_how_to_start_it(spawn):
    target = spawn("plain.py")
    code, out, err = dump(str(target.pid), method="agent")
    assert code == 9 and out == ""
    line = one_error_line(err)
    assert line == (
        f"snarl dump: error: process {target.pid} runs no snarl agent (no agent socket)."
        " Run the program under `snarl run`, or call snarl.install(agent=True) in it."
    )


def test_the_module_entry_point_exits_with_the_code_and_no_traceback():
    proc = run_python("-m", "snarl.remote", "nope")
    assert proc.returncode == 2 and proc.stdout == ""
    assert one_error_line(proc.stderr).startswith("snarl dump: error: not a process id: 'nope'")


def test_version_is_read_from_libpython_or_the_executable_name():
    maps = "7f00-7f01 r-xp 0 08:01 1 /usr/lib/x86_64-linux-gnu/libpython3.12.so.1.0\n"
    assert _version_from_names("/usr/bin/python3", maps) == ((3, 12), "")
    assert _version_from_names("/opt/py/bin/python3.13t", "") == ((3, 13), "t")
    assert _version_from_names("/usr/bin/python3.11", "") == ((3, 11), "")
    assert _version_from_names("/usr/bin/python3", "") == (None, "")
    assert _version_from_names("/usr/bin/python2.7", "") == ((2, 7), "")


def test_this_process_is_a_supported_target():
    target = inspect_target(os.getpid())
    assert target.version == sys.version_info[:2]
    assert target.uid == os.geteuid() and target.same_root
    assert target.exe == os.path.realpath(sys.executable)


def test_bad_options_are_usage_errors():
    code, _, err = dump(str(os.getpid()), method="telepathy")
    assert code == 2
    assert one_error_line(err) == (
        "snarl dump: error: unknown method 'telepathy'. Choose one of agent, gdb, py-spy."
    )
    code, _, err = dump(str(os.getpid()), timeout=0)
    assert code == 2
    assert one_error_line(err) == (
        "snarl dump: error: the timeout must be positive, not 0. Give it in seconds."
    )
