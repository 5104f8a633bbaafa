"""Small programs the timeline tests record, and a deadlocking schedule to draw."""

from __future__ import annotations

import threading
from typing import Any

from snarl.exploration import token as tokens
from snarl.exploration.blocked import explain
from snarl.exploration.execution import Exploring, execute
from snarl.exploration.strategies import ReplayScheduler
from snarl.timeline import Recording, Timeline, record, timeline_from_steps

from .helpers import recorded_waiting


def handoff_recording() -> Recording:
    """Three threads: "holder" takes a lock, "waiter" waits for it and gets it from the
    holder, the main thread joins both (a lock wait, a handoff, joins, thread starts)."""
    with record() as rec:
        lock = threading.Lock()
        held = threading.Event()
        go = threading.Event()

        def holder() -> None:
            with lock:
                held.set()
                go.wait()

        def waiter() -> None:
            held.wait()
            with lock:
                pass

        t1 = threading.Thread(target=holder, name="holder")
        t2 = threading.Thread(target=waiter, name="waiter")
        t1.start()
        t2.start()
        recorded_waiting(rec, lock)
        go.set()
        t1.join()
        t2.join()
    return rec


def abba() -> None:
    """Two threads taking two locks in opposite orders (tests/exploration/programs/bugs.py)."""
    lock_a = threading.Lock()
    lock_b = threading.Lock()

    def one() -> None:
        with lock_a, lock_b:
            pass

    def two() -> None:
        with lock_b, lock_a:
            pass

    t1 = threading.Thread(target=one, name="one")
    t2 = threading.Thread(target=two, name="two")
    t1.start()
    t2.start()
    t1.join()
    t2.join()


def deadlock_steps(fn: Any = abba) -> tuple[Any, list[str], set[int], str]:
    """The switch points of a deadlocking schedule of ``fn``, found by the explorer and
    replayed recorded: (steps, thread names, ids in the cycle, the failure's message)."""
    import snarl

    result = snarl.explore(fn, schedules=200, seed=1)
    assert result.failure is not None and result.failure.kind == "deadlock", result
    failure = result.failure
    trace = getattr(failure, "trace", None)  # once the Failure carries its steps
    if trace:
        cycle = {s.thread for d in failure.deadlocks for s in d.steps}
        return list(trace), list(failure.threads), cycle, failure.message
    decoded = tokens.decode(failure.token)
    scheduler = ReplayScheduler(decoded.threads, strict=True)
    scheduler.new_execution()
    with Exploring(decoded.granularity):
        rt = execute(
            fn, scheduler, granularity=decoded.granularity, max_steps=10_000, record_steps=True
        )
    assert rt.outcome is not None and rt.outcome.kind == "blocked"
    why = explain(rt.outcome.blocked, rt.threads)
    cycle = {s.thread for d in why.deadlocks for s in d.steps}
    return list(rt.steps), [t.name for t in rt.threads], cycle, failure.message


def deadlock_timeline(fn: Any = abba, title: str = "deadlock") -> Timeline:
    """The timeline of :func:`deadlock_steps`."""
    steps, names, cycle, message = deadlock_steps(fn)
    return timeline_from_steps(steps, names, title=title, ending=message, deadlocked=cycle)
