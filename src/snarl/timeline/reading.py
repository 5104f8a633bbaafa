"""A Chrome trace that snarl wrote, read back into :class:`~snarl.timeline.model.Timeline`
values, so that a saved ``.json`` timeline can become the HTML page afterwards
(``snarl timeline in.json -o out.html``).

Only what :func:`snarl.timeline.chrome.chrome_trace` writes is read: a trace from another
tool, or one whose ``otherData.schema`` is not :data:`~snarl.timeline.chrome.SCHEMA`, is
refused with a ``ValueError`` that says why, in one line.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .chrome import SCHEMA
from .model import Flow, Lane, Marker, Slice, Timeline

__all__ = ["load_trace", "timelines_from_trace"]


def load_trace(path: str | Path) -> list[Timeline]:
    """The timelines of the Chrome trace file ``path`` (written by snarl).  ``OSError`` when
    it cannot be read; ``ValueError`` (one line) when it is not a snarl trace."""
    text = Path(path).read_text(encoding="utf-8")
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise ValueError(f"{path} is not JSON ({exc})") from None
    return timelines_from_trace(data, source=str(path))


def timelines_from_trace(data: Any, *, source: str = "the trace") -> list[Timeline]:
    """The timelines of a Chrome trace object written by snarl (see the module docstring)."""
    other = data.get("otherData") if isinstance(data, dict) else None
    events = data.get("traceEvents") if isinstance(data, dict) else None
    if not isinstance(other, dict) or other.get("generator") != "snarl":
        raise ValueError(f"{source} is not a timeline written by snarl (no otherData.generator)")
    if other.get("schema") != SCHEMA:
        raise ValueError(
            f"{source} has timeline schema {other.get('schema')!r}; this snarl reads {SCHEMA}"
        )
    infos = other.get("timelines")
    if not isinstance(events, list) or not isinstance(infos, list):
        raise ValueError(f"{source} has no traceEvents or otherData.timelines list")
    try:
        return [_timeline(events, pid, info) for pid, info in enumerate(infos, start=1)]
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ValueError(f"{source} is not a well-formed snarl timeline ({exc!r})") from None


def _timeline(events: list[Any], pid: int, info: dict[str, Any]) -> Timeline:
    unit = str(info["unit"])
    k = 1000.0 if unit == "ns" else 1.0  # µs in the trace -> the timeline's own unit
    mine = [e for e in events if isinstance(e, dict) and e.get("pid") == pid]
    tl = Timeline(
        title=str(info.get("title", "snarl timeline")),
        unit=unit,
        start=0.0,
        end=0.0,
        dropped=int(info.get("dropped", 0)),
        notes=[str(n) for n in info.get("notes", [])],
    )
    names: dict[int, str] = {}
    order: dict[int, int] = {}
    for e in mine:
        if e.get("ph") == "M" and e.get("name") == "thread_name":
            names[e["tid"]] = str(e["args"]["name"])
        elif e.get("ph") == "M" and e.get("name") == "thread_sort_index":
            order[e["tid"]] = int(e["args"]["sort_index"])
    flows: dict[Any, dict[str, Any]] = {}
    for e in mine:
        ph = e.get("ph")
        if ph == "X" and e.get("cat") == "thread":
            args = e.get("args", {})
            tid = e["tid"]
            tl.lanes.append(
                Lane(
                    id=tid - 1,
                    name=names.get(tid, str(e["name"])),
                    start=e["ts"] * k,
                    end=(e["ts"] + e["dur"]) * k,
                    ident=args.get("ident"),
                    exited=bool(args.get("exited", False)),
                    note=str(args.get("note", "")),
                )
            )
        elif ph == "X":
            args = dict(e.get("args", {}))
            args.pop("kind", None)
            flag = str(args.pop("flag", ""))
            tl.slices.append(
                Slice(
                    lane=e["tid"] - 1,
                    kind=str(e["cat"]),
                    label=str(e["name"]),
                    start=e["ts"] * k,
                    end=(e["ts"] + e["dur"]) * k,
                    details=args,
                    flag=flag,
                )
            )
        elif ph in ("s", "f"):
            flows.setdefault(e["id"], {"label": str(e["name"])})[ph] = (e["tid"] - 1, e["ts"] * k)
        elif ph == "i":
            tl.markers.append(Marker(time=e["ts"] * k, label=str(e["name"]), kind=str(e["cat"])))
    for flow in flows.values():
        if "s" in flow and "f" in flow:
            (src, src_t), (dst, dst_t) = flow["s"], flow["f"]
            tl.flows.append(Flow(src, src_t, dst, dst_t, flow["label"]))
    tl.lanes.sort(key=lambda lane: order.get(lane.id + 1, lane.id))
    times = [lane.end for lane in tl.lanes] + [m.time for m in tl.markers]
    tl.end = max(times, default=0.0)
    return tl
