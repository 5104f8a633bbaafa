"""The plain data a snapshot is made of: no frames, no live objects, JSON in and out.

A :class:`Snapshot` is what :func:`snarl.snapshot` returns and what every renderer reads.  It
holds ids and names of the objects it saw, never the objects themselves, so keeping a snapshot
keeps nothing of the inspected program alive.  Treat every record as read-only: most are
frozen; the two made per thread (ThreadInfo, WaitInfo) are plain slotted dataclasses only
because frozen ones cost six times as much to build, which a 1,000-thread dump feels.
``to_dict()`` gives the JSON form documented in ``docs/json-schema.md`` (``"schema": 1``);
``Snapshot.from_dict`` reads it back.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

if TYPE_CHECKING:
    import threading

__all__ = [
    "FUTURE_STATES",
    "SCHEMA",
    "STATES",
    "WAIT_KINDS",
    "Deadlock",
    "DeadlockStep",
    "FrameInfo",
    "HeldLock",
    "Holder",
    "ObjectInfo",
    "Snapshot",
    "ThreadInfo",
    "WaitInfo",
]

SCHEMA = 1
"""Version of the JSON form.  Changing it is a deliberate, documented act."""

STATES = ("running", "waiting", "sleeping", "idle", "unknown")
"""Thread states.  ``idle`` is a wait for work (an empty queue, an event loop's select, a pool
worker between tasks); ``unknown`` is a registered thread that has no Python frame."""

WAIT_KINDS = (
    "lock",
    "rlock",
    "condition",
    "event",
    "semaphore",
    "barrier",
    "queue-get",
    "queue-put",
    "queue-join",
    "thread-join",
    "future-result",
    "sleep",
    "io",
    "unknown",
)
"""What a waiting thread waits on.  ``io`` covers I/O and select; ``unknown`` is a call that
looks like a wait on an object snarl could not read without running code."""

FUTURE_STATES = ("pending", "running", "cancelled", "finished")
"""The states of an awaited ``concurrent.futures.Future``, as :attr:`WaitInfo.future_state`."""

State = Literal["running", "waiting", "sleeping", "idle", "unknown"]
HolderState = Literal["running", "waiting", "sleeping", "idle", "unknown", "gone"]
WaitKind = Literal[
    "lock", "rlock", "condition", "event", "semaphore", "barrier", "queue-get", "queue-put",
    "queue-join", "thread-join", "future-result", "sleep", "io", "unknown",
]  # fmt: skip
FutureState = Literal["pending", "running", "cancelled", "finished"]


class FrameInfo(NamedTuple):
    """One Python frame: where, in which function, and the source line (stripped)."""

    filename: str
    lineno: int | None
    function: str
    source: str
    locals: tuple[tuple[str, str], ...] | None = None  # (name, bounded repr); opt-in

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "filename": self.filename,
            "lineno": self.lineno,
            "function": self.function,
            "source": self.source,
        }
        if self.locals is not None:
            d["locals"] = dict(self.locals)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> FrameInfo:
        loc = d.get("locals")
        return cls(
            d["filename"],
            d["lineno"],
            d["function"],
            d["source"],
            tuple(loc.items()) if loc is not None else None,
        )


@dataclass(frozen=True, slots=True)
class ObjectInfo:
    """A synchronisation object as the dump saw it.

    ``name`` is how the code names it (``blocker``, ``self._state_lock``), or None when no
    frame spells it as a plain reference.  ``locked`` is None where it is not a lock or not
    known.
    """

    type: str
    id: int
    name: str | None = None
    locked: bool | None = None

    @property
    def label(self) -> str:
        """``Lock `blocker``` style: the short type word plus the name (or the id)."""
        word = _SHORT_TYPES.get(self.type, self.type.rsplit(".", 1)[-1])
        return f"{word} `{self.name}`" if self.name else f"{word} at {self.id:#x}"

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, "id": self.id, "name": self.name, "locked": self.locked}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ObjectInfo:
        return cls(d["type"], d["id"], d.get("name"), d.get("locked"))


_SHORT_TYPES = {
    "_thread.lock": "Lock",
    "_thread.RLock": "RLock",
    "threading._RLock": "RLock",
    "threading.Condition": "Condition",
    "threading.Event": "Event",
    "threading.Semaphore": "Semaphore",
    "threading.BoundedSemaphore": "BoundedSemaphore",
    "threading.Barrier": "Barrier",
    "queue.Queue": "Queue",
    "_queue.SimpleQueue": "SimpleQueue",
    "concurrent.futures._base.Future": "Future",
}


@dataclass(frozen=True, slots=True)
class Holder:
    """The thread that must act for a wait to end: the lock's holder, the joined thread.

    ``basis`` says what the fact rests on: ``rlock-owner`` (the interpreter's RLock records its
    owner: certain), ``with-block`` (the holder's frame is inside ``with <lock>:`` and the lock
    is locked: inferred, fooled by a manual release inside the block), ``joined`` (the thread
    being joined), ``running-task`` (the pool thread running the awaited future's task) or
    ``pool-worker`` (a worker of the pool whose queue holds the awaited future: every worker is
    busy, so one of them must finish first).

    ``state`` is what the holder was doing in the same snapshot: one of :data:`STATES`, or
    ``gone`` when it has exited; None when not known (a holder read from older JSON).
    """

    ident: int
    name: str | None
    alive: bool
    basis: str
    filename: str | None = None
    lineno: int | None = None
    state: HolderState | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "ident": self.ident,
            "name": self.name,
            "alive": self.alive,
            "basis": self.basis,
            "filename": self.filename,
            "lineno": self.lineno,
            "state": self.state,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Holder:
        return cls(
            d["ident"],
            d.get("name"),
            d["alive"],
            d["basis"],
            d.get("filename"),
            d.get("lineno"),
            d.get("state"),
        )


@dataclass(slots=True)
class WaitInfo:
    """What a thread waits for, and the line that waits.

    ``call`` is the blocking call as the waiting line spells it (``blocker.acquire``,
    ``with lock_b``, ``jobs.get``).  ``since`` is seconds waited so far, None when unknown
    (it needs instrumentation).  ``holders`` are the threads that must act for it to end.

    Facts of some kinds, None elsewhere or when unknown: ``unfinished``, the tasks a
    ``Queue.join()`` still waits for (``queue-join``); ``future_state``, the awaited future's
    state (``pending``, ``running``, ``cancelled``, ``finished``), and ``pool``, the name of
    the ``ThreadPoolExecutor`` that queued or runs it (its thread name prefix)
    (``future-result``).
    """

    kind: WaitKind
    object: ObjectInfo | None
    call: str | None
    filename: str
    lineno: int | None
    function: str
    source: str
    holders: tuple[Holder, ...] = ()
    since: float | None = None
    unfinished: int | None = None
    future_state: FutureState | None = None
    pool: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "object": self.object.to_dict() if self.object else None,
            "call": self.call,
            "filename": self.filename,
            "lineno": self.lineno,
            "function": self.function,
            "source": self.source,
            "holders": [h.to_dict() for h in self.holders],
            "since": self.since,
            "unfinished": self.unfinished,
            "future_state": self.future_state,
            "pool": self.pool,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> WaitInfo:
        obj = d.get("object")
        return cls(
            d["kind"],
            ObjectInfo.from_dict(obj) if obj else None,
            d.get("call"),
            d["filename"],
            d.get("lineno"),
            d["function"],
            d.get("source", ""),
            tuple(Holder.from_dict(h) for h in d.get("holders", ())),
            d.get("since"),
            d.get("unfinished"),
            d.get("future_state"),
            d.get("pool"),
        )


@dataclass(frozen=True, slots=True)
class HeldLock:
    """A lock a thread holds, where it took it, and how sure that is (``basis``, as Holder)."""

    object: ObjectInfo
    basis: str
    filename: str | None
    lineno: int | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "object": self.object.to_dict(),
            "basis": self.basis,
            "filename": self.filename,
            "lineno": self.lineno,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> HeldLock:
        return cls(ObjectInfo.from_dict(d["object"]), d["basis"], d.get("filename"), d["lineno"])


@dataclass(slots=True)
class ThreadInfo:
    """One live thread.  ``frames`` run from the most recent call to the outermost.

    ``origin`` is ``threading`` (a ``threading.Thread``, the main thread included),
    ``_thread`` (started with ``_thread.start_new_thread`` and never registered) or ``dummy``
    (a foreign thread ``threading`` registered as a ``_DummyThread``).  ``name`` is None for a
    ``_thread`` thread.  ``in_call`` names a C call the thread is in that is not a known wait
    (it may be computing, or blocked in C code snarl does not know).
    """

    name: str | None
    ident: int
    native_id: int | None
    daemon: bool | None
    main: bool
    current: bool
    origin: Literal["threading", "_thread", "dummy"]
    state: State
    wait: WaitInfo | None
    frames: tuple[FrameInfo, ...]
    held: tuple[HeldLock, ...] = ()
    in_call: str | None = None

    @property
    def label(self) -> str:
        """The quoted name, or ``<_thread 0x…>`` for an unnamed thread."""
        return f'"{self.name}"' if self.name is not None else f"<{self.origin} {self.ident:#x}>"

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "ident": self.ident,
            "native_id": self.native_id,
            "daemon": self.daemon,
            "main": self.main,
            "current": self.current,
            "origin": self.origin,
            "state": self.state,
            "wait": self.wait.to_dict() if self.wait else None,
            "held": [h.to_dict() for h in self.held],
            "in_call": self.in_call,
            "frames": [f.to_dict() for f in self.frames],
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ThreadInfo:
        wait = d.get("wait")
        return cls(
            d.get("name"),
            d["ident"],
            d.get("native_id"),
            d.get("daemon"),
            d["main"],
            d["current"],
            d["origin"],
            d["state"],
            WaitInfo.from_dict(wait) if wait else None,
            tuple(FrameInfo.from_dict(f) for f in d["frames"]),
            tuple(HeldLock.from_dict(h) for h in d.get("held", ())),
            d.get("in_call"),
        )


@dataclass(frozen=True, slots=True)
class DeadlockStep:
    """One edge of a cycle: ``thread`` waits (``wait``) for something ``holder`` must release."""

    thread: int
    thread_name: str | None
    wait: WaitInfo
    holder: Holder

    def to_dict(self) -> dict[str, Any]:
        return {
            "thread": self.thread,
            "thread_name": self.thread_name,
            "wait": self.wait.to_dict(),
            "holder": self.holder.to_dict(),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> DeadlockStep:
        return cls(
            d["thread"],
            d.get("thread_name"),
            WaitInfo.from_dict(d["wait"]),
            Holder.from_dict(d["holder"]),
        )


@dataclass(frozen=True, slots=True)
class Deadlock:
    """A cycle in the wait-for graph: each thread waits for the next one."""

    steps: tuple[DeadlockStep, ...]

    @property
    def certain(self) -> bool:
        """True when no edge rests on an inference (a with-block) rather than a record."""
        return all(s.holder.basis != "with-block" for s in self.steps)

    def to_dict(self) -> dict[str, Any]:
        return {"certain": self.certain, "steps": [s.to_dict() for s in self.steps]}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Deadlock:
        return cls(tuple(DeadlockStep.from_dict(s) for s in d["steps"]))


@dataclass(frozen=True, slots=True)
class Snapshot:
    """What every thread of one process was doing at one moment.

    ``duration`` is how long taking the snapshot took, in seconds.  ``tracked`` says whether
    instrumented primitives supplied owners and wait times (otherwise they are inferred from
    frames, or unknown).  ``notes`` say what this snapshot could not see (one line each; for
    instance frames read without frame objects while subinterpreters run): a report shows them.
    ``deadlocks_checked`` says whether the wait-for graph was searched for cycles: with it,
    an empty ``deadlocks`` means "checked, none"; without it (no waits could be read),
    "not checked".
    """

    pid: int
    python: str
    implementation: str
    build: str
    gil_enabled: bool
    switch_interval: float
    taken_at: float
    duration: float
    tracked: bool
    threads: tuple[ThreadInfo, ...]
    deadlocks: tuple[Deadlock, ...] = ()
    notes: tuple[str, ...] = ()
    deadlocks_checked: bool = False

    def __iter__(self) -> Iterator[ThreadInfo]:
        return iter(self.threads)

    def __len__(self) -> int:
        return len(self.threads)

    @property
    def stranded(self) -> tuple[ThreadInfo, ...]:
        """Threads waiting for a lock whose holder has exited: no one can end those waits."""
        return tuple(
            t
            for t in self.threads
            if t.wait is not None
            and t.wait.holders
            and not any(h.alive for h in t.wait.holders)
            and t.wait.kind in ("lock", "rlock")
        )

    def thread(self, which: str | int | threading.Thread) -> ThreadInfo:
        """The thread with this name (a ``str``), ident (an ``int``), or the one a
        ``threading.Thread`` runs; KeyError if there is none."""
        if isinstance(which, str):
            for t in self.threads:
                if t.name == which:
                    return t
            raise KeyError(f"no thread named {which!r} in this snapshot")
        ident = which if isinstance(which, int) else which.ident
        for t in self.threads:
            if t.ident == ident:
                return t
        what = f"ident {ident:#x}" if ident is not None else f"{which!r} (not started)"
        raise KeyError(f"no thread with {what} in this snapshot")

    def __repr__(self) -> str:
        n = len(self.threads)
        found = len(self.deadlocks)
        deadlocks = (
            f"{found} deadlock{'s' if found != 1 else ''}"
            if self.deadlocks_checked or found
            else "deadlocks not checked"
        )
        return (
            f"<Snapshot of pid {self.pid}: {n} thread{'s' if n != 1 else ''}, {deadlocks},"
            f" {'tracked' if self.tracked else 'untracked'}; print() it for the dump>"
        )

    def __str__(self) -> str:
        """The text dump (as :func:`snarl.format_dump` gives it)."""
        from .render import format_text

        return "\n".join(format_text(self)) + "\n"

    def to_dict(self) -> dict[str, Any]:
        """The JSON form, ``"schema": 1`` (see docs/json-schema.md)."""
        return {
            "schema": SCHEMA,
            "pid": self.pid,
            "python": self.python,
            "implementation": self.implementation,
            "build": self.build,
            "gil_enabled": self.gil_enabled,
            "switch_interval": self.switch_interval,
            "taken_at": self.taken_at,
            "duration": self.duration,
            "tracked": self.tracked,
            "deadlocks": [d.to_dict() for d in self.deadlocks],
            "deadlocks_checked": self.deadlocks_checked,
            "threads": [t.to_dict() for t in self.threads],
            "notes": list(self.notes),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Snapshot:
        """Read the JSON form back; ValueError for another schema version."""
        if d.get("schema") != SCHEMA:
            raise ValueError(f"snapshot schema {d.get('schema')!r} is not {SCHEMA}")
        return cls(
            d["pid"],
            d["python"],
            d["implementation"],
            d["build"],
            d["gil_enabled"],
            d["switch_interval"],
            d["taken_at"],
            d["duration"],
            d["tracked"],
            tuple(ThreadInfo.from_dict(t) for t in d["threads"]),
            tuple(Deadlock.from_dict(x) for x in d.get("deadlocks", ())),
            tuple(d.get("notes", ())),
            bool(d.get("deadlocks_checked", False)),
        )
