#!/usr/bin/env python3
"""What tracking costs: snarl's primitives against threading's, measured in the same run.

Workloads (each timed as interleaved samples; medians reported with the ratio to native):

1. uncontended ``with lock: pass`` for Lock and RLock: native, snarl (tracking owners and
   sites), snarl with the lock-order validator attached (``install(lockorder=True)``), and two
   pure-Python floors: "forward" only forwards ``__enter__``/``__exit__`` to a C lock (the
   least any Python-level lock costs), "stack" also pushes and pops a per-thread held stack
   (the least a lock-order check costs in Python), in ns per ``with``;
2. ``queue.Queue`` put then get in one thread, the Queue made before and after ``install()``;
3. a Condition ping-pong between two threads (notify, then wait for the reply), per round trip;
4. ``ThreadPoolExecutor(8)`` running 100k tiny tasks (``submit`` then ``result``), wall time,
   native vs installed vs installed with lockorder;
5. four threads taking turns at one Lock (``with lock: counter += 1``), wall time per
   ``with``: contention, where a Python-level lock whose waiters sleep at once makes a lock
   convoy (every later acquire handed over through the OS).

Run it from anywhere; snarl is imported from this checkout's ``src`` directory:

    python benchmarks/bench_locks.py [--repeat 15] [--tasks 100000] [--quick]
"""

from __future__ import annotations

import argparse
import platform
import queue
import statistics
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import snarl

NATIVE_LOCK = threading.Lock
NATIVE_RLOCK = threading.RLock
NATIVE_CONDITION = threading.Condition


class _ForwardingLock:
    """The least any pure-Python lock does: ``with`` forwards to the C lock, records nothing."""

    __slots__ = ("_inner",)

    def __init__(self, inner: object) -> None:
        self._inner = inner

    def __enter__(self) -> bool:
        return self._inner.acquire()  # type: ignore[attr-defined, no-any-return]

    def __exit__(self, *exc: object) -> None:
        self._inner.release()  # type: ignore[attr-defined]


class _StackOnlyLock:
    """The least a pure-Python lock with a per-thread held stack can do (the validator's floor):
    take the C lock, note the owner, push itself; on exit pop itself and release."""

    __slots__ = ("_inner", "_owner")
    _stacks: dict[int, list[object]] = {}

    def __init__(self, inner: object) -> None:
        self._inner = inner
        self._owner: int | None = None

    def __enter__(self) -> bool:
        self._inner.acquire()  # type: ignore[attr-defined]
        me = self._owner = threading.get_ident()
        held = self._stacks.get(me)
        if held is None:
            held = self._stacks[me] = []
        held.append(self)
        return True

    def __exit__(self, *exc: object) -> None:
        held = self._stacks[self._owner]  # type: ignore[index]
        if held[-1] is self:
            held.pop()
        self._owner = None
        self._inner.release()  # type: ignore[attr-defined]


def per_with(lock: object, n: int) -> float:
    """Seconds per uncontended ``with lock: pass``."""
    t0 = time.perf_counter()
    for _ in range(n):
        with lock:  # type: ignore[attr-defined]
            pass
    return (time.perf_counter() - t0) / n


def queue_round(q: queue.Queue[int], n: int) -> float:
    """Seconds per put+get pair in one thread."""
    t0 = time.perf_counter()
    for i in range(n):
        q.put(i)
        q.get()
    return (time.perf_counter() - t0) / n


def ping_pong(make_cond: Callable[[], object], n: int) -> float:
    """Seconds per Condition round trip between two threads."""
    cond = make_cond()
    state = {"turn": 0}

    def other() -> None:
        with cond:  # type: ignore[attr-defined]
            for _ in range(n):
                while state["turn"] != 1:
                    cond.wait()  # type: ignore[attr-defined]
                state["turn"] = 0
                cond.notify()  # type: ignore[attr-defined]

    t = threading.Thread(target=other)
    t.start()
    t0 = time.perf_counter()
    with cond:  # type: ignore[attr-defined]
        for _ in range(n):
            state["turn"] = 1
            cond.notify()  # type: ignore[attr-defined]
            while state["turn"] != 0:
                cond.wait()  # type: ignore[attr-defined]
    elapsed = time.perf_counter() - t0
    t.join()
    return elapsed / n


def pool(tasks: int) -> float:
    """Wall seconds for 8 workers to run ``tasks`` tiny tasks, submitted one by one."""
    t0 = time.perf_counter()
    with ThreadPoolExecutor(8) as ex:
        futures = [ex.submit(abs, i) for i in range(tasks)]
        for f in futures:
            f.result()
    return time.perf_counter() - t0


def contended(lock: object, n: int, threads: int = 4) -> float:
    """Wall seconds per ``with lock`` when ``threads`` threads each do ``n`` of them."""
    box = [0]

    def work() -> None:
        for _ in range(n):
            with lock:  # type: ignore[attr-defined]
                box[0] += 1

    ts = [threading.Thread(target=work) for _ in range(threads)]
    t0 = time.perf_counter()
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return (time.perf_counter() - t0) / (n * threads)


def row(label: str, samples: dict[str, list[float]], unit: float, unit_name: str) -> None:
    native = statistics.median(samples["native"])
    parts = []
    for k, v in samples.items():
        m = statistics.median(v)
        parts.append(f"{k} {m / unit:8.1f} {unit_name} ({m / native:4.2f}x)")
    print(f"{label:<28}" + "   ".join(parts))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--tasks", type=int, default=100_000)
    parser.add_argument("--quick", action="store_true", help="fewer iterations (smoke test)")
    args = parser.parse_args()
    n = 20_000 if args.quick else 200_000
    print(
        f"snarl bench_locks · {platform.python_implementation()} {platform.python_version()} · "
        f"{platform.machine()} · repeat {args.repeat}"
    )

    with snarl.install():
        tracked = {"Lock": threading.Lock(), "RLock": threading.RLock()}
        q_tracked: queue.Queue[int] = queue.Queue()
    natives = {"Lock": NATIVE_LOCK(), "RLock": NATIVE_RLOCK()}
    q_native: queue.Queue[int] = queue.Queue()

    # The validator stays attached while its locks are timed (detached, they would only call
    # no-op hooks).
    with snarl.install(lockorder=True):
        ordered = {"Lock": threading.Lock(), "RLock": threading.RLock()}
        for kind in ("Lock", "RLock"):
            make = {"Lock": NATIVE_LOCK, "RLock": NATIVE_RLOCK}[kind]
            locks = {
                "native": natives[kind],
                "forward": _ForwardingLock(make()),
                "snarl": tracked[kind],
                "stack": _StackOnlyLock(make()),
                "lockorder": ordered[kind],
            }
            samples: dict[str, list[float]] = {name: [] for name in locks}
            for _ in range(args.repeat):
                for name, lock in locks.items():
                    samples[name].append(per_with(lock, n))
            row(f"with {kind}: (uncontended)", samples, 1e-9, "ns")

    samples = {"native": [], "snarl": []}
    for _ in range(args.repeat):
        samples["native"].append(queue_round(q_native, n // 10))
        samples["snarl"].append(queue_round(q_tracked, n // 10))
    row("Queue put+get", samples, 1e-6, "us")

    samples = {"native": [], "snarl": []}
    rounds = n // 100
    for _ in range(args.repeat):
        samples["native"].append(ping_pong(NATIVE_CONDITION, rounds))
        samples["snarl"].append(ping_pong(snarl.sync.Condition, rounds))
    row("Condition ping-pong", samples, 1e-6, "us")

    samples = {"native": [], "snarl": [], "lockorder": []}
    tasks = args.tasks // 10 if args.quick else args.tasks
    for _ in range(max(3, args.repeat // 3)):
        samples["native"].append(pool(tasks))
        with snarl.install():
            samples["snarl"].append(pool(tasks))
        with snarl.install(lockorder=True):
            samples["lockorder"].append(pool(tasks))
    row(f"ThreadPoolExecutor {tasks // 1000}k", samples, 1.0, "s")

    samples = {"native": [], "snarl": []}
    for _ in range(args.repeat):
        samples["native"].append(contended(natives["Lock"], n // 4))
        samples["snarl"].append(contended(tracked["Lock"], n // 4))
    row("with Lock: 4 threads", samples, 1e-9, "ns")


if __name__ == "__main__":
    main()
