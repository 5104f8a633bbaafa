#!/usr/bin/env python3
"""How to offer the GIL: does a waiting thread really run at the offer, and at what cost?

The check-interval emulation makes the running thread *offer* the GIL every N bytecodes.  An
offer is only useful if a thread waiting for the GIL actually gets it.  For each candidate
mechanism, one thread (the waiter) spins on a counter, wanting the GIL all the time, while the
main thread runs a short loop between offers.  For snarl's own handoff
(:mod:`snarl.interval.offer`) the waiter also acknowledges offers, as the counting hook does.
Each offer is a *handover* when the waiter's counter moved during the offer; the handover rate
and the cost of an offer (alone, and with a waiter) are reported as medians over ``--rounds``
rounds of ``--offers`` offers.  "Cost, waiter" includes the time the waiter then runs before
it gives the GIL back (its switch interval, 5 ms, for the candidates that cannot be told).

    python benchmarks/bench_offer.py [--offers 2000] [--rounds 5] [--work 200]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

_sleep = time.sleep


def sleep0() -> None:
    _sleep(0)


def sleep_1us() -> None:
    _sleep(1e-6)


_never = threading.Lock()
_never.acquire()


def lock_wait_10us() -> None:
    _never.acquire(timeout=1e-5)


sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from snarl.interval.offer import Handoff  # noqa: E402

HANDOFF = Handoff()


def snarl_handoff() -> None:
    HANDOFF.offer()


CANDIDATES: dict[str, Callable[[], None]] = {
    "time.sleep(0)": sleep0,
    "os.sched_yield()": os.sched_yield,
    "time.sleep(1e-6)": sleep_1us,
    "lock wait 10 us": lock_wait_10us,
    "snarl handoff": snarl_handoff,
}


def run(offer: Callable[[], None], offers: int, work: int, waiter: bool) -> tuple[float, float]:
    """(handover rate, seconds per offer) for one round."""
    progress = [0]
    stop = [False]
    started = threading.Event()

    global HANDOFF
    HANDOFF = Handoff()  # each round starts fresh, as each emulation does
    handoff = HANDOFF if offer is snarl_handoff else None

    def spin() -> None:
        started.set()
        while not stop[0]:
            progress[0] += 1
            if handoff is not None and handoff.pending is not None:
                handoff.ack()  # what the counting hook does in the thread that runs next

    t = threading.Thread(target=spin, daemon=True) if waiter else None
    if t is not None:
        t.start()
        started.wait()
    handed = 0
    spent = 0.0
    clock = time.perf_counter
    for _ in range(offers):
        for _ in range(work):  # the running thread's own bytecodes between offers
            pass
        before = progress[0]
        t0 = clock()
        offer()
        spent += clock() - t0
        if progress[0] != before:
            handed += 1
    stop[0] = True
    if t is not None:
        t.join()
    return handed / offers, spent / offers


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--offers", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--work", type=int, default=200, help="loop iterations between offers")
    args = parser.parse_args()
    sys.setswitchinterval(0.005)
    print(
        f"snarl bench_offer · {platform.python_implementation()} {platform.python_version()} · "
        f"{os.cpu_count()} CPUs · {args.rounds} rounds of {args.offers} offers"
    )
    print(f"{'mechanism':<20}{'handover':>10}{'cost, waiter':>16}{'cost, alone':>15}")
    for name, offer in CANDIDATES.items():
        rates, with_waiter, alone = [], [], []
        for _ in range(args.rounds):
            rate, cost = run(offer, args.offers, args.work, waiter=True)
            rates.append(rate)
            with_waiter.append(cost)
            alone.append(run(offer, args.offers, args.work, waiter=False)[1])
        print(
            f"{name:<20}{statistics.median(rates):>9.0%}"
            f"{statistics.median(with_waiter) * 1e6:>13.1f} us"
            f"{statistics.median(alone) * 1e6:>12.2f} us"
        )


if __name__ == "__main__":
    main()
