"""``demo_timelines``: the check-interval demonstrations, one recorded timeline per setting."""

from __future__ import annotations

import json
import runpy

from snarl.timeline import demo_timelines
from snarl.timeline.demo import PRINT_SETTINGS, example_file

from .trace_format import check_trace


def test_every_setting_of_both_demonstrations_is_a_timeline(tmp_path):
    lines: list[str] = []
    timelines = demo_timelines(tmp_path / "demo.html", report=lines.append)
    settings = runpy.run_path(str(example_file()))["SETTINGS"]
    assert len(timelines) == len(settings) + len(PRINT_SETTINGS) == len(lines)
    assert [tl.title for tl in timelines] == lines
    for (interval, extra), tl in zip(settings, timelines, strict=False):
        assert tl.title.startswith(f"Queue variant, interval {interval}, {extra} extra: ")
    for tl in timelines:
        names = [lane.name for lane in tl.lanes]
        assert {"T0", "T1", "T2"} <= set(names) and names.count("MainThread") == 1
        assert all(lane.exited for lane in tl.lanes if lane.name in ("T0", "T1", "T2"))
        assert any(s.kind == "running" for s in tl.slices)  # the check interval was on
    small = [tl for (interval, _), tl in zip(settings, timelines, strict=False) if interval <= 100]
    assert all(any(s.kind == "gil" for s in tl.slices) for tl in small)
    page = (tmp_path / "demo.html").read_text(encoding="utf-8")
    assert page.count('<section class="timeline"') == len(timelines)


def test_the_demonstrations_as_one_chrome_trace(tmp_path):
    demo_timelines(tmp_path / "demo.json")
    trace = json.loads((tmp_path / "demo.json").read_text(encoding="utf-8"))
    assert check_trace(trace) == []
    pids = {ev["pid"] for ev in trace["traceEvents"]}
    assert len(pids) == len(trace["otherData"]["timelines"]) >= 6
