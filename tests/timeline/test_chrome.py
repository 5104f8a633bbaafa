"""The Chrome Trace Event JSON: the format's rules, and what it shows."""

from __future__ import annotations

import json

import pytest

from snarl.timeline import chrome_trace, save

from .helpers import lane_of
from .programs import deadlock_timeline, handoff_recording
from .trace_format import check_trace


@pytest.fixture(scope="module")
def handoff():
    return handoff_recording()


def test_a_recorded_trace_follows_the_format(handoff):
    trace = handoff.to_chrome_trace()
    assert check_trace(trace) == []
    assert trace["otherData"]["schema"] == 1
    assert trace["otherData"]["dropped"] == 0


def test_one_named_track_per_thread_and_the_handoff_as_a_flow(handoff):
    trace = handoff.to_chrome_trace("handoff")
    events = trace["traceEvents"]
    names = {ev["tid"]: ev["args"]["name"] for ev in events if ev["name"] == "thread_name"}
    assert sorted(names.values()) == sorted(["MainThread", "holder", "waiter"])
    tid = {name: t for t, name in names.items()}
    [process] = [ev for ev in events if ev["name"] == "process_name"]
    assert process["args"]["name"] == "handoff"
    [wait] = [
        ev
        for ev in events
        if ev["ph"] == "X" and ev["cat"] == "lock" and ev["name"] == "Lock `lock`"
    ]
    assert wait["tid"] == tid["waiter"] and wait["name"] == "Lock `lock`"
    assert wait["args"]["released by"] == "holder"
    flows = {}
    for ev in events:
        if ev["ph"] in ("s", "f"):
            flows.setdefault(ev["id"], {})[ev["ph"]] = ev
    into_waiter = [f for f in flows.values() if f["f"]["tid"] == tid["waiter"]]
    [flow] = into_waiter
    assert flow["s"]["tid"] == tid["holder"]
    assert flow["f"]["bp"] == "e"
    assert flow["f"]["ts"] == pytest.approx(wait["ts"] + wait["dur"], abs=0.002)
    assert wait["ts"] <= flow["s"]["ts"] <= flow["f"]["ts"]
    lane = handoff.timeline().lane(lane_of(handoff, "waiter"))
    life = [
        ev
        for ev in events
        if ev["ph"] == "X" and ev["cat"] == "thread" and ev["tid"] == tid["waiter"]
    ]
    assert len(life) == 1 and lane is not None and lane.exited


def test_a_deadlocked_schedule_is_a_trace_too(tmp_path):
    tl = deadlock_timeline(title="abba")
    trace = chrome_trace([tl])
    assert check_trace(trace) == []
    events = trace["traceEvents"]
    tracks = {ev["args"]["name"] for ev in events if ev["name"] == "thread_name"}
    assert tracks == {"T0 abba", "T1 one", "T2 two"}
    [instant] = [ev for ev in events if ev["ph"] == "i"]
    assert instant["s"] == "g" and instant["name"].startswith("deadlock")
    stuck = [
        ev for ev in events if ev["ph"] == "X" and ev.get("args", {}).get("flag") == "deadlock"
    ]
    assert {ev["cat"] for ev in stuck} == {"lock"} and len(stuck) == 2
    path = save(tmp_path / "abba.json", [tl])
    assert check_trace(json.loads(path.read_text(encoding="utf-8"))) == []


def test_several_timelines_are_several_processes(handoff):
    trace = chrome_trace([handoff.timeline("one"), deadlock_timeline(title="two")])
    assert check_trace(trace) == []
    processes = {
        ev["pid"]: ev["args"]["name"] for ev in trace["traceEvents"] if ev["name"] == "process_name"
    }
    assert processes == {1: "one", 2: "two"}


def test_the_checker_finds_what_breaks_the_format():
    def ev(**kw):
        return {"name": "x", "ph": "X", "ts": 0, "pid": 1, "tid": 1, "dur": 1, **kw}

    assert check_trace({"traceEvents": [ev()]}) == []
    assert check_trace({"traceEvents": [{"ph": "X", "ts": 0, "pid": 1, "tid": 1}]})
    assert check_trace({"traceEvents": [ev(dur=-1)]})
    assert check_trace({"traceEvents": [ev(ts=0, dur=10), ev(ts=5, dur=10)]})  # overlap
    assert check_trace({"traceEvents": [ev(ph="B"), ev(ph="B"), ev(ph="E")]})
    assert check_trace({"traceEvents": [ev(ph="s", id=1)]})  # a flow that never ends
    assert check_trace({"traceEvents": [ev(ph="s", id=1, ts=5), ev(ph="f", id=1, ts=1)]})


def test_save_refuses_a_suffix_it_cannot_tell(tmp_path, handoff):
    with pytest.raises(ValueError, match=r"\.json"):
        handoff.save(tmp_path / "out.txt")
    assert not (tmp_path / "out.txt").exists()
    assert json.loads((handoff.save(tmp_path / "out.json")).read_text(encoding="utf-8"))
