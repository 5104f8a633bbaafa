#!/usr/bin/env python3
"""What a timeline recording costs, on top of tracking: ``snarl.record()`` against ``install()``.

Workloads (each timed as interleaved samples; medians of wall time and of the process's CPU
time, with the ratios recording / tracking-only; the target is at most 1.5x).  The handoff
workloads' wall time is mostly the kernel waking threads, which a loaded machine makes noisy;
their CPU time is what the recorder adds work to:

1. lock relay: 4 threads pass the turn around a ring 20,000 times: thread i waits on its
   Lock until thread i-1 releases it, then releases thread i+1's.  Every acquisition waits
   and is handed over by another thread: the worst case for the recorder, which records
   each wait and who released it;
2. ``ThreadPoolExecutor(4)``: 10,000 tiny tasks, each ``submit`` then ``result`` (the main
   thread waits on every Future's Condition: a recorded wait per task);
3. an uncontended ``with lock: pass`` in one thread, 200,000 times: the path the recorder never
   touches (the ratio should be 1.0).

Modes: ``native`` (threading's own primitives, for reference), ``tracked``
(``snarl.install()``), ``recording`` (``snarl.install()`` plus ``snarl.timeline.record()``,
the default ring of 100,000 events; a new recording per sample).

Run it from anywhere; snarl is imported from this checkout's ``src`` directory:

    python benchmarks/bench_timeline.py [--repeat 9] [--quick] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import snarl
from snarl.timeline import record

MODES = ("native", "tracked", "recording")

Timing = tuple[float, float]  # (wall seconds, CPU seconds of the whole process)


def _now() -> Timing:
    return time.perf_counter(), time.process_time()


def _since(began: Timing) -> Timing:
    return time.perf_counter() - began[0], time.process_time() - began[1]


def relay(threads: int = 4, handoffs: int = 20_000) -> Callable[[], Timing]:
    """``threads`` threads passing the turn around a ring of Locks, ``handoffs`` times: each
    acquisition waits for another thread's release."""
    rounds = handoffs // threads

    def run() -> Timing:
        turns = [threading.Lock() for _ in range(threads)]
        for lock in turns:
            lock.acquire()  # every turn is taken: a thread waits until its turn is released

        def worker(i: int) -> None:
            mine, theirs = turns[i], turns[(i + 1) % threads]
            for _ in range(rounds):
                mine.acquire()
                theirs.release()

        workers = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
        for t in workers:
            t.start()
        began = _now()
        turns[0].release()  # the first turn
        for t in workers:
            t.join()
        return _since(began)

    return run


def pool(tasks: int = 10_000) -> Callable[[], Timing]:
    """``ThreadPoolExecutor(4)``: ``submit`` then ``result`` for each of ``tasks`` tasks."""

    def run() -> Timing:
        with ThreadPoolExecutor(4) as executor:
            executor.submit(int).result()  # the first worker is up before timing
            began = _now()
            for i in range(tasks):
                executor.submit(abs, i).result()
            return _since(began)

    return run


def uncontended(n: int = 200_000) -> Callable[[], Timing]:
    """``with lock: pass`` ``n`` times in one thread."""

    def run() -> Timing:
        lock = threading.Lock()
        began = _now()
        for _ in range(n):
            with lock:
                pass
        return _since(began)

    return run


def sample(mode: str, workload: Callable[[], Timing]) -> tuple[Timing, int, int]:
    """One timed run in ``mode``: ((wall, CPU) seconds, events recorded, events dropped)."""
    if mode == "native":
        return workload(), 0, 0
    with snarl.sync.install():
        if mode == "tracked":
            return workload(), 0, 0
        with record() as rec:
            timing = workload()
        return timing, len(rec.events), rec.dropped


def measure(name: str, workload: Callable[[], Timing], repeat: int) -> dict[str, object]:
    """Interleaved samples of every mode; medians and the recording / tracked ratios."""
    wall: dict[str, list[float]] = {m: [] for m in MODES}
    cpu: dict[str, list[float]] = {m: [] for m in MODES}
    events = dropped = 0
    for mode in MODES:  # one warm-up each
        sample(mode, workload)
    for i in range(repeat):
        order = MODES[i % 3 :] + MODES[: i % 3]
        for mode in order:
            (w, c), n, d = sample(mode, workload)
            wall[mode].append(w)
            cpu[mode].append(c)
            if mode == "recording":
                events, dropped = n, d
    medians = {m: statistics.median(v) for m, v in wall.items()}
    cpu_medians = {m: statistics.median(v) for m, v in cpu.items()}
    ratio = medians["recording"] / medians["tracked"]
    cpu_ratio = cpu_medians["recording"] / cpu_medians["tracked"]
    print(
        f"{name:<24} wall: native {medians['native'] * 1e3:6.1f}  "
        f"tracked {medians['tracked'] * 1e3:6.1f}  recording {medians['recording'] * 1e3:6.1f} ms"
        f"  {ratio:4.2f}x   CPU: tracked {cpu_medians['tracked'] * 1e3:6.1f}  "
        f"recording {cpu_medians['recording'] * 1e3:6.1f} ms  {cpu_ratio:4.2f}x"
        f"   ({events} events, {dropped} dropped)"
    )
    return {
        "name": name,
        "median_wall_s": medians,
        "median_cpu_s": cpu_medians,
        "samples_wall_s": wall,
        "samples_cpu_s": cpu,
        "ratio_recording_to_tracked_wall": ratio,
        "ratio_recording_to_tracked_cpu": cpu_ratio,
        "events": events,
        "dropped": dropped,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=9, help="samples per mode (default 9)")
    parser.add_argument("--quick", action="store_true", help="small workloads, 3 samples")
    parser.add_argument("--json", metavar="PATH", help="write the figures as JSON")
    args = parser.parse_args()
    repeat = 3 if args.quick else args.repeat
    scale = 10 if args.quick else 1
    print(
        f"snarl timeline recording, {platform.python_implementation()} "
        f"{platform.python_version()}, {repeat} samples per mode (medians)"
    )
    results = [
        measure("lock relay, 4 threads", relay(handoffs=20_000 // scale), repeat),
        measure("ThreadPoolExecutor(4)", pool(10_000 // scale), repeat),
        measure("uncontended with lock", uncontended(200_000 // scale), repeat),
    ]
    if args.json:
        out = {
            "python": platform.python_version(),
            "repeat": repeat,
            "results": results,
        }
        Path(args.json).write_text(json.dumps(out, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
