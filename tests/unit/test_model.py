"""``snarl.threaddump.model``: the plain data of a snapshot, and its JSON form (schema 1)."""

from __future__ import annotations

import json

import pytest

from snarl import Deadlock, DeadlockStep, FrameInfo, ObjectInfo, Snapshot
from snarl.threaddump.model import SCHEMA, STATES, WAIT_KINDS

from .sample_snapshot import LOCK_B, RLOCK, sample


def test_round_trip_through_json():
    snap = sample()
    text = json.dumps(snap.to_dict())
    again = Snapshot.from_dict(json.loads(text))
    assert again == snap
    assert again.to_dict() == snap.to_dict()


def test_json_form_top_level():
    d = sample().to_dict()
    assert d["schema"] == SCHEMA == 1
    assert list(d) == [
        "schema", "pid", "python", "implementation", "build", "gil_enabled",
        "switch_interval", "taken_at", "duration", "tracked", "deadlocks", "deadlocks_checked",
        "threads", "notes",
    ]  # fmt: skip
    assert [t["name"] for t in d["threads"]] == [
        "MainThread", "worker-AB", "worker-BA", None, "Dummy-1", "ghost",
    ]  # fmt: skip


def test_json_form_of_a_thread_wait_and_holders():
    d = sample().to_dict()
    ab = d["threads"][1]
    assert ab["wait"]["object"] == {
        "type": "_thread.lock",
        "id": 0x2000,
        "name": "lock_b",
        "locked": True,
    }
    assert ab["wait"]["holders"] == [
        {
            "ident": 102,
            "name": "worker-BA",
            "alive": True,
            "basis": "with-block",
            "filename": "/app/work.py",
            "lineno": 28,
            "state": None,
        }
    ]
    assert ab["held"][0]["basis"] == "with-block"
    assert d["threads"][3]["wait"]["since"] == 12.5
    assert d["threads"][3]["wait"]["object"] is None
    assert d["threads"][4]["in_call"] == "np.dot"


def test_locals_only_when_present():
    d = sample().to_dict()
    main_frames = d["threads"][0]["frames"]
    assert main_frames[0]["locals"] == {"x": "1", "name": "'m'"}
    assert "locals" not in main_frames[1]
    assert FrameInfo.from_dict(main_frames[1]).locals is None


def test_deadlock_json_and_certainty():
    snap = sample()
    [d] = snap.to_dict()["deadlocks"]
    assert d["certain"] is False
    assert [s["thread_name"] for s in d["steps"]] == ["worker-AB", "worker-BA"]
    certain = Deadlock(
        tuple(
            DeadlockStep(s.thread, s.thread_name, s.wait, s.holder.__class__(
                s.holder.ident, s.holder.name, True, "rlock-owner"))
            for s in snap.deadlocks[0].steps
        )
    )  # fmt: skip
    assert certain.certain is True
    assert Deadlock.from_dict(certain.to_dict()) == certain


def test_other_schema_versions_are_refused():
    d = sample().to_dict()
    d["schema"] = 2
    with pytest.raises(ValueError, match="schema"):
        Snapshot.from_dict(d)
    del d["schema"]
    with pytest.raises(ValueError, match="schema"):
        Snapshot.from_dict(d)


def test_labels():
    assert LOCK_B.label == "Lock `lock_b`"
    assert RLOCK.label == "RLock `self._state_lock`"
    assert ObjectInfo("threading.Condition", 0x10, "ready").label == "Condition `ready`"
    assert ObjectInfo("_thread.lock", 0xABC).label == "Lock at 0xabc"
    assert ObjectInfo("my.pkg.Gate", 0x10, "gate").label == "Gate `gate`"
    snap = sample()
    assert snap.threads[1].label == '"worker-AB"'
    assert snap.threads[3].label == "<_thread 0x67>"


def test_snapshot_lookup():
    snap = sample()
    assert snap.thread("worker-BA").ident == 102
    assert len(snap) == 6
    assert [t.ident for t in snap] == [100, 101, 102, 103, 104, 105]
    with pytest.raises(KeyError):
        snap.thread("nobody")


def test_vocabularies():
    assert STATES == ("running", "waiting", "sleeping", "idle", "unknown")
    assert set(WAIT_KINDS) == {
        "lock", "rlock", "condition", "event", "semaphore", "barrier", "queue-get",
        "queue-put", "queue-join", "thread-join", "future-result", "sleep", "io", "unknown",
    }  # fmt: skip
