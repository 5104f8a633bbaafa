"""``concurrent.futures`` thread pools as a dump sees them: each awaited future's state and
the pool that queued or runs it, and a pool whose every worker waits for a task still queued
in that same pool (it can never progress: a deadlock).

Read without running code: a worker is a thread with a frame of
``concurrent.futures.thread._worker``, whose locals name its pool (a weak reference, called
in C) and its work queue (a ``SimpleQueue``); the queued work items are the queue's referents
as the garbage collector sees them (``gc.get_referents``, C traversal; no method runs), and
each item's future is read from its instance dict.
"""

from __future__ import annotations

import gc
import weakref
from dataclasses import dataclass, field
from types import FrameType
from typing import Any

from .model import FutureState, Holder
from .safe import UNKNOWN, get_attr, instance_dict
from .waits import local, work_item_future
from .waittables import Tables

__all__ = ["Pool", "Pools", "future_state", "read_pools"]

_STATES: dict[str, FutureState] = {
    "PENDING": "pending",
    "RUNNING": "running",
    "CANCELLED": "cancelled",
    "CANCELLED_AND_NOTIFIED": "cancelled",
    "FINISHED": "finished",
}


def future_state(future: Any) -> FutureState | None:
    """A ``concurrent.futures.Future``'s state, read from its instance dict (None if unknown)."""
    state = get_attr(future, "_state")
    return _STATES.get(state) if type(state) is str else None


@dataclass
class Pool:
    """One ThreadPoolExecutor: its name, how many workers it may have, its live workers, and
    the ids of the futures queued in it (not yet taken by a worker)."""

    name: str
    max_workers: int | None
    workers: list[int] = field(default_factory=list)
    queued: set[int] = field(default_factory=set)


@dataclass
class Pools:
    """Every pool seen in a snapshot, by id of its work queue; and for each future a worker
    runs or a queue holds, the pool (and the running worker's ident)."""

    pools: dict[int, Pool] = field(default_factory=dict)
    running: dict[int, tuple[int, Pool]] = field(default_factory=dict)  # future id -> worker
    queued: dict[int, Pool] = field(default_factory=dict)  # future id -> pool

    def pool_of(self, future: Any) -> Pool | None:
        """The pool that queued or runs ``future``, if seen."""
        found = self.running.get(id(future))
        return found[1] if found is not None else self.queued.get(id(future))

    def stalled(self, waits: dict[int, Any]) -> dict[int, tuple[Holder, ...]]:
        """The workers of every pool that can never progress, each with the holders of its
        wait: every worker of the pool (its whole complement, ``max_workers``) waits for a
        future queued in that same pool, so no worker will ever be free to run it.  ``waits``
        maps a thread's ident to the future it waits for."""
        found: dict[int, tuple[Holder, ...]] = {}
        for pool in self.pools.values():
            workers = pool.workers
            if not workers or pool.max_workers is None or len(workers) < pool.max_workers:
                continue  # (a pool short of workers starts one for each task it queues)
            if not all(id(waits.get(w, UNKNOWN)) in pool.queued for w in workers):
                continue
            for i, worker in enumerate(workers):
                ring = workers[i + 1 :] + workers[: i + 1]  # the next worker first
                found[worker] = tuple(Holder(w, None, True, "pool-worker") for w in ring)
        return found


def read_pools(tb: Tables, stacks: dict[int, list[FrameType]]) -> Pools:
    """The pools whose workers are among ``stacks`` (thread ident -> frames, innermost first)."""
    pools = Pools()
    code = tb.worker
    if code is None:
        return pools
    for ident, stack in stacks.items():
        index = next((i for i in range(len(stack) - 1, -1, -1) if stack[i].f_code is code), None)
        if index is None:
            continue
        queue = local(stack, index, "work_queue")
        if queue is UNKNOWN or queue is None:
            continue
        pool = pools.pools.get(id(queue))
        if pool is None:
            pool = pools.pools[id(queue)] = _pool(stack, index, queue)
            for future in _queued_futures(queue):
                pool.queued.add(id(future))
                pools.queued[id(future)] = pool
        pool.workers.append(ident)
        running = work_item_future(tb, stack)
        if running is not UNKNOWN and running is not None:
            pools.running[id(running)] = (ident, pool)
    return pools


def _pool(stack: list[FrameType], index: int, queue: Any) -> Pool:
    ref = local(stack, index, "executor_reference")
    executor = ref() if type(ref) is weakref.ReferenceType else None  # (a C call)
    name = get_attr(executor, "_thread_name_prefix") if executor is not None else UNKNOWN
    most = get_attr(executor, "_max_workers") if executor is not None else UNKNOWN
    return Pool(
        name if type(name) is str and name else f"at {id(queue):#x}",
        most if type(most) is int else None,
    )


def _queued_futures(queue: Any) -> list[Any]:
    """The futures of the work items in a pool's ``SimpleQueue``, as the garbage collector
    traverses it: a list of items up to 3.12, the items themselves (a ring buffer) on 3.13."""
    futures = []
    for inner in gc.get_referents(queue):
        if inner is type(queue):
            continue
        items = gc.get_referents(inner) if type(inner) is list else (inner,)
        for item in items:
            fields = instance_dict(item)
            future = fields.get("future") if fields is not None else None
            if future is not None:
                futures.append(future)
    return futures
