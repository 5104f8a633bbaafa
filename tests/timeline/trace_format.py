"""A checker for the Chrome Trace Event format (the parts snarl writes).

From the Trace Event Format document (catapult): every event has ``name``, ``ph``, ``ts``
(microseconds), ``pid`` and ``tid``; a complete event (``X``) has a non-negative ``dur``;
begin/end events (``B``/``E``) balance per thread; duration events on one thread nest
properly; flow events (``s``, ``t``, ``f``) share an ``id`` (and ``cat``) per flow, start with
one ``s`` and end with one ``f`` no earlier; metadata events (``M``) name processes and
threads through ``args.name``; instant events (``i``) have a scope ``s`` of g, p or t.
"""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

REQUIRED = ("name", "ph", "ts", "pid", "tid")
PHASES = {"X", "B", "E", "M", "s", "t", "f", "i", "I"}
EPSILON = 1e-6  # µs


def check_trace(trace: dict[str, Any]) -> list[str]:
    """Every way ``trace`` breaks the format (empty: it conforms)."""
    problems: list[str] = []
    json.dumps(trace)  # serialisable, or this raises
    events = trace.get("traceEvents")
    if not isinstance(events, list):
        return ["no traceEvents list"]
    if trace.get("displayTimeUnit", "ms") not in ("ms", "ns"):
        problems.append(f"displayTimeUnit {trace['displayTimeUnit']!r}")
    spans: dict[tuple[Any, Any], list[tuple[float, float, str]]] = defaultdict(list)
    open_b: dict[tuple[Any, Any], list[str]] = defaultdict(list)
    flows: dict[tuple[Any, Any], list[dict[str, Any]]] = defaultdict(list)
    for n, ev in enumerate(events):
        where = f"event {n} ({ev.get('ph')} {ev.get('name')!r})"
        missing = [k for k in REQUIRED if k not in ev]
        if missing:
            problems.append(f"{where}: missing {missing}")
            continue
        ph = ev["ph"]
        if ph not in PHASES:
            problems.append(f"{where}: unknown phase")
        if not isinstance(ev["ts"], int | float) or ev["ts"] < 0:
            problems.append(f"{where}: ts {ev['ts']!r}")
        if not isinstance(ev["pid"], int) or not isinstance(ev["tid"], int):
            problems.append(f"{where}: pid/tid not integers")
        if not isinstance(ev["name"], str):
            problems.append(f"{where}: name not a string")
        key = (ev["pid"], ev["tid"])
        if ph == "X":
            dur = ev.get("dur")
            if not isinstance(dur, int | float) or dur < 0:
                problems.append(f"{where}: dur {dur!r}")
            else:
                spans[key].append((ev["ts"], ev["ts"] + dur, ev["name"]))
        elif ph == "B":
            open_b[key].append(ev["name"])
        elif ph == "E":
            if not open_b[key]:
                problems.append(f"{where}: E without B")
            else:
                open_b[key].pop()
        elif ph == "M":
            if ev["name"] in ("process_name", "thread_name") and not isinstance(
                ev.get("args", {}).get("name"), str
            ):
                problems.append(f"{where}: metadata without args.name")
        elif ph in ("s", "t", "f"):
            if "id" not in ev:
                problems.append(f"{where}: flow without id")
            else:
                flows[(ev.get("cat"), ev["id"])].append(ev)
        elif ph in ("i", "I") and ev.get("s", "t") not in ("g", "p", "t"):
            problems.append(f"{where}: instant scope {ev.get('s')!r}")
    for key, names in open_b.items():
        if names:
            problems.append(f"thread {key}: B without E: {names}")
    for key, items in spans.items():
        problems.extend(_nesting(key, items))
    for key, items in flows.items():
        phases = [ev["ph"] for ev in items]
        if phases.count("s") != 1 or phases.count("f") != 1:
            problems.append(f"flow {key}: phases {phases}")
            continue
        start = next(ev for ev in items if ev["ph"] == "s")
        end = next(ev for ev in items if ev["ph"] == "f")
        if end["ts"] < start["ts"]:
            problems.append(f"flow {key}: ends before it starts")
    return problems


def _nesting(key: tuple[Any, Any], items: list[tuple[float, float, str]]) -> list[str]:
    """Complete events on one thread must nest: none may overlap another partly.  Times are
    compared to within a picosecond (``ts + dur`` in floating point; viewers read whole ns)."""
    problems = []
    stack: list[tuple[float, float, str]] = []
    for start, end, name in sorted(items, key=lambda s: (s[0], -s[1])):
        while stack and stack[-1][1] <= start + EPSILON:
            stack.pop()
        if stack and end > stack[-1][1] + EPSILON:
            problems.append(f"thread {key}: {name!r} overlaps {stack[-1][2]!r}")
        stack.append((start, end, name))
    return problems
