"""``snarl demo checkinterval --timeline out.html``: Python 2's classic check-interval
demonstrations, each setting recorded as a timeline, all on one page side by side.

Each run of ``examples/checkinterval.py`` (both variants, every setting it shows) is recorded
with ``record(gil=True)``: the lanes show each thread's GIL offers, who took the GIL, and
the stretches in between when it ran.
"""

from __future__ import annotations

import contextlib
import io
import runpy
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .export import save
from .model import Timeline
from .recording import record

__all__ = ["PRINT_SETTINGS", "demo_timelines", "example_file"]

PRINT_SETTINGS = [(100, 1000), (10, 0)]
"""The print variant's settings, as ``examples/checkinterval.py`` runs them."""


def example_file() -> Path:
    """``checkinterval.py`` of the bundled examples: in the installed package, or the
    checkout's ``examples/`` (``FileNotFoundError`` if neither has it)."""
    here = Path(__file__).resolve()
    for folder in (here.parents[1] / "examples", here.parents[3] / "examples"):
        candidate = folder / "checkinterval.py"
        if candidate.is_file():
            return candidate
    raise FileNotFoundError("snarl: the checkinterval example is not installed")


def demo_timelines(
    path: str | Path | None = None,
    *,
    example: str | Path | None = None,
    report: Callable[[str], Any] | None = None,
) -> list[Timeline]:
    """Record every setting of the check-interval demonstrations; return the timelines and,
    with ``path``, write them (``.html``: side by side on one page; ``.json``: a Chrome trace
    with one process per setting).  ``report(line)`` hears one line per run (the CLI prints
    it).  ``example`` is the demo's file (default: :func:`example_file`)."""
    demo = runpy.run_path(str(example or example_file()), run_name="snarl_demo_checkinterval")
    switches = demo["switches"]
    timelines: list[Timeline] = []
    for interval, extra in demo["SETTINGS"]:
        with record(gil=True) as rec:
            names = demo["queue_demo"](interval, extra)
        line = (
            f"Queue variant, interval {interval}, {extra} extra: {' '.join(names)} "
            f"({switches(names)} switches)"
        )
        timelines.append(rec.timeline(line))
        if report is not None:
            report(line)
    for interval, extra in PRINT_SETTINGS:
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed), record(gil=True) as rec:
            demo["run_threads"](demo["print_thread"], (extra,), interval)
        line = f"Print variant, interval {interval}, {extra} extra: {printed.getvalue().strip()}"
        timelines.append(rec.timeline(line))
        if report is not None:
            report(line)
    if path is not None:
        save(path, timelines, title="snarl.setcheckinterval: Python 2's classic demonstrations")
    return timelines
