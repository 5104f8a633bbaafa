"""Happens-before edges of the compound primitives, as precise as their meaning.

Queues, Events, Semaphores, Barriers and Futures are built on locks.  Taking every one of those
locks as a release → acquire edge would order too much: two consumers of one queue, or two
waiters of one Event, would be ordered merely by taking turns at the mutex inside, and a race
between them would be hidden.  So the locks those primitives use inside are *internal*
(:func:`is_internal`: a lock first acquired from their code) and give no edge, and each
primitive's own meaning gives the edges instead (:func:`patch`):

=======================================  ================================================
``Queue.put(item)`` (every queue class)  → the ``get()`` that returns that item
``Queue.task_done()``                    → ``Queue.join()`` returning
``Event.set()``                          → ``wait()`` or ``is_set()`` returning True
``Semaphore.release()``                  → a later ``acquire()`` that succeeds
``Barrier.wait()`` (arriving)            → every party's ``wait()`` of that phase returning
=======================================  ================================================

A ``Future``'s Condition lock is a third kind (``"future"``): every release publishes, but only
the acquisitions that *read the outcome* receive: ``result()``, ``exception()``, and
``as_completed``/``wait`` (which lock every future they look at), however the caller named
them.  So ``set_result``/``set_exception`` → those, and a worker starting the task
(``set_running_or_notify_cancel``) is not ordered after a thread waiting in ``result()``.

A user's own Lock, RLock and Condition (first acquired from user code) keep their lock edges:
Condition notify → wakeup is the waiter reacquiring the lock the notifier released.
"""

from __future__ import annotations

import concurrent.futures._base as futures_base
import os
import queue
from collections.abc import Callable
from typing import Any

from ..sync import event as sync_event
from ..sync import semaphore as sync_semaphore
from .clock import join_into

__all__ = ["INTERNAL_FILES", "kind_of", "patch", "receives"]

_HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_SYNC = os.path.join(_HERE, "sync")
# frames inside the lock itself or a Condition: look past them to who is acquiring
_LOCK_FILES = frozenset(
    os.path.join(_SYNC, f) for f in ("lock.py", "rlock.py", "_base.py", "condition.py")
)
INTERNAL_FILES = frozenset(
    {
        os.path.abspath(queue.__file__),
        os.path.join(_SYNC, "event.py"),
        os.path.join(_SYNC, "semaphore.py"),
    }
)


_FUTURES_FILE = os.path.abspath(futures_base.__file__)
# __enter__: _AcquireFutures (wait, as_completed).  _decrement_pending_calls: wait()'s
# all-completed waiter counts completions under its lock and the last one sets the Event wait()
# returns on, so each completion must receive the earlier ones (or only the last task would be
# ordered before what follows wait()).
_RECEIVERS = frozenset({"result", "exception", "__enter__", "_decrement_pending_calls"})


def _acquirer(frame: Any) -> Any:
    f = frame
    while f is not None and f.f_code.co_filename in _LOCK_FILES:
        f = f.f_back
    return f


def kind_of(frame: Any) -> str:
    """The kind of a lock first acquired at ``frame``: ``"internal"`` (a compound primitive's:
    no edge), ``"future"`` (a Future's Condition) or ``"user"``."""
    f = _acquirer(frame)
    if f is None:
        return "user"
    name = f.f_code.co_filename
    if name == _FUTURES_FILE:
        return "future"
    return "internal" if name in INTERNAL_FILES else "user"


def receives(frame: Any) -> bool:
    """Whether acquiring a Future's lock at ``frame`` reads its outcome."""
    f = _acquirer(frame)
    return f is not None and f.f_code.co_name in _RECEIVERS


def patch(det: Any) -> Callable[[], None]:
    """Wrap the primitives' methods to give their edges to ``det``; return the undo."""
    saved: list[tuple[Any, str, Any]] = []
    clocks = det.clocks

    def wrap(owner: Any, name: str, make: Callable[[Any], Any]) -> None:
        original = owner.__dict__[name]
        saved.append((owner, name, original))
        setattr(owner, name, make(original))

    def release(obj: Any) -> None:
        if det.running:
            clocks.release(det.me(), obj)

    def acquire(obj: Any) -> None:
        if det.running:
            clocks.acquire(det.me(), obj)

    # -- queues: put(item) → the get() of that item -----------------------------------------
    def put(original: Any) -> Any:
        def put(self: Any, item: Any, block: bool = True, timeout: float | None = None) -> None:
            if det.running:
                st = det.me()
                items = self.__dict__.setdefault("_snarl_race_items", {})
                pending = items.get(id(item))
                if pending is None:
                    items[id(item)] = list(st.vc)
                else:
                    join_into(pending, st.vc)
                clocks.release(st, self)  # also the queue's clock: the fallback below
            original(self, item, block, timeout)

        return put

    def get(original: Any) -> Any:
        def get(self: Any, block: bool = True, timeout: float | None = None) -> Any:
            item = original(self, block, timeout)
            if det.running:
                st = det.me()
                clock = self.__dict__.get("_snarl_race_items", {}).pop(id(item), None)
                if clock is not None:
                    join_into(st.vc, clock)
                else:  # the same object was queued twice and its clock is taken: all puts
                    clocks.acquire(st, self)
            return item

        return get

    def task_done(original: Any) -> Any:
        def task_done(self: Any) -> None:
            release(self.all_tasks_done)
            original(self)

        return task_done

    def join(original: Any) -> Any:
        def join(self: Any) -> None:
            original(self)
            acquire(self.all_tasks_done)

        return join

    wrap(queue.Queue, "put", put)
    wrap(queue.Queue, "get", get)
    wrap(queue.Queue, "task_done", task_done)
    wrap(queue.Queue, "join", join)

    # -- Event, Semaphore, Barrier ---------------------------------------------------------
    def publish_first(original: Any) -> Any:
        def method(self: Any, *args: Any, **kwargs: Any) -> Any:
            release(self)
            return original(self, *args, **kwargs)

        return method

    def receive_if_true(original: Any) -> Any:
        def method(self: Any, *args: Any, **kwargs: Any) -> Any:
            result = original(self, *args, **kwargs)
            if result:
                acquire(self)
            return result

        return method

    def barrier_wait(original: Any) -> Any:
        def wait(self: Any, timeout: float | None = None) -> int:
            release(self)
            index = original(self, timeout)
            acquire(self)
            return index  # type: ignore[no-any-return]

        return wait

    wrap(sync_event.Event, "set", publish_first)
    wrap(sync_event.Event, "wait", receive_if_true)
    wrap(sync_event.Event, "is_set", receive_if_true)
    wrap(sync_event.Barrier, "wait", barrier_wait)
    for cls in (sync_semaphore.Semaphore, sync_semaphore.BoundedSemaphore):
        if "release" in cls.__dict__:
            wrap(cls, "release", publish_first)
        if "acquire" in cls.__dict__:
            wrap(cls, "acquire", receive_if_true)

    def undo() -> None:
        for owner, name, original in reversed(saved):
            setattr(owner, name, original)

    return undo
