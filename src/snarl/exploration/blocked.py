"""What "no thread can run" means: a deadlock cycle, a lost wakeup, or threads stuck waiting.

The controlled runtime only reports that every unfinished thread is blocked, and on what
(:class:`snarl.runtime.controlled.BlockedOn`).  :func:`explain` builds the same wait-for graph
the dump builds (:class:`snarl.analysis.waitgraph.WaitGraph`: a lock wait points at the lock's
holder, a join at the joined thread) and finds its cycles with the same finder; each cycle
becomes a :class:`snarl.threaddump.model.Deadlock`, rendered by the dump's own renderer, so a
deadlock found by the explorer reads exactly like one found in a dump.

A blocked thread in no cycle waits on something any thread could end (a Condition, an Event,
a Semaphore, a Barrier), or on a thread or lock that itself waits so: no thread is left that
could wake it.  That is a *lost wakeup*.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..analysis.waitgraph import WaitGraph
from ..runtime.controlled import BlockedOn, Managed
from ..threaddump.model import Deadlock, DeadlockStep, Holder, ObjectInfo, WaitInfo
from ..threaddump.render import format_deadlock

__all__ = ["Explained", "explain", "parked_at_end"]

_KINDS = {"join": "thread-join"}


@dataclass(frozen=True, slots=True)
class Explained:
    """Why no thread could run: the cycles (may be empty), the lost wakeups, and the text."""

    deadlocks: tuple[Deadlock, ...]
    lost_wakeups: tuple[int, ...]  # threads blocked on objects no remaining thread can end
    lines: tuple[str, ...]

    @property
    def cause(self) -> str:
        """``"deadlock"`` (a cycle) or ``"lost-wakeup"``."""
        return "deadlock" if self.deadlocks else "lost-wakeup"


def _object(obj: Any, kind: str) -> ObjectInfo | None:
    if obj is None:
        return None
    type_name = getattr(type(obj), "_snarl_type", None) or type(obj).__name__
    try:
        name = obj.name if kind != "join" else None
    except Exception:  # a user's property: never let it break the report
        name = None
    if not isinstance(name, str):
        name = None
    return ObjectInfo(f"snarl.sync.{type_name}" if kind != "join" else "Thread", id(obj), name)


def _wait(b: BlockedOn, holders: tuple[Holder, ...]) -> WaitInfo:
    file, line, function, source = b.site or ("?", None, "?", "")
    return WaitInfo(
        kind=_KINDS.get(b.kind, b.kind),
        object=_object(b.obj, b.kind),
        call=None,
        filename=file,
        lineno=line,
        function=function,
        source=source,
        holders=holders,
    )


def _holder(b: BlockedOn) -> Managed | None:
    return b.holder if b.kind in ("lock", "rlock", "join") else None


def explain(blocked: dict[int, BlockedOn], threads: list[Managed]) -> Explained:
    """Turn the runtime's "every thread is blocked" report into cycles and lost wakeups."""
    graph: WaitGraph[tuple[WaitInfo, Holder]] = WaitGraph()
    behind: dict[int, DeadlockStep] = {}
    for tid, b in sorted(blocked.items()):
        owner = _holder(b)
        if owner is None:
            continue
        site = b.holder_site
        holder = Holder(
            ident=owner.tid,
            name=owner.name,
            alive=b.holder_alive,
            basis="joined" if b.kind == "join" else "tracked",
            filename=site[0] if site else None,
            lineno=site[1] if site else None,
        )
        wait = _wait(b, (holder,))
        graph.add(tid, owner.tid, (wait, holder))
        behind[tid] = DeadlockStep(tid, threads[tid].name, wait, holder)
    deadlocks = []
    in_cycle: set[int] = set()
    for cycle in graph.cycles():
        steps = []
        for waiter, _holder_tid, (wait, holder) in cycle:
            in_cycle.add(waiter)  # type: ignore[arg-type]
            steps.append(DeadlockStep(waiter, threads[waiter].name, wait, holder))  # type: ignore[arg-type,index]
        deadlocks.append(Deadlock(tuple(steps)))
    waiting = [t for t in sorted(blocked) if t not in in_cycle and t in behind]
    lost = tuple(sorted(t for t in blocked if t not in in_cycle and t not in behind))
    lines: list[str] = []
    if deadlocks:
        n = len(deadlocks)
        lines.append(f"Found {n} deadlock{'s' if n > 1 else ''}:")
        for d in deadlocks:
            lines.extend(format_deadlock(d))
    if waiting:
        lines.append("Waiting on them:" if deadlocks else "Waiting on blocked threads:")
        for tid in waiting:
            lines.extend(format_deadlock(Deadlock((behind[tid],))))
    if lost:
        lines.append(
            "Lost wakeup: these threads wait, and no thread is left that could wake them:"
            if not deadlocks
            else "Also blocked, with no thread left to wake them:"
        )
        for tid in lost:
            b = blocked[tid]
            wait = _wait(b, ())
            label = wait.object.label if wait.object else b.kind
            where = f"{_short(wait.filename)}:{wait.lineno}"
            lines.append(f'  "{threads[tid].name}" waits on {label} at {where}')
    return Explained(tuple(deadlocks), lost, tuple(lines))


def _short(filename: str) -> str:
    from ..threaddump.render import short_path

    return short_path(filename)


def _daemon_like(thread: Any) -> bool:
    """A daemon, or a ``concurrent.futures`` pool worker (the interpreter wakes those at
    exit): a thread that may still wait when the program ends."""
    if getattr(thread, "daemon", False):
        return True
    target = getattr(thread, "_target", None)
    return getattr(target, "__module__", None) == "concurrent.futures.thread"


def parked_at_end(blocked: dict[int, BlockedOn], threads: list[Managed]) -> bool:
    """Whether "every thread is blocked" is only the normal end of a test: the test function
    (thread 0) has returned, and every thread still waiting is a daemon or a pool worker
    that no cycle holds (a worker parked in ``q.get()`` when the test returns)."""
    if not threads or threads[0].state != "finished" or 0 in blocked:
        return False
    if not all(_daemon_like(threads[tid].thread) for tid in blocked):
        return False
    return not explain(blocked, threads).deadlocks
