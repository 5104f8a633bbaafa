#!/usr/bin/env python3
"""Where ``snarl.snapshot()`` spends its time with many parked threads.

Parks N threads (default 1000) 12 frames deep on one Event, as bench_dump.py does, then:

1. times ``snapshot()`` with the cyclic GC enabled and disabled, and counts the collections
   (and their duration, through ``gc.callbacks``) that run inside ``snapshot()`` and in the
   ``format_dump()`` that follows it (a collection snarl defers lands there);
2. times the primitives any snapshot needs (``sys._current_frames()``, walking ``f_back``,
   reading ``f_locals``), a floor for a pure-Python implementation;
3. instruments snarl's internal functions with ``perf_counter`` wrappers (top-level phases of
   one snapshot, then the functions inside ``read_frames``), without editing the source;
4. runs cProfile over a few snapshots and prints the top functions.

The internal names are looked up when the script runs; a name snarl no longer has is listed as
skipped, not an error.  Run from anywhere: ``python benchmarks/profile_snapshot.py``.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import importlib
import io
import pstats
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

from _parked import DEPTH, Parked, repo_src

# Functions called directly by the snapshot (its phases), as (module, dotted attribute).
PHASES = [
    ("snarl.threaddump.collect", "forget"),
    ("snarl.threaddump.collect", "tables"),
    ("snarl.threaddump.collect", "Identity.__init__"),
    ("snarl.threaddump.collect", "walk"),
    ("snarl.threaddump.collect", "steady_walks"),
    ("snarl.threaddump.collect", "Identity.thread_of"),
    ("snarl.threaddump.collect", "Statics.read"),
    ("snarl.threaddump.collect", "read_frames"),
    ("snarl.threaddump.collect", "_Thread"),
    ("snarl.threaddump.collect", "_held_locks"),
    ("snarl.threaddump.collect", "read_pools"),
    ("snarl.threaddump.collect", "holders"),
    ("snarl.threaddump.collect", "object_info"),
    ("snarl.threaddump.collect", "instance_dict"),
    ("snarl.threaddump.collect", "WaitInfo"),
    ("snarl.threaddump.collect", "ThreadInfo"),
    ("snarl.threaddump.collect", "WaitGraph.cycles"),
    ("snarl.threaddump.collect", "platform.python_version"),
]

# Functions inside read_frames (nested: each is part of read_frames' time).
INSIDE_READ = [
    ("snarl.threaddump.collect", "read_frames"),
    ("snarl.threaddump.waits", "_read_wait"),
    ("snarl.threaddump.waits", "_classify_call"),
    ("snarl.threaddump.waits", "_Frames.eval"),
    ("snarl.threaddump.waits", "resolve"),
    ("snarl.threaddump.waits", "get_attr"),
    ("snarl.threaddump.waits", "Held"),
    ("snarl.threaddump.waits", "Reading"),
]


def _load_snarl() -> Any:
    repo_src()
    import snarl

    return snarl


def median_ms(fn: Callable[[], Any], rounds: int) -> tuple[float, list[float]]:
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times), times


# ---- 1. GC ------------------------------------------------------------------------------------


class GCWatch:
    """Counts collections per generation and their time, per labelled phase, via gc.callbacks.

    One callback stays installed for the whole measurement; the phase is switched by plain
    attribute assignment, which allocates nothing that could itself trigger a collection.
    """

    def __init__(self) -> None:
        self.phase = "other"
        self.count: dict[str, list[int]] = {}
        self.seconds: dict[str, float] = {}
        self._start = 0.0

    def __call__(self, event: str, info: dict[str, int]) -> None:
        if event == "start":
            self._start = time.perf_counter()
            return
        elapsed = time.perf_counter() - self._start
        counts = self.count.setdefault(self.phase, [0, 0, 0])
        counts[info["generation"]] += 1
        self.seconds[self.phase] = self.seconds.get(self.phase, 0.0) + elapsed


def gc_section(snarl: Any, rounds: int) -> None:
    print("== 1. Cyclic GC")
    print(f"   gc thresholds {gc.get_threshold()}, tracked objects now {len(gc.get_objects()):,}")
    # Interleaved rounds (enabled, disabled, enabled, ...) so that drift hits both alike.
    on_times, off_times = [], []
    gc.collect()
    for _ in range(rounds):
        for enabled, times in ((True, on_times), (False, off_times)):
            if not enabled:
                gc.disable()
            try:
                t0 = time.perf_counter()
                snarl.snapshot()
                times.append((time.perf_counter() - t0) * 1000)
            finally:
                gc.enable()
    on, off = statistics.median(on_times), statistics.median(off_times)
    print(f"   snapshot() median, gc enabled:             {on:8.2f} ms")
    print(f"   snapshot() median, gc disabled by caller:  {off:8.2f} ms   ({on - off:+.2f} ms)")

    # Where collections actually run: inside snapshot(), just after it returns (a collection
    # deferred by a gc.disable() inside snapshot runs at the first allocation after it), and in
    # the text render.  One callback, phases switched by assignment.
    watch = GCWatch()
    gc.collect()
    gc.callbacks.append(watch)
    try:
        for _ in range(rounds):
            watch.phase = "snapshot()"
            snap = snarl.snapshot()
            watch.phase = "first allocation after it"
            probe = [None]
            watch.phase = 'format_dump(snap, "text")'
            snarl.format_dump(snap, "text")
            watch.phase = "other"
            del snap, probe
    finally:
        gc.callbacks.remove(watch)
    for phase in ("snapshot()", "first allocation after it", 'format_dump(snap, "text")'):
        c = watch.count.get(phase, [0, 0, 0])
        ms = watch.seconds.get(phase, 0.0) * 1000 / rounds
        print(
            f"   collections in {phase:<27} gen0/1/2 = {c[0]:>3}/{c[1]:>3}/{c[2]:>3}"
            f" over {rounds} rounds = {ms:6.2f} ms per round"
        )
    # The cost of one full collection with these threads alive, for scale.
    t0 = time.perf_counter()
    gc.collect()
    print(f"   one gc.collect() (all generations) now: {(time.perf_counter() - t0) * 1000:.2f} ms")
    print()


# ---- 2. primitives ---------------------------------------------------------------------------


def primitives_section(parked: Parked, rounds: int) -> None:
    print("== 2. Primitives (a floor for any pure-Python snapshot), median ms, gc disabled")
    idents = [t.ident for t in parked.threads]

    def current_frames() -> None:
        sys._current_frames()

    def walk() -> None:
        frames = sys._current_frames()
        for top in frames.values():
            stack = []
            f = top
            while f is not None:
                stack.append(f)
                f = f.f_back

    def signatures() -> None:
        frames = sys._current_frames()
        seen: dict[tuple[tuple[int, int], ...], int] = {}
        for top in frames.values():
            stack = []
            f = top
            while f is not None:
                stack.append(f)
                f = f.f_back
            key = tuple([(id(x.f_code), x.f_lasti) for x in stack])
            seen[key] = seen.get(key, 0) + 1

    def f_locals(count: int) -> Callable[[], None]:
        def run() -> None:
            frames = sys._current_frames()
            for ident in idents:
                f = frames.get(ident)
                for _ in range(count):
                    if f is None:
                        break
                    f.f_locals  # noqa: B018 - the read is what is timed
                    f = f.f_back

        return run

    rows = [
        ("sys._current_frames()", current_frames),
        ("+ walk f_back of every thread", walk),
        ("+ (id(code), f_lasti) signature per stack", signatures),
        ("_current_frames + f_locals of top frame", f_locals(1)),
        ("_current_frames + f_locals of top 3 frames", f_locals(3)),
    ]
    gc.disable()  # as inside snapshot(): no collection triggered by these allocations
    try:
        for _, fn in rows:  # warm up: specialisation, allocator arenas
            fn()
        times: dict[str, list[float]] = {label: [] for label, _ in rows}
        for _ in range(rounds):  # interleaved, so that drift hits every row alike
            for label, fn in rows:
                t0 = time.perf_counter()
                fn()
                times[label].append((time.perf_counter() - t0) * 1000)
    finally:
        gc.enable()
    for label, _ in rows:
        print(f"   {label:<44} {statistics.median(times[label]):8.2f}")
    print()


# ---- 3. perf_counter instrumentation -------------------------------------------------------


class Timers:
    """Replaces functions by timing wrappers; restores them on exit.

    Each label gets [inclusive seconds, calls, self seconds]: self time excludes the time of
    other wrapped functions it called, so self times add up without counting anything twice.
    """

    def __init__(self, targets: list[tuple[str, str]]) -> None:
        self.targets = targets
        self.stats: dict[str, list[float]] = {}
        self.skipped: list[str] = []
        self._undo: list[tuple[Any, str, Any]] = []
        self._children: list[float] = []

    def __enter__(self) -> Timers:
        for module_name, dotted in self.targets:
            label = dotted
            try:
                owner: Any = importlib.import_module(module_name)
                *path, attr = dotted.split(".")
                for part in path:
                    owner = getattr(owner, part)
                original = owner.__dict__[attr] if isinstance(owner, type) else getattr(owner, attr)
            except (AttributeError, KeyError, ImportError):
                self.skipped.append(f"{module_name}.{dotted}")
                continue
            stat = self.stats.setdefault(label, [0.0, 0, 0.0])
            self._undo.append((owner, attr, original))
            setattr(owner, attr, _timed(original, stat, self._children))
        return self

    def __exit__(self, *exc: object) -> None:
        for owner, attr, original in reversed(self._undo):
            setattr(owner, attr, original)
        self._undo.clear()

    def reset(self) -> None:
        for stat in self.stats.values():
            stat[0], stat[1], stat[2] = 0.0, 0, 0.0


def _timed(fn: Any, stat: list[float], children: list[float]) -> Any:
    clock = time.perf_counter

    def timed(*args: Any, **kwargs: Any) -> Any:
        children.append(0.0)
        t0 = clock()
        try:
            return fn(*args, **kwargs)
        finally:
            elapsed = clock() - t0
            inner = children.pop()
            stat[0] += elapsed
            stat[1] += 1
            stat[2] += elapsed - inner
            if children:
                children[-1] += elapsed

    return timed


def _wrapper_overhead_us() -> float:
    """Cost of one timing wrapper around an empty function, in microseconds."""
    empty = _timed(lambda: None, [0.0, 0, 0.0], [])
    plain = lambda: None  # noqa: E731
    n = 200_000
    t0 = time.perf_counter()
    for _ in range(n):
        plain()
    t1 = time.perf_counter()
    for _ in range(n):
        empty()
    t2 = time.perf_counter()
    return ((t2 - t1) - (t1 - t0)) / n * 1e6


def instrument_section(snarl: Any, rounds: int, n_threads: int) -> None:
    print("== 3. perf_counter instrumentation (per snapshot, median of rounds' totals)")
    overhead = _wrapper_overhead_us()
    print(f"   wrapper overhead ~{overhead:.2f} us per call (included in the figures below)")
    bare, _ = median_ms(snarl.snapshot, rounds)
    print(f"   snapshot() without wrappers: {bare:.2f} ms")
    import snarl.threaddump.collect as collect

    # sys._current_frames is reached through the sys module: time it through a shim module.
    collect_sys = collect.sys
    collect._current_frames = collect_sys._current_frames  # type: ignore[attr-defined]
    for title, targets in (("phases", PHASES), ("inside read_frames", INSIDE_READ)):
        with Timers(targets) as timers:
            if title == "phases" and "_current_frames" in timers.stats:
                shim = _SysShim(collect_sys, collect._current_frames)  # type: ignore[attr-defined]
                collect.sys = shim  # type: ignore[assignment]
            try:
                incl: dict[str, list[float]] = {k: [] for k in timers.stats}
                own: dict[str, list[float]] = {k: [] for k in timers.stats}
                calls: dict[str, int] = {}
                totals = []
                for _ in range(rounds):
                    timers.reset()
                    t0 = time.perf_counter()
                    snarl.snapshot()
                    totals.append((time.perf_counter() - t0) * 1000)
                    for k, (sec, count, self_sec) in timers.stats.items():
                        incl[k].append(sec * 1000)
                        own[k].append(self_sec * 1000)
                        calls[k] = int(count)
            finally:
                collect.sys = collect_sys  # type: ignore[assignment]
        total = statistics.median(totals)
        print(f"   -- {title}: snapshot() with these wrappers {total:.2f} ms")
        print(f"      {'function':<28} {'inclusive':>9}  {'self':>8} {'self %':>6}   calls")
        accounted = 0.0
        for k in timers.stats:
            med, med_self = statistics.median(incl[k]), statistics.median(own[k])
            accounted += med_self
            print(
                f"      {k:<28} {med:9.2f}  {med_self:8.2f} {100 * med_self / total:5.1f}%"
                f"   {calls[k]:>7,} ({calls[k] / n_threads:.1f}/thread)"
            )
        wrapped_calls = sum(calls.values())
        cost = wrapped_calls * overhead / 1000
        rest = total - accounted - cost
        print(
            f"      {'(rest of snapshot)':<28} {'':>9}  {rest:8.2f} {100 * rest / total:5.1f}%"
            f"   (less ~{cost:.2f} ms overhead of {wrapped_calls:,} wrapped calls)"
        )
        if timers.skipped:
            print(f"      skipped (not found): {', '.join(timers.skipped)}")
    del collect._current_frames  # type: ignore[attr-defined]
    print()


class _SysShim:
    """``sys`` as collect sees it, with ``_current_frames`` replaced by a timed one."""

    def __init__(self, real: Any, current_frames: Any) -> None:
        self._real = real
        self._current_frames = current_frames

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


# ---- 4. cProfile -------------------------------------------------------------------------------


def cprofile_section(snarl: Any, rounds: int, top: int) -> None:
    print(f"== 4. cProfile, {rounds} snapshots (times include profiler overhead)")
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(rounds):
        snarl.snapshot()
    profiler.disable()
    for key in ("tottime", "cumulative"):
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out)
        stats.strip_dirs().sort_stats(key).print_stats(top)
        text = out.getvalue()
        start = text.find("   ncalls")
        print(f"   -- sorted by {key}")
        print(text[start:].rstrip() if start >= 0 else text.rstrip())
        print()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--threads", type=int, default=1000, help="parked threads (1000)")
    parser.add_argument("--rounds", type=int, default=21, help="timed rounds per figure (21)")
    parser.add_argument("--profile-rounds", type=int, default=10, help="cProfile snapshots (10)")
    parser.add_argument("--top", type=int, default=25, help="cProfile rows to print (25)")
    args = parser.parse_args(argv)
    snarl = _load_snarl()
    print(f"Python {sys.version.split()[0]}; {args.threads} threads parked {DEPTH} frames deep")
    print()
    with Parked(args.threads) as parked:
        for _ in range(3):  # warm the per-code bytecode caches
            snarl.snapshot()
        gc_section(snarl, args.rounds)
        primitives_section(parked, args.rounds)
        instrument_section(snarl, args.rounds, args.threads)
        cprofile_section(snarl, args.profile_rounds, args.top)
    return 0


if __name__ == "__main__":
    sys.exit(main())
