"""Timelines as one self-contained HTML page: inline CSS, inline script, SVG, no network.

The page embeds the timelines as JSON (``<script type="application/json" id="snarl-data">``)
and its script draws each one as an SVG when the page loads: one lane per thread, the lane's
slices coloured by kind, arrows from each release to the acquire it unblocked, markers (the
end of a deadlocked run).  Hovering a slice or an arrow shows its details; the mouse wheel
(or the + and - buttons) zooms around the pointer, dragging pans, "fit" shows everything.
Several timelines sit side by side in a grid (``snarl demo checkinterval --timeline``).

Stable hooks for tests and scripts: each timeline is ``<section class="timeline"
data-index="i">``, its SVG ``svg.chart``; each lane ``<g class="lane" data-thread="NAME"
data-lane="ID">``; each slice ``<rect class="slice" data-kind="KIND">`` (``data-flag`` for a
deadlocked or unfinished wait); each arrow ``<path class="flow">``.  When drawing is done the
body has ``data-ready="1"`` and each section ``data-slices`` and ``data-lanes`` (counts drawn).
"""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from importlib import resources
from typing import Any

from .model import KINDS, Timeline

__all__ = ["COLORS", "html_page", "timeline_data"]

COLORS: dict[str, str] = {
    "running": "#43a047",
    "ready": "#cfd8dc",
    "lock": "#e53935",
    "rlock": "#d81b60",
    "condition": "#fb8c00",
    "event": "#8e24aa",
    "semaphore": "#6d4c41",
    "barrier": "#00897b",
    "join": "#1e88e5",
    "start": "#90caf9",
    "sleep": "#9e9e9e",
    "gil": "#fdd835",
    "blocked": "#757575",
}
"""The colour of each slice kind."""


def timeline_data(tl: Timeline) -> dict[str, Any]:
    """The JSON the page's script draws ``tl`` from (times relative to its start)."""
    details: list[dict[str, Any]] = []
    seen: dict[str, int] = {}

    def detail_index(d: dict[str, Any]) -> int:
        key = json.dumps(d, sort_keys=True, default=str)
        found = seen.get(key)
        if found is None:
            found = seen[key] = len(details)
            details.append({k: _jsonable(v) for k, v in d.items()})
        return found

    t0 = tl.start

    def rel(t: float) -> float:
        value = t - t0
        return int(value) if tl.unit == "ns" else round(value, 3)

    lanes = [
        {
            "id": lane.id,
            "name": lane.name,
            "start": rel(lane.start),
            "end": rel(lane.end),
            "exited": lane.exited,
            "note": lane.note,
            "ident": lane.ident,
        }
        for lane in tl.lanes
    ]
    slices = []
    for s in sorted(tl.slices, key=lambda s: (s.lane, s.start)):
        item: dict[str, Any] = {
            "l": s.lane,
            "k": s.kind,
            "s": rel(s.start),
            "e": rel(s.end),
            "t": s.label,
            "d": detail_index(s.details),
        }
        if s.flag:
            item["f"] = s.flag
        slices.append(item)
    return {
        "title": tl.title,
        "unit": tl.unit,
        "end": rel(tl.end),
        "dropped": tl.dropped,
        "notes": list(tl.notes),
        "lanes": lanes,
        "slices": slices,
        "details": details,
        "flows": [
            {
                "a": f.src_lane,
                "at": rel(f.src_time),
                "b": f.dst_lane,
                "bt": rel(f.dst_time),
                "t": f.label,
            }
            for f in tl.flows
        ],
        "markers": [{"t": rel(m.time), "label": m.label, "k": m.kind} for m in tl.markers],
    }


def _asset(name: str) -> str:
    """The page's stylesheet or script, shipped next to this module."""
    return (resources.files(__package__) / name).read_text(encoding="utf-8")


def _jsonable(value: Any) -> Any:
    return value if isinstance(value, str | int | float | bool) or value is None else str(value)


def html_page(timelines: Sequence[Timeline], *, title: str = "snarl timeline") -> str:
    """The whole page for ``timelines`` (a string; write it with UTF-8)."""
    data = {
        "kinds": {k: {"color": COLORS.get(k, "#757575"), "text": t} for k, t in KINDS.items()},
        "timelines": [timeline_data(tl) for tl in timelines],
    }
    payload = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    payload = payload.replace("</", "<\\/").replace("<!--", "<\\!--")
    sections = "\n".join(
        f'<section class="timeline" data-index="{i}">'
        + (f"<h2>{html.escape(tl.title)}</h2>" if tl.title != title else "")
        + "</section>"
        for i, tl in enumerate(timelines)
    )
    return _PAGE.format(
        title=html.escape(title),
        sections=sections,
        css=_asset("page.css"),
        script=_asset("page.js"),
        payload=payload,
        grid="grid" if len(timelines) > 1 else "single",
    )


_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="snarl">
<title>{title}</title>
<style>{css}</style>
</head>
<body>
<header><h1>{title}</h1>
<p class="help">Wheel or <b>+</b>/<b>&minus;</b> to zoom, drag to pan, <b>fit</b> to see all;
hover a slice or an arrow for details.</p>
<noscript><p>This page draws its timelines with JavaScript: enable it to see them.</p></noscript>
</header>
<main class="{grid}">
{sections}
</main>
<div id="tip" class="tip" hidden></div>
<script type="application/json" id="snarl-data">{payload}</script>
<script>{script}</script>
</body>
</html>
"""
