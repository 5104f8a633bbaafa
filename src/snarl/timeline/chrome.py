"""Timelines as Chrome Trace Event JSON: opens in Perfetto (ui.perfetto.dev) and chrome://tracing.

The format is the "JSON Array/Object Format" of the Trace Event Format document (Google,
"Trace Event Format", the catapult project).  What snarl writes:

* one *process* per timeline (``pid`` 1, 2, ...; named by a ``process_name`` metadata event)
  and one *thread* track per lane (``tid`` = lane id + 1, named by ``thread_name``);
* a complete event (``"ph": "X"``, with ``dur``) per lane spanning what was seen of the thread,
  with the lane's slices (waits, GIL offers, running stretches) as complete events nested in
  it, so every track's slices are properly nested;
* a flow (``"ph": "s"`` on the releasing thread's track, ``"ph": "f"`` with ``"bp": "e"`` on the
  waiter's, sharing an ``id``) from each release to the acquire it unblocked, and from each GIL
  offer to the thread that took the GIL;
* a global instant event (``"ph": "i"``, ``"s": "g"``) per marker (the end of a deadlock).

``ts`` and ``dur`` are microseconds from the timeline's start (a controlled execution's
timeline counts one step as one microsecond).  ``otherData`` carries ``"schema": 1``, the
dropped-event counts and the notes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .model import KINDS, Timeline

__all__ = ["SCHEMA", "chrome_trace"]

SCHEMA = 1
"""The version of what snarl puts in a trace (``otherData.schema``)."""


def _scale(unit: str) -> float:
    return 1e-3 if unit == "ns" else 1.0  # ns -> µs; a step is shown as 1 µs


def _args(details: dict[str, Any]) -> dict[str, Any]:
    plain = str | int | float | bool | None
    return {k: v if isinstance(v, plain) else str(v) for k, v in details.items()}


def chrome_trace(timelines: Sequence[Timeline]) -> dict[str, Any]:
    """The Trace Event JSON object for ``timelines`` (one process each)."""
    events: list[dict[str, Any]] = []
    flow_id = 0
    other: dict[str, Any] = {"generator": "snarl", "schema": SCHEMA, "timelines": []}
    for index, tl in enumerate(timelines):
        pid = index + 1
        k = _scale(tl.unit)

        def ts(t: float, tl: Timeline = tl, k: float = k) -> float:
            return round((t - tl.start) * k, 3)

        events.append(_meta("process_name", pid, 0, {"name": tl.title}))
        events.append(_meta("process_sort_index", pid, 0, {"sort_index": index}))
        tids = {}
        for order, lane in enumerate(tl.lanes):
            tid = tids[lane.id] = lane.id + 1
            events.append(_meta("thread_name", pid, tid, {"name": lane.name}))
            events.append(_meta("thread_sort_index", pid, tid, {"sort_index": order}))
            life = {"ident": lane.ident, "exited": lane.exited}
            if lane.note:
                life["note"] = lane.note
            events.append(
                {
                    "name": lane.name,
                    "cat": "thread",
                    "ph": "X",
                    "ts": ts(lane.start),
                    "dur": max(0.0, round(ts(lane.end) - ts(lane.start), 3)),
                    "pid": pid,
                    "tid": tid,
                    "args": life,
                }
            )
        for s in sorted(tl.slices, key=lambda s: (s.lane, s.start)):
            lane = tl.lane(s.lane)
            if lane is None:
                continue
            start = max(ts(s.start), ts(lane.start))
            end = min(ts(s.end), ts(lane.end))
            args = _args(s.details)
            args["kind"] = KINDS.get(s.kind, s.kind)
            if s.flag:
                args["flag"] = s.flag
            events.append(
                {
                    "name": s.label,
                    "cat": s.kind,
                    "ph": "X",
                    "ts": start,
                    "dur": max(0.0, round(end - start, 3)),
                    "pid": pid,
                    "tid": tids[s.lane],
                    "args": args,
                }
            )
        for f in tl.flows:
            if f.src_lane not in tids or f.dst_lane not in tids:
                continue
            flow_id += 1
            common = {"name": f.label, "cat": "flow", "id": flow_id, "pid": pid}
            events.append({**common, "ph": "s", "ts": ts(f.src_time), "tid": tids[f.src_lane]})
            events.append(
                {**common, "ph": "f", "bp": "e", "ts": ts(f.dst_time), "tid": tids[f.dst_lane]}
            )
        for m in tl.markers:
            events.append(
                {
                    "name": m.label,
                    "cat": m.kind,
                    "ph": "i",
                    "s": "g",
                    "ts": ts(m.time),
                    "pid": pid,
                    "tid": 0,
                }
            )
        other["timelines"].append(
            {"title": tl.title, "unit": tl.unit, "dropped": tl.dropped, "notes": list(tl.notes)}
        )
    other["dropped"] = sum(tl.dropped for tl in timelines)
    return {"traceEvents": events, "displayTimeUnit": "ns", "otherData": other}


def _meta(name: str, pid: int, tid: int, args: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "ph": "M", "ts": 0, "pid": pid, "tid": tid, "args": args}
