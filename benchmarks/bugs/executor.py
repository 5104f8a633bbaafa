"""Pool starvation: tasks of a ``ThreadPoolExecutor`` wait on sub-tasks they submit to it.

Bug: two requests run on a pool of two workers, and each submits a lookup to the same pool and
waits for its result.  If the test thread submits the second request before the first one has
submitted its lookup, both workers are taken by requests that wait on lookups queued behind
them, which no worker is free to run: deadlock.  Fix: the lookups go to a pool of their own.
Not in workers form: the executor starts its worker threads itself.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

GRANULARITY = "sync"
SWITCH = "the executor's work queue, worker thread start, Future.result()"
EXPECT = "deadlock"
CLASS = "executor"
BUGGY = FIXED = None
WHY_NOT_WORKERS = "the executor starts its worker threads itself"
KEYS = ("alpha", "beta")


def lookup(key: str) -> int:
    return len(key)


def handle(subpool: ThreadPoolExecutor, key: str) -> int:
    future = subpool.submit(lookup, key)
    return future.result()  # waits for a worker of subpool


def buggy() -> None:
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="pool") as pool:
        requests = [pool.submit(handle, pool, key) for key in KEYS]  # lookups to the same pool
        results = [r.result() for r in requests]
    assert results == [5, 4], f"results = {results}"


def fixed() -> None:
    with (
        ThreadPoolExecutor(max_workers=2, thread_name_prefix="pool") as pool,
        ThreadPoolExecutor(max_workers=2, thread_name_prefix="lookups") as lookups,
    ):
        requests = [pool.submit(handle, lookups, key) for key in KEYS]
        results = [r.result() for r in requests]
    assert results == [5, 4], f"results = {results}"
