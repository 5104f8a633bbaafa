"""A hand-made snapshot that uses every field of the model, for model and renderer tests."""

from __future__ import annotations

from snarl import (
    Deadlock,
    DeadlockStep,
    FrameInfo,
    HeldLock,
    Holder,
    ObjectInfo,
    Snapshot,
    ThreadInfo,
    WaitInfo,
)

LOCK_A = ObjectInfo("_thread.lock", 0x1000, "lock_a", True)
LOCK_B = ObjectInfo("_thread.lock", 0x2000, "lock_b", True)
RLOCK = ObjectInfo("_thread.RLock", 0x3000, "self._state_lock", True)
FRAME_AB = FrameInfo("/app/work.py", 23, "worker_ab", "with lock_b:")
FRAME_BA = FrameInfo("/app/work.py", 30, "worker_ba", "with lock_a:")
BOOT = FrameInfo("/usr/lib/python3/threading.py", 1002, "Thread._bootstrap", "self.run()")


def wait_for(obj: ObjectInfo, frame: FrameInfo, holder: Holder) -> WaitInfo:
    return WaitInfo(
        "lock",
        obj,
        f"with {obj.name}",
        frame.filename,
        frame.lineno,
        frame.function,
        frame.source,
        (holder,),
    )


def sample() -> Snapshot:
    """A snapshot using every field: an ABBA deadlock, a _thread thread, locals, None values."""
    holder_ab = Holder(101, "worker-AB", True, "with-block", "/app/work.py", 21)
    holder_ba = Holder(102, "worker-BA", True, "with-block", "/app/work.py", 28)
    wait_ab = wait_for(LOCK_B, FRAME_AB, holder_ba)
    wait_ba = wait_for(LOCK_A, FRAME_BA, holder_ab)
    sleeper_wait = WaitInfo(
        "sleep", None, "time.sleep", "/app/s.py", 5, "nap", "time.sleep(3600)", (), 12.5
    )
    main_frames = (
        FrameInfo("/app/main.py", 40, "main", "snarl.dump()", (("x", "1"), ("name", "'m'"))),
        FrameInfo("<frozen runpy>", None, "_run_code", ""),
    )
    threads = (
        ThreadInfo("MainThread", 100, 5000, False, True, True, "threading", "running", None,
                   main_frames, (HeldLock(RLOCK, "rlock-owner", "/app/main.py", 39),)),
        ThreadInfo("worker-AB", 101, 5001, True, False, False, "threading", "waiting", wait_ab,
                   (FRAME_AB, BOOT), (HeldLock(LOCK_A, "with-block", "/app/work.py", 21),)),
        ThreadInfo("worker-BA", 102, 5002, True, False, False, "threading", "waiting", wait_ba,
                   (FRAME_BA, BOOT), (HeldLock(LOCK_B, "with-block", "/app/work.py", 28),)),
        ThreadInfo(None, 103, None, None, False, False, "_thread", "sleeping", sleeper_wait,
                   (FrameInfo("/app/s.py", 5, "nap", "time.sleep(3600)"),)),
        ThreadInfo("Dummy-1", 104, 5004, True, False, False, "dummy", "running", None,
                   (FrameInfo("/app/c.py", 9, "busy", "np.dot(a, b)"),), (), "np.dot"),
        ThreadInfo("ghost", 105, None, False, False, False, "threading", "unknown", None, ()),
    )  # fmt: skip
    deadlock = Deadlock(
        (
            DeadlockStep(101, "worker-AB", wait_ab, holder_ba),
            DeadlockStep(102, "worker-BA", wait_ba, holder_ab),
        )
    )
    return Snapshot(
        pid=5000,
        python="3.11.7",
        implementation="CPython",
        build="default",
        gil_enabled=True,
        switch_interval=0.005,
        taken_at=1_700_000_000.25,
        duration=0.0004,
        tracked=False,
        threads=threads,
        deadlocks=(deadlock,),
    )
