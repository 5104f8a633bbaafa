"""What the controlled runtime records about its threads and an execution: a managed
thread (:class:`Managed`), what a blocked one waits for (:class:`BlockedOn`), one switch point
(:class:`Step`) and how an execution ended (:class:`Outcome`)."""

from __future__ import annotations

from _thread import allocate_lock
from dataclasses import dataclass, field
from typing import Any

__all__ = ["BLOCKED", "FINISHED", "RUNNABLE", "BlockedOn", "Managed", "Outcome", "Step"]

RUNNABLE, BLOCKED, FINISHED = "runnable", "blocked", "finished"


@dataclass(slots=True)
class BlockedOn:
    """What a blocked managed thread waits for."""

    kind: str  # "lock", "rlock", "condition", "semaphore", "event", "barrier", "join", "sleep"
    obj: Any  # the primitive (or the Thread joined); None for sleep
    inner: Any  # the inner lock waited on (None for join and sleep)
    deadline: float | None
    # (file, line, function, source) that waits: read only if the execution ends blocked
    site: tuple[str, int | None, str, str] | None
    # Read when the execution ends blocked (the threads then unwind, releasing what they
    # held): the thread holding ``inner``, and where it took it.
    holder: Managed | None = None
    holder_site: tuple[str, int | None, str, str] | None = None
    holder_alive: bool = False


class Managed:
    """One managed thread: its id in start order, its baton, and its state."""

    __slots__ = (
        "baton",
        "blocked",
        "ident",
        "inside",
        "last_tried",
        "name",
        "quiet",
        "state",
        "thread",
        "tid",
        "timed_out",
    )

    def __init__(self, tid: int, thread: Any) -> None:
        self.tid = tid
        self.thread = thread
        self.name: str = getattr(thread, "name", f"thread-{tid}")
        self.ident: int | None = None
        self.baton = allocate_lock()
        self.baton.acquire()  # held: parking on it waits until the scheduler releases it
        self.state = RUNNABLE
        self.blocked: BlockedOn | None = None
        self.timed_out = False
        self.last_tried: Any = None  # an inner lock a non-blocking try just failed on
        self.inside = False  # in switch(): a preemption hook firing there must do nothing
        # Inside Thread.start() (the parent) or threading's bootstrap (the child): the
        # Events and locks start() uses are no switch points (blocking still switches), so a
        # start is one switch point, at its return, not half a dozen.
        self.quiet = False

    def __repr__(self) -> str:
        return f"<Managed {self.tid} {self.name!r} {self.state}>"


@dataclass(frozen=True, slots=True)
class Step:
    """What happened at one switch point: who reached it, doing what, where, and who ran
    next (None: the execution ended there)."""

    tid: int
    what: str  # "acquire", "block", "release", "join", "exit", "sleep", "preempt", "line", ...
    obj: str | None  # a label of the object involved
    site: tuple[str, int | None, str, str] | None  # user code location, if found
    next: int | None
    runnable: bool  # whether ``tid`` could have gone on (so a switch here preempted it)


@dataclass(slots=True)
class Outcome:
    """How an execution ended: ``"ok"``, ``"exception"`` (in ``tid``), ``"blocked"`` (no
    thread can run: deadlock or lost wakeup), ``"step-bound"`` (livelock or spin),
    ``"scheduler-error"`` (the scheduler raised, e.g. a replay that diverged: ``exception``),
    ``"stuck"`` (a thread blocked outside snarl's control, reported by the explorer) or
    ``"spin"`` (a thread that ran on without a switch point, at a granularity that had none
    in its loop); ``detail`` is the explorer's diagnosis of the last two."""

    kind: str
    tid: int | None = None
    exception: BaseException | None = None
    blocked: dict[int, BlockedOn] = field(default_factory=dict)
    detail: Any = None
