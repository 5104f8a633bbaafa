"""A dump's stacks are each one instant of their thread: never a frame above a line that no
longer calls it (a torn stack), and nothing left behind for the garbage collector."""

from __future__ import annotations

import gc
import os
import threading
import types

import snarl

from ..helpers import JOIN_TIMEOUT, blocked, line_in

HERE = __file__
SNAPSHOTS = 1000


def inner(n: int) -> int:
    total = 0
    for i in range(n):
        total += i
    return total


def spin(stop: list[bool], ready: threading.Event) -> None:
    ready.set()
    while not stop:  # (no call: the only callee is inner)
        inner(200)
        inner(300)


def test_a_running_threads_stack_is_never_torn(threads):
    # Parked threads make the walk of every stack long enough for the interpreter to switch
    # to the spinning thread in the middle of it (it is walked last, having started last).
    gate = threading.Event()
    parked = [threads.start(gate.wait, JOIN_TIMEOUT, name=f"parked-{i}") for i in range(200)]
    threads.on_teardown(gate.set)
    blocked(*parked)
    stop: list[bool] = []
    ready = threading.Event()
    spinner = threads.start(spin, stop, ready, name="spinner")
    threads.on_teardown(lambda: stop.append(True))
    assert ready.wait(JOIN_TIMEOUT)
    first, second = line_in(HERE, "spin", "inner(200)"), line_in(HERE, "spin", "inner(300)")
    for _ in range(SNAPSHOTS):
        frames = snarl.snapshot().thread(spinner).frames
        if frames[0].function == "inner":  # inside inner(): its caller's line calls it
            assert frames[1].function == "spin"
            assert frames[1].lineno in (first, second), frames[:2]
        else:
            assert frames[0].function == "spin", frames[:2]


_SNARL_DIR = os.path.dirname(os.path.abspath(snarl.__file__))


def _snarls(o: object) -> bool:
    """A frame of snarl's code, or an object of one of snarl's classes."""
    if isinstance(o, types.FrameType):
        return o.f_code.co_filename.startswith(_SNARL_DIR)
    return type(o).__module__.startswith("snarl")


def test_a_snapshot_leaves_no_cycle_for_the_collector(threads):
    gate = threading.Event()
    t = threads.start(gate.wait, JOIN_TIMEOUT, name="parked")
    threads.on_teardown(gate.set)
    blocked(t)
    was = gc.isenabled()
    gc.disable()
    gc.collect()
    gc.set_debug(gc.DEBUG_SAVEALL)  # what the next collection finds stays in gc.garbage
    try:
        snarl.snapshot()
        gc.collect()
        # No frame or snarl object kept alive by a cycle until a collection.  Only those are
        # counted: other threads (free-threaded builds run them meanwhile) may leave cycles of
        # their own, which are not the snapshot's (3.13t CI once collected 116 objects here).
        leaked = [o for o in gc.garbage if _snarls(o)]
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        if was:
            gc.enable()
    assert leaked == []
