"""Join under a lock: the main thread joins a worker while holding a lock the worker needs.

Bug: if main takes the lock before the worker does, the worker blocks on it and main waits in
``join()`` forever.  Fix: release the lock before joining.  Not in workers form: the test
thread itself starts and joins the worker (frontrun starts its workers itself, and cannot
control a thread a worker starts).
"""

from __future__ import annotations

import threading

GRANULARITY = "sync"
SWITCH = "the lock acquire, thread start"
EXPECT = "deadlock"
BUGGY = FIXED = None
WHY_NOT_WORKERS = "the test thread starts and joins the worker itself"


def buggy() -> None:
    lock = threading.Lock()
    log: list[str] = []

    def worker() -> None:
        with lock:
            log.append("worker")

    t = threading.Thread(target=worker, name="worker")
    t.start()
    with lock:
        log.append("main")
        t.join()  # the worker may be waiting for the lock held here
    assert sorted(log) == ["main", "worker"]


def fixed() -> None:
    lock = threading.Lock()
    log: list[str] = []

    def worker() -> None:
        with lock:
            log.append("worker")

    t = threading.Thread(target=worker, name="worker")
    t.start()
    with lock:
        log.append("main")
    t.join()
    assert sorted(log) == ["main", "worker"]
