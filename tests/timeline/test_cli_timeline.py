"""The ``--timeline`` options of ``snarl run``, ``explore``, ``replay`` and ``demo``."""

from __future__ import annotations

import json

from tests.helpers import EXAMPLES, REPO, run_python

BUGS = REPO / "tests" / "exploration" / "programs" / "bugs.py"


def _events(path):
    data = json.loads(path.read_text())
    return data["traceEvents"] if isinstance(data, dict) else data


def test_run_writes_a_trace_even_when_the_watchdog_aborts(tmp_path):
    out = tmp_path / "run.json"
    proc = run_python(
        "-m", "snarl", "run", "--timeline", str(out), "--stuck", "1", "--period", "0.2",
        "--abort-on-deadlock", str(EXAMPLES / "hung_service.py"),
    )  # fmt: skip
    assert proc.returncode == 70, proc.stderr
    assert f"timeline written to {out}" in proc.stderr
    events = _events(out)
    names = {
        e["args"]["name"] for e in events if e.get("ph") == "M" and "name" in e.get("args", {})
    }
    assert {"transfer", "audit"} <= names
    assert any(e.get("ph") == "X" for e in events)


def test_explore_and_replay_write_the_failing_schedule(tmp_path):
    page = tmp_path / "abba.html"
    found = run_python("-m", "snarl", "explore", f"{BUGS}::abba", "--json", "--timeline", str(page))
    assert found.returncode == 1 and page.is_file()
    html = page.read_text()
    assert "<script" in html and "T1 one" in html and "T2 two" in html  # the lanes' data
    for fetch in ('src="http', "src='http", 'href="http', "url(http", "@import"):
        assert fetch not in html  # self-contained: nothing loaded from elsewhere
    token = json.loads(found.stdout)["replay"]
    again = tmp_path / "again.html"
    proc = run_python("-m", "snarl", "replay", token, f"{BUGS}::abba", "--timeline", str(again))
    assert proc.returncode == 1 and again.is_file()
    clean = run_python(
        "-m", "snarl", "explore", f"{BUGS}::ordered", "--schedules", "5",
        "--timeline", str(tmp_path / "none.html"),
    )  # fmt: skip
    assert clean.returncode == 0 and "no timeline written" in clean.stderr
    assert not (tmp_path / "none.html").exists()


def test_timeline_usage_errors(tmp_path):
    for args in (
        ["run", "--timeline", str(tmp_path / "x.txt"), str(EXAMPLES / "seed_queue.py")],
        [
            "run",
            "--no-track",
            "--timeline",
            str(tmp_path / "x.json"),
            str(EXAMPLES / "seed_queue.py"),
        ],
        ["demo", "abba", "--timeline", str(tmp_path / "x.html")],
    ):
        proc = run_python("-m", "snarl", *args)
        assert proc.returncode == 2, (args, proc.stderr)
        assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr
