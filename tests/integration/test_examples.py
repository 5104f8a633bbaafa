"""The bundled examples, run as programs (directly and through ``python -m snarl demo``).

Assertions are on the facts each dump states (who waits for what, at which line), not on its
exact bytes.  Line numbers are read from the example files, never hard-coded.
"""

from __future__ import annotations

import functools
import json
import re
import subprocess

import pytest

from ..helpers import EXAMPLES, REPO, line_in, run_python
from ..schema import SchemaError, validate

SCRIPTS = {
    "seed": "seed_blocked.py",
    "abba": "abba_deadlock.py",
    "condition": "condition_no_notify.py",
    "pool": "idle_pool.py",
}
RUNNERS = ("script", "cli")


@functools.cache
def run_example(name: str, runner: str, *flags: str) -> subprocess.CompletedProcess[str]:
    if runner == "script":
        args = (str(EXAMPLES / SCRIPTS[name]), *flags)
    else:
        args = ("-m", "snarl", "demo", name, *flags)
    proc = run_python(*args)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


def example_line(name: str, function: str, code: str) -> int:
    """The line of ``function`` in the example that starts with ``code``."""
    return line_in(EXAMPLES / SCRIPTS[name], function, code)


def sections(out: str) -> dict[str, str]:
    """The text dump's sections keyed by their first line (the thread or group header)."""
    dump = out[out.index("snarl dump of pid") :]
    return {block.splitlines()[0]: block for block in dump.split("\n\n")[1:]}


def section_of(out: str, thread: str) -> tuple[str, str]:
    """(header, whole section) of the one section whose header starts with ``"thread``."""
    found = [(h, s) for h, s in sections(out).items() if h.startswith(f'"{thread}')]
    assert len(found) == 1, f"{len(found)} sections for {thread}:\n{out}"
    return found[0]


def json_dump(out: str) -> dict:
    """The JSON document an example prints after any lines of its own."""
    start = re.search(r'^\{"schema"', out, re.MULTILINE)
    assert start is not None, out
    data = json.loads(out[start.start() :])
    assert data["schema"] == 1
    return data


def json_thread(data: dict, prefix: str) -> dict:
    found = [t for t in data["threads"] if (t["name"] or "").startswith(prefix)]
    assert len(found) == 1, [t["name"] for t in data["threads"]]
    return found[0]


def where(name: str, lineno: int) -> str:
    return f"{SCRIPTS[name]}:{lineno}"


# ---- seed ----------------------------------------------------------------------------------


@pytest.mark.parametrize("runner", RUNNERS)
def test_seed_text(runner):
    out = run_example("seed", runner).stdout
    acquire = example_line("seed", "block", "blocker.acquire()")
    sleep = example_line("seed", "block", "time.sleep(")

    header, section = section_of(out, "Thread-3")
    assert header.endswith("WAITING")
    assert "Lock `blocker`" in section
    assert where("seed", acquire) in section
    assert "locked" in section

    header, section = section_of(out, "Thread-2")
    assert header.endswith("SLEEPING")
    assert "time.sleep" in section
    assert where("seed", sleep) in section

    assert not [h for h in sections(out) if h.startswith('"Thread-1')]  # finished before
    header, section = section_of(out, "MainThread")
    assert "main" in header.split() and "RUNNING" in header
    assert "Lock `io_lock`" in section  # held: the dump runs inside `with io_lock:`
    assert "· 3 threads ·" in out


@pytest.mark.parametrize("runner", RUNNERS)
def test_seed_json(runner):
    data = json_dump(run_example("seed", runner, "--json").stdout)
    waiter = json_thread(data, "Thread-3")
    assert waiter["state"] == "waiting"
    wait = waiter["wait"]
    assert (wait["kind"], wait["call"], wait["holders"]) == ("lock", "blocker.acquire", [])
    assert (wait["object"]["type"], wait["object"]["name"], wait["object"]["locked"]) == (
        "_thread.lock",
        "blocker",
        True,
    )
    assert wait["filename"].endswith(SCRIPTS["seed"])
    assert wait["lineno"] == example_line("seed", "block", "blocker.acquire()")
    assert wait["function"] == "block"

    sleeper = json_thread(data, "Thread-2")
    assert (sleeper["state"], sleeper["wait"]["kind"], sleeper["wait"]["call"]) == (
        "sleeping",
        "sleep",
        "time.sleep",
    )
    assert sleeper["wait"]["lineno"] == example_line("seed", "block", "time.sleep(")
    assert not [t for t in data["threads"] if (t["name"] or "").startswith("Thread-1")]
    main = json_thread(data, "MainThread")
    assert (main["main"], main["current"], main["state"]) == (True, True, "running")
    assert [h["object"]["name"] for h in main["held"]] == ["io_lock"]
    assert data["deadlocks"] == []


# ---- abba ----------------------------------------------------------------------------------


@pytest.mark.parametrize("runner", RUNNERS)
def test_abba_text(runner):
    out = run_example("abba", runner).stdout
    assert "Found 1 deadlock" in out
    report = out[out.index("Found 1 deadlock") :].split("\n\n")[0]
    ab_wants = where("abba", example_line("abba", "worker_ab", "with lock_b:"))
    ba_wants = where("abba", example_line("abba", "worker_ba", "with lock_a:"))
    [ab_line] = [row for row in report.splitlines() if row.strip().startswith('"worker-AB"')]
    [ba_line] = [row for row in report.splitlines() if row.strip().startswith('"worker-BA"')]
    assert "Lock `lock_b`" in ab_line and ab_wants in ab_line and '"worker-BA"' in ab_line
    assert "Lock `lock_a`" in ba_line and ba_wants in ba_line and '"worker-AB"' in ba_line
    for worker, holds in (("worker-AB", "lock_a"), ("worker-BA", "lock_b")):
        header, section = section_of(out, worker)
        assert header.endswith("WAITING")
        assert f"Lock `{holds}`" in section


@pytest.mark.parametrize("runner", RUNNERS)
def test_abba_json(runner):
    data = json_dump(run_example("abba", runner, "--json").stdout)
    [deadlock] = data["deadlocks"]
    assert deadlock["certain"] is False
    steps = {s["thread_name"]: s for s in deadlock["steps"]}
    assert set(steps) == {"worker-AB", "worker-BA"}
    assert steps["worker-AB"]["wait"]["object"]["name"] == "lock_b"
    assert steps["worker-AB"]["holder"]["name"] == "worker-BA"
    assert steps["worker-BA"]["wait"]["object"]["name"] == "lock_a"
    assert steps["worker-BA"]["holder"]["name"] == "worker-AB"
    assert {s["holder"]["basis"] for s in deadlock["steps"]} == {"with-block"}
    ab, ba = steps["worker-AB"], steps["worker-BA"]
    assert ab["wait"]["lineno"] == example_line("abba", "worker_ab", "with lock_b:")
    assert ab["holder"]["lineno"] == example_line("abba", "worker_ba", "with lock_b:")
    assert ba["wait"]["lineno"] == example_line("abba", "worker_ba", "with lock_a:")
    assert ba["holder"]["lineno"] == example_line("abba", "worker_ab", "with lock_a:")
    idents = {t["name"]: t["ident"] for t in data["threads"]}
    for step in deadlock["steps"]:
        assert step["thread"] == idents[step["thread_name"]]
        assert step["holder"]["ident"] == idents[step["holder"]["name"]]
    assert [h["object"]["name"] for h in json_thread(data, "worker-AB")["held"]] == ["lock_a"]
    assert [h["object"]["name"] for h in json_thread(data, "worker-BA")["held"]] == ["lock_b"]


# ---- condition -----------------------------------------------------------------------------


@pytest.mark.parametrize("runner", RUNNERS)
def test_condition_text(runner):
    out = run_example("condition", runner).stdout
    header, section = section_of(out, "consumer")
    assert header.endswith("WAITING")
    assert "Condition `ready`" in section
    assert where("condition", example_line("condition", "consumer", "ready.wait()")) in section
    assert not [h for h in sections(out) if h.startswith('"producer')]


@pytest.mark.parametrize("runner", RUNNERS)
def test_condition_json(runner):
    data = json_dump(run_example("condition", runner, "--json").stdout)
    consumer = json_thread(data, "consumer")
    wait = consumer["wait"]
    assert (consumer["state"], wait["kind"], wait["call"]) == ("waiting", "condition", "ready.wait")
    assert (wait["object"]["type"], wait["object"]["name"]) == ("threading.Condition", "ready")
    assert wait["lineno"] == example_line("condition", "consumer", "ready.wait()")
    assert consumer["held"] == []  # ready.wait() let go of the lock its with-block took


# ---- pool ----------------------------------------------------------------------------------


@pytest.mark.parametrize("runner", RUNNERS)
def test_pool_text_is_one_group(runner):
    out = run_example("pool", runner).stdout
    groups = [h for h in sections(out) if re.match(r"\d+ threads ", h)]
    assert len(groups) == 1, groups
    [group] = groups
    assert group.startswith("200 threads IDLE")
    assert "jobs.get" in group
    assert where("pool", example_line("pool", "work", "item = jobs.get()")) in group
    assert "Queue `jobs`" in sections(out)[group]
    assert not [h for h in sections(out) if h.startswith('"pool-')]


@pytest.mark.parametrize("runner", RUNNERS)
def test_pool_text_all_shows_every_thread(runner):
    out = run_example("pool", runner, "--all").stdout
    pool = [h for h in sections(out) if h.startswith('"pool-')]
    assert len(pool) == 200
    assert {h.split('"')[1] for h in pool} == {f"pool-{i}" for i in range(1, 201)}
    assert all(h.endswith("IDLE") for h in pool)
    assert not [h for h in sections(out) if re.match(r"\d+ threads ", h)]


def test_pool_json():
    data = json_dump(run_example("pool", "script", "--json").stdout)
    pool = [t for t in data["threads"] if (t["name"] or "").startswith("pool-")]
    assert len(pool) == 200
    facts = {
        (t["state"], t["wait"]["kind"], t["wait"]["object"]["name"], t["wait"]["lineno"])
        for t in pool
    }
    assert all(t["held"] == [] for t in pool)
    assert facts == {
        ("idle", "queue-get", "jobs", example_line("pool", "work", "item = jobs.get()"))
    }


# ---- the documented JSON schema ------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_json_matches_documented_schema(name):
    schema = json.loads((REPO / "docs" / "snapshot.schema.json").read_text(encoding="utf-8"))
    data = json_dump(run_example(name, "script", "--json").stdout)
    validate(data, schema)


def test_the_schema_check_rejects_what_the_schema_forbids():
    schema = json.loads((REPO / "docs" / "snapshot.schema.json").read_text(encoding="utf-8"))
    data = json_dump(run_example("seed", "script", "--json").stdout)
    validate(data, schema)
    for broken in (
        {**data, "threads": "none"},  # wrong type
        {k: v for k, v in data.items() if k != "threads"},  # a required key missing
        {**data, "threads": [{**data["threads"][0], "state": "dancing"}]},  # not in the enum
        {**data, "threads": [{**data["threads"][0], "surprise": 1}]},  # not allowed
    ):
        with pytest.raises(SchemaError):
            validate(broken, schema)
