#!/usr/bin/env python3
"""The check-interval emulation: what counting costs, and how the seed demo interleaves.

1. Slowdown: a pure-Python function run with the emulation on (interval 100, no other thread,
   so an offer has no one to hand to and does nothing) against the same function with it off,
   medians over ``--repeat`` interleaved samples; then again beside an idle thread (blocked on
   a lock), where every offer is made and costs the handoff's cheap path.  Two loops:
   "empty" (``for j in range(n): pass``, the worst case: one event per 3 instructions) and
   "typical" (arithmetic, a branch, a list append and a call per iteration).
2. Interleaving: the seed document's Queue demo (3 threads x 5 names, ``extra`` loop
   iterations before each put) for intervals 1, 10, 100, 1000 x extra 0, 1000: distinct
   orders over ``--runs`` runs and the mean number of switches (name changes).  With
   ``--python2 EXECUTABLE`` the original demo also runs under Python 2's real
   ``sys.setcheckinterval``, in the same table.

    python benchmarks/bench_interval.py [--repeat 9] [--runs 20] [--python2 EXECUTABLE]
                                        [--slowdown-only]
"""

from __future__ import annotations

import argparse
import json
import platform
import runpy
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import snarl

INTERVALS = (1, 10, 100, 1000)
EXTRAS = (0, 1000)


def empty_loop(n: int) -> None:
    for _ in range(n):
        pass


def helper(x: int) -> int:
    return x * 3 + 1


def typical_loop(n: int) -> int:
    total = 0
    out: list[int] = []
    for i in range(n):
        if i % 3 == 0:
            total += helper(i)
        else:
            total -= i
        out.append(total & 0xFF)
    return total + len(out)


def timed(fn, n: int) -> float:
    t0 = time.perf_counter()
    fn(n)
    return time.perf_counter() - t0


def slowdown(fn, n: int, repeat: int, interval: int) -> tuple[float, float, float]:
    off, on = [], []
    for _ in range(repeat):
        off.append(timed(fn, n))
        with snarl.checkinterval(interval):
            on.append(timed(fn, n))
    a, b = statistics.median(off), statistics.median(on)
    return a, b, b / a


class IdleThread:
    """Another thread, alive but blocked on a lock: offers are made (someone might want the
    GIL) but nobody takes it, so each costs the handoff's cheap path (a ``sched_yield``)."""

    def __enter__(self) -> IdleThread:
        self.gate = threading.Lock()
        self.gate.acquire()
        self.thread = threading.Thread(target=self.gate.acquire, name="idle", daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.gate.release()
        self.thread.join()


# The seed demo is the bundled example's own code (examples/checkinterval.py).
_EXAMPLE = runpy.run_path(
    str(Path(__file__).resolve().parents[1] / "examples" / "checkinterval.py")
)
demo = _EXAMPLE["queue_demo"]
switches = _EXAMPLE["switches"]


def stats(orders: list[list[str]]) -> tuple[int, float]:
    distinct = len({tuple(o) for o in orders})
    mean = statistics.mean(switches(o) for o in orders)
    return distinct, mean


PY2_DEMO = r"""
import sys, threading, json
from Queue import Queue
def show_thread(q, extra):
    for i in range(5):
        for j in range(extra):
            pass
        q.put(threading.current_thread().name)
def demo(interval, extra):
    sys.setcheckinterval(interval)
    q = Queue()
    ts = [threading.Thread(target=show_thread, name='T%d' % i, args=(q, extra)) for i in range(3)]
    for t in ts: t.start()
    for t in ts: t.join()
    return [q.get() for _ in range(15)]
runs, intervals, extras = json.loads(sys.argv[1])
print(json.dumps(dict(('%d,%d' % (n, e), [demo(n, e) for _ in range(runs)])
                      for n in intervals for e in extras)))
"""


def python2_orders(exe: str, runs: int) -> dict[str, list[list[str]]]:
    out = subprocess.run(
        [exe, "-c", PY2_DEMO, json.dumps([runs, INTERVALS, EXTRAS])],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=9)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--python2", metavar="EXECUTABLE", help="also run the original demo")
    parser.add_argument(
        "--slowdown-only", action="store_true", help="skip the interleaving statistics"
    )
    args = parser.parse_args()
    print(
        f"snarl bench_interval · {platform.python_implementation()} "
        f"{platform.python_version()} · repeat {args.repeat} · runs {args.runs}"
    )
    for name, fn, n in (
        ("empty loop", empty_loop, 300_000),
        ("typical loop", typical_loop, 60_000),
    ):
        off, on, ratio = slowdown(fn, n, args.repeat, 100)
        with IdleThread():
            _, on_idle, ratio_idle = slowdown(fn, n, args.repeat, 100)
        print(
            f"{name:<14} off {off * 1e3:7.2f} ms   interval 100 {on * 1e3:8.2f} ms   {ratio:5.2f}x"
            f"   beside an idle thread {on_idle * 1e3:8.2f} ms   {ratio_idle:5.2f}x"
        )
    if args.slowdown_only:
        return
    py2 = python2_orders(args.python2, args.runs) if args.python2 else {}
    print(f"\n{'interval':>8} {'extra':>6}   snarl: distinct / mean switches", end="")
    print("   python2: distinct / mean switches" if py2 else "")
    for interval in INTERVALS:
        for extra in EXTRAS:
            d, m = stats([demo(interval, extra) for _ in range(args.runs)])
            line = f"{interval:>8} {extra:>6}   {d:>8} / {m:5.1f}"
            if py2:
                d2, m2 = stats(py2[f"{interval},{extra}"])
                line += f"{'':>20}{d2:>8} / {m2:5.1f}"
            print(line)


if __name__ == "__main__":
    main()
