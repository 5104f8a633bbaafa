"""Start-up never fails the program: what snarl cannot set up is one line, and it runs without.

Also the all-or-nothing ``snarl.install(agent=True)``, a report callback raising SystemExit,
and ``SNARL_SEED`` that is not a number.
"""

from __future__ import annotations

import os
import signal
import textwrap
import threading
import time

import pytest

import snarl
from snarl.hangs import installed_signal_dump, uninstall_signal_dump

from ..hangs.procs import finish, snarl_run, spawn

PROGRAM = "import sys\nprint('program ran', flush=True)\nsys.exit(7)\n"


def _script(tmp_path):
    script = tmp_path / "prog.py"
    script.write_text(PROGRAM, encoding="utf-8")
    return script


def _one_line(err, needle):
    lines = [line for line in err.splitlines() if needle in line]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


def test_an_agent_that_cannot_start_is_one_line_and_the_program_runs(tmp_path):
    code = textwrap.dedent(
        """
        import sys
        import snarl.cli, snarl.remote

        def refuse():
            raise RuntimeError("the directory /tmp/snarl-0 is not safe: owned by uid 1234")

        snarl.remote.start_agent = refuse
        sys.exit(snarl.cli.main(["run", sys.argv[1]]))
        """
    )
    code_, out, err = finish(spawn("-c", code, _script(tmp_path)))
    assert (code_, out) == (7, "program ran\n"), err
    line = _one_line(err, "agent")
    assert line == (
        "snarl run: no agent for `snarl dump PID`: the directory /tmp/snarl-0 is not safe:"
        " owned by uid 1234; the program runs without it"
    )


def test_a_report_path_that_is_a_symlink_is_not_followed(tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n", encoding="utf-8")
    link = tmp_path / "report.txt"
    link.symlink_to(victim)
    code, out, err = finish(snarl_run("--report", link, _script(tmp_path)))
    assert (code, out) == (7, "program ran\n"), err
    line = _one_line(err, "--report")
    assert "symbolic link" in line and line.endswith("reports go to standard error")
    assert victim.read_text(encoding="utf-8") == "precious\n"


def test_a_timeline_path_that_is_a_symlink_is_found_at_start_and_not_followed(tmp_path):
    victim = tmp_path / "victim.json"
    victim.write_text("precious\n", encoding="utf-8")
    link = tmp_path / "t.json"
    link.symlink_to(victim)
    code, out, err = finish(snarl_run("--timeline", link, _script(tmp_path)))
    assert (code, out) == (7, "program ran\n"), err
    line = _one_line(err, "timeline")
    assert line.startswith("snarl run: no timeline: cannot write ") and "symbolic link" in line
    assert victim.read_text(encoding="utf-8") == "precious\n"
    assert link.is_symlink()


def test_an_unwritable_timeline_is_found_at_start_and_the_exit_code_is_the_programs(tmp_path):
    proc = snarl_run("--timeline", tmp_path / "no" / "dir" / "t.html", _script(tmp_path))
    code, out, err = finish(proc)
    assert (code, out) == (7, "program ran\n"), err
    line = _one_line(err, "timeline")
    assert line.startswith("snarl run: no timeline: cannot write ")
    assert line.endswith("the program runs without it")


def test_install_with_an_agent_that_fails_leaves_nothing_installed(monkeypatch):
    import snarl.remote
    from snarl.sync.patch import installed

    def refuse():
        raise RuntimeError("no agent here")

    monkeypatch.setattr(snarl.remote, "start_agent", refuse)
    before = signal.getsignal(signal.SIGUSR1)
    try:
        with pytest.raises(RuntimeError, match="no agent here"):
            snarl.install(signal=signal.SIGUSR1, agent=True)
        assert not installed()
        assert installed_signal_dump() is None
        assert signal.getsignal(signal.SIGUSR1) == before
    finally:
        uninstall_signal_dump()
        snarl.uninstall()


def test_a_report_callback_raising_systemexit_does_not_end_the_watchdog(capfd):
    held = threading.Lock()
    held.acquire()
    raised = threading.Event()

    def callback(report):
        raised.set()
        raise SystemExit(3)

    waiter = threading.Thread(target=held.acquire, daemon=True, name="waiter")
    waiter.start()
    wd = snarl.watch(0.02, 0.1, report=callback)
    try:
        assert raised.wait(30)
        seen = wd.checks
        deadline = time.monotonic() + 30
        while wd.checks < seen + 5 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert wd.running and wd.checks >= seen + 5
    finally:
        wd.stop()
        held.release()
        waiter.join(10)
    assert "the report callback raised SystemExit: 3" in capfd.readouterr().err


def test_snarl_seed_that_is_not_a_number_names_the_variable(monkeypatch):
    monkeypatch.setenv("SNARL_SEED", "abc")

    @snarl.interleavings(schedules=1)
    def test():
        pass

    with pytest.raises(ValueError) as info:
        test()
    assert str(info.value) == "snarl: SNARL_SEED must be an integer, not 'abc'"
    assert os.environ["SNARL_SEED"] == "abc"
