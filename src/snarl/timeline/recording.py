"""``record()``: a thread timeline of a real run, and the :class:`Recording` it gives.

::

    with snarl.record() as rec:          # tracking is installed for the block if it was not
        run_the_program()
    rec.save("out.json")                 # Chrome trace: open it in Perfetto or chrome://tracing
    rec.save("out.html")                 # one self-contained page: the timeline as SVG
    rec.dropped                          # events the ring buffer had to let go

What is recorded, and how, is in :mod:`snarl.timeline.recorder`.
"""

from __future__ import annotations

from pathlib import Path
from types import TracebackType
from typing import Any

from ..sync.patch import install, installed
from ..threaddump.render import short_path
from .model import Flow, Lane, Slice, Timeline
from .recorder import Recorder, finish

__all__ = ["DEFAULT_SIZE", "Recording", "record", "timeline_from_events"]

DEFAULT_SIZE = 100_000
"""Events a recording keeps by default (the ring buffer's size)."""


class Recording:
    """A timeline recording: a context manager (or :meth:`start` / :meth:`stop`).

    ``size`` is the ring buffer's capacity in events; ``gil`` also records the check
    interval's GIL offers (see :mod:`snarl.timeline.recorder`).  Starting installs snarl's
    tracked primitives into ``threading`` if they are not installed (primitives created
    before that are native and unseen) and stopping restores the state found.  One
    recording runs at a time (``RuntimeError`` otherwise).
    """

    def __init__(self, *, size: int = DEFAULT_SIZE, gil: bool = False) -> None:
        if isinstance(size, bool) or not isinstance(size, int):
            raise TypeError(f"size must be an integer, not {type(size).__name__}")
        if size < 1:
            raise ValueError(f"size must be >= 1, not {size}")
        self.size = size
        self.gil = bool(gil)
        self._recorder: Recorder | None = None
        self._installation: Any = None
        self._events: list[tuple[Any, ...]] | None = None
        self._dropped = 0
        self._names: dict[int, str] = {}
        self.began: int | None = None
        """``perf_counter_ns()`` at the start (None before it)."""
        self.ended: int | None = None
        """``perf_counter_ns()`` at the stop (None while recording)."""
        self.error: str | None = None
        """Why the recorder stopped early (a bug of its own; the program went on), or None."""

    # -- life ------------------------------------------------------------------------------
    def start(self) -> Recording:
        """Start recording (idempotent while running); returns ``self``."""
        if self._recorder is not None:
            return self
        if self.ended is not None:
            raise RuntimeError("snarl: this recording has ended; make a new one with record()")
        recorder = Recorder(self.size, self.gil)
        self._installation = None if installed() else install()
        try:
            recorder.start()
        except BaseException:
            if self._installation is not None:
                self._installation.__exit__(None, None, None)
                self._installation = None
            raise
        self._recorder = recorder
        self.began = recorder.began
        return self

    def stop(self) -> None:
        """Stop recording and keep what was recorded (idempotent)."""
        recorder = self._recorder
        if recorder is None:
            return
        names = recorder.alive_names()
        recorder.stop()
        self._recorder = None
        self._events = [finish(ev, recorder.sites) for ev in recorder.ring]
        self._dropped = recorder.appended - len(self._events)
        self._names = names
        self.ended = recorder.ended
        self.error = recorder.error
        if self._installation is not None:
            self._installation.__exit__(None, None, None)
            self._installation = None

    def __enter__(self) -> Recording:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def active(self) -> bool:
        """Whether it is recording now."""
        return self._recorder is not None

    # -- what was recorded -----------------------------------------------------------------
    @property
    def events(self) -> list[tuple[Any, ...]]:
        """The events kept, oldest first (a copy; shapes in :mod:`snarl.timeline.recorder`)."""
        if self._recorder is not None:
            return [finish(ev, self._recorder.sites) for ev in list(self._recorder.ring)]
        return list(self._events or ())

    @property
    def dropped(self) -> int:
        """How many events the ring buffer dropped (the oldest go first)."""
        recorder = self._recorder
        if recorder is None:
            return self._dropped
        ring = list(recorder.ring)
        if len(ring) < self.size:
            return 0
        return max(0, _peek(recorder) - len(ring))

    def timeline(self, title: str = "snarl timeline") -> Timeline:
        """The recording as a :class:`~snarl.timeline.model.Timeline` (stops nothing: while
        recording, it is what was recorded so far)."""
        if self._recorder is not None:
            recorder = self._recorder
            import time

            return timeline_from_events(
                self.events,
                began=recorder.began,
                ended=time.perf_counter_ns(),
                dropped=self.dropped,
                names=recorder.alive_names(),
                title=title,
            )
        if self.began is None:
            raise RuntimeError("snarl: this recording has not started")
        return timeline_from_events(
            self._events or [],
            began=self.began,
            ended=self.ended if self.ended is not None else self.began,
            dropped=self._dropped,
            names=self._names,
            title=title,
            error=self.error,
        )

    def to_chrome_trace(self, title: str = "snarl timeline") -> dict[str, Any]:
        """The Chrome Trace Event JSON object (``json.dump`` it; Perfetto opens it)."""
        from .chrome import chrome_trace

        return chrome_trace([self.timeline(title)])

    def to_html(self, title: str = "snarl timeline") -> str:
        """A self-contained HTML page drawing the timeline (no network, no external assets)."""
        from .html import html_page

        return html_page([self.timeline(title)], title=title)

    def save(self, path: str | Path, title: str = "snarl timeline") -> Path:
        """Write the timeline to ``path``: Chrome trace JSON for ``.json``, the HTML page for
        ``.html`` / ``.htm``.  Returns the path."""
        from .export import save

        return save(path, [self.timeline(title)], title=title)

    def __repr__(self) -> str:
        state = "recording" if self.active else ("ended" if self.ended is not None else "new")
        return (
            f"<snarl.timeline.Recording {state}: {len(self.events)} events, "
            f"{self.dropped} dropped, size={self.size}{', gil' if self.gil else ''}>"
        )


def record(*, size: int = DEFAULT_SIZE, gil: bool = False) -> Recording:
    """A new :class:`Recording`; use it as a context manager (or call ``start()``)::

    with snarl.record(size=100_000, gil=False) as rec:
        ...
    rec.save("timeline.html")
    """
    return Recording(size=size, gil=gil)


def _peek(recorder: Recorder) -> int:
    """Events appended so far, without disturbing the count (itertools.count has no peek)."""
    text = repr(recorder._count)  # "count(N)": the next value, i.e. events appended
    return int(text[text.index("(") + 1 : -1])


# -- events -> timeline --------------------------------------------------------------------------
_TYPE_KIND = {"join": "join"}
_OUTCOMES = {"timeout": "timed out", "unfinished": "still waiting when the recording stopped"}
_DONE = {"lock": "acquired", "rlock": "acquired", "join": "the thread ended"}


def _label(kind: str, obj: tuple[int, str, str | None]) -> str:
    _id, type_name, name = obj
    if kind == "join":
        return f'thread "{name}"' if name else "a thread"
    return f"{type_name} `{name}`" if name else type_name


def _site_text(site: tuple[str, int, str] | None) -> str | None:
    if site is None:
        return None
    file, line, function = site
    return f"{short_path(file)}:{line} in {function}"


def timeline_from_events(
    events: list[tuple[Any, ...]],
    *,
    began: int,
    ended: int,
    dropped: int = 0,
    names: dict[int, str] | None = None,
    title: str = "snarl timeline",
    error: str | None = None,
) -> Timeline:
    """Build the :class:`Timeline` of recorded ``events`` (see :mod:`snarl.timeline.recorder`).

    While the check interval's offers were on (``"interval"`` events, from ``record(gil=True)``)
    the stretches of a thread between its offers and waits are drawn as running: a thread
    holds the GIL there.  A lane starts at its thread's start, or at the timeline's start for
    a thread running already; it ends at the thread's exit (or the last thing it did after
    it), or at the timeline's end.
    """
    start = began
    if dropped and events:
        start = min(ev[1] for ev in events)
    names = names or {}
    lanes: dict[int, Lane] = {}
    first: dict[int, float] = {}
    last: dict[int, float] = {}
    started: dict[int, float] = {}

    def lane(lane_id: int, t0: float, t1: float | None = None) -> Lane:
        found = lanes.get(lane_id)
        if found is None:
            found = lanes[lane_id] = Lane(
                lane_id, names.get(lane_id, f"thread #{lane_id}"), start, ended
            )
        first[lane_id] = min(first.get(lane_id, t0), t0)
        last[lane_id] = max(last.get(lane_id, t0), t0 if t1 is None else t1)
        return found

    slices: list[Slice] = []
    flows: list[Flow] = []
    windows: list[list[float]] = []  # [on, off] spans of the check interval's offers
    for ev in events:
        what = ev[0]
        if what == "thread":
            _, ts, lane_id, ident, name, how = ev
            found = lane(lane_id, ts)
            found.name, found.ident = name, ident
            if how == "start":
                started[lane_id] = ts
        elif what == "exit":
            _, ts, lane_id, ident, name = ev
            found = lane(lane_id, ts)
            found.name, found.ident, found.exited = name, ident, True
        elif what == "interval":
            _, ts, on = ev
            if on:
                windows.append([ts, ended])
            elif windows and windows[-1][1] == ended:
                windows[-1][1] = ts
            elif not windows:  # its start was dropped
                windows.append([start, ts])
        elif what == "wait":
            _, t0, t1, lane_id, kind, obj, site, outcome, by = ev
            lane(lane_id, t0, t1)
            label = _label(kind, obj)
            details: dict[str, Any] = {"waits for": label, "object id": hex(obj[0])}
            where = _site_text(site)
            if where:
                details["at"] = where
            details["outcome"] = _OUTCOMES.get(outcome, outcome)
            if outcome == "done":
                details["outcome"] = _DONE.get(kind, "woken")
            if by is not None:
                details["released by"] = by[0]  # a lane id: named below
                flows.append(
                    Flow(by[0], by[1], lane_id, t1, "exited" if kind == "join" else "released")
                )
            slices.append(
                Slice(
                    lane_id,
                    _TYPE_KIND.get(kind, kind),
                    label,
                    t0,
                    t1,
                    details,
                    "unfinished" if outcome == "unfinished" else "",
                )
            )
        elif what == "gil":
            _, t0, t1, lane_id, by = ev
            lane(lane_id, t0, t1)
            details = {}
            if by is not None:
                details["taken by"] = by[0]
                flows.append(Flow(lane_id, t0, by[0], by[1], "GIL"))
            else:
                details["taken by"] = "no thread (it took the GIL back)"
            slices.append(Slice(lane_id, "gil", "GIL offer", t0, t1, details))
    for flow in flows:  # a releaser seen only through a flow still gets its lane
        lane(flow.src_lane, flow.src_time)
        lane(flow.dst_lane, flow.dst_time)
    for lane_id, found in lanes.items():
        if lane_id in started:
            found.start = min(started[lane_id], first[lane_id])
        if found.exited:
            found.end = last[lane_id]
    for s in slices:
        for key in ("released by", "taken by"):
            if isinstance(s.details.get(key), int):
                s.details[key] = lanes[s.details[key]].name
    if windows:
        slices.extend(_running(lanes, slices, windows))
    ordered = sorted(lanes.values(), key=lambda ln: (ln.start, ln.id))
    timeline = Timeline(title, "ns", start, ended, ordered, slices, flows, dropped=dropped)
    if dropped:
        timeline.notes.append(
            f"the ring buffer dropped the {dropped} oldest events: the timeline starts later"
        )
    if error:
        timeline.notes.append(f"the recorder stopped early ({error})")
    return timeline


def _running(
    lanes: dict[int, Lane], slices: list[Slice], windows: list[list[float]]
) -> list[Slice]:
    """The stretches of each lane between its waits and GIL offers, while offers were on."""
    by_lane: dict[int, list[Slice]] = {}
    for s in slices:
        by_lane.setdefault(s.lane, []).append(s)
    out = []
    for lane_id, lane in lanes.items():
        busy = sorted(by_lane.get(lane_id, ()), key=lambda s: s.start)
        for on, off in windows:
            t = max(on, lane.start)
            stop = min(off, lane.end)
            for s in busy:
                if s.end <= t or s.start >= stop:
                    continue
                if s.start > t:
                    out.append(Slice(lane_id, "running", "running", t, s.start, dict(_RUNNING)))
                t = max(t, s.end)
            if stop > t:
                out.append(Slice(lane_id, "running", "running", t, stop, dict(_RUNNING)))
    return out


_RUNNING = {"what": "holds the GIL between its offers and waits (under the check interval)"}
