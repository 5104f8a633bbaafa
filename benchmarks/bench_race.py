#!/usr/bin/env python3
"""What race detection costs: each workload of ``race_workloads.py`` native, then instrumented.

Workloads (4 threads unless said; the module is instrumented in place by ``snarl.races()``):

1. ``attributes``: each thread updates its own object's attributes (3 accesses a line);
2. ``dicts``: each thread counts words in its own dict (a read, a ``get``, a store; the dict
   never leaves its frame, so only the shared word list is checked);
3. ``shared_dicts``: threads look words up in a shared table and write their own keys of a
   shared dict: every access checked (the slowest common case);
4. ``pool``: 20k tiny tasks through ``ThreadPoolExecutor(4).map``;
5. ``locks``: a shared counter under one Lock;
6. memory: 1M objects created and written by 4 threads, peak traced memory (tracemalloc)
   with and without the detector.

Times are the fastest of interleaved samples (the least disturbed by other load); the ratio
is instrumented / native.  Run from anywhere (snarl is imported from this checkout's ``src``):

    python benchmarks/bench_race.py [--repeat 5] [--quick] [--no-memory]
"""

from __future__ import annotations

import argparse
import gc
import platform
import sys
import time
import tracemalloc
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[0] / "src"))
sys.path.insert(0, str(HERE))

import race_workloads as w  # noqa: E402

import snarl.race  # noqa: E402

WORKLOADS = {
    "attributes": 100_000,
    "dicts": 100_000,
    "shared_dicts": 100_000,
    "pool": 20_000,
    "locks": 50_000,
}


def timed(fn, n: int, detect: bool) -> float:
    if detect:
        with snarl.race.races(w) as r:
            t0 = time.perf_counter()
            fn(n)
            dt = time.perf_counter() - t0
        assert not r.found, r.text()
        return dt
    t0 = time.perf_counter()
    fn(n)
    return time.perf_counter() - t0


def memory(n: int, detect: bool) -> float:
    gc.collect()
    tracemalloc.start()
    if detect:
        with snarl.race.races(w):
            kept = w.objects(n)
            peak = tracemalloc.get_traced_memory()[1]
    else:
        kept = w.objects(n)
        peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    del kept
    return peak / 1e6


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--quick", action="store_true", help="a tenth of the work, 3 samples")
    ap.add_argument("--no-memory", action="store_true")
    args = ap.parse_args()
    scale = 10 if args.quick else 1
    repeat = 3 if args.quick else args.repeat
    gil = getattr(sys, "_is_gil_enabled", lambda: True)()
    print(f"CPython {platform.python_version()} GIL {'on' if gil else 'off'}")
    print(f"{'workload':<13} {'native ms':>10} {'detector ms':>12} {'ratio':>7}")
    for name, n in WORKLOADS.items():
        fn = getattr(w, name)
        n //= scale
        native, detected = [], []
        for _ in range(repeat):
            native.append(timed(fn, n, False))
            detected.append(timed(fn, n, True))
        a, b = min(native) * 1e3, min(detected) * 1e3
        print(f"{name:<13} {a:>10.1f} {b:>12.1f} {b / a:>6.1f}x")
    if not args.no_memory:
        n = 1_000_000 // scale
        base, det = memory(n, False), memory(n, True)
        print(f"memory, {n} objects: native peak {base:.0f} MB, detector {det:.0f} MB "
              f"(+{det - base:.0f} MB, {(det - base) * 1e6 / n:.0f} B/object)")  # fmt: skip


if __name__ == "__main__":
    main()
