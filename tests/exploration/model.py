"""A tiny deterministic program model that drives a Scheduler as the controlled runtime does.

A program is a list of threads, each a list of operations on shared integer variables and
named locks.  Before every operation the model asks the scheduler which thread runs, and
records a :class:`Choice` exactly as :mod:`snarl.runtime.controlled` does: ``runnable`` is
every started, unfinished thread whose next operation can proceed (a thread whose next
operation acquires a held lock, or joins an unfinished thread, is blocked), ascending;
``current`` is the thread that ran the previous operation if it can go on, else None.  When
no thread can run the execution ends: a *deadlock* if some started thread is unfinished.
After a complete execution the program's ``check`` judges the shared state: False is an
*assertion* failure.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

from snarl.exploration.strategies import ReplayScheduler
from snarl.runtime.scheduler import Choice, Scheduler


@dataclass(frozen=True)
class Op:
    """One operation: ``kind`` is read, write, acquire, release, spawn, join, draw or local."""

    kind: str
    target: str | int = ""
    bound: int = 0


def read(var: str) -> Op:
    """Copy shared ``var`` into the thread's local of the same name."""
    return Op("read", var)


def write(var: str) -> Op:
    """Set shared ``var`` to the thread's local copy plus one (the write of an increment)."""
    return Op("write", var)


def acquire(lock: str) -> Op:
    """Take ``lock``; the thread is blocked while another holds it."""
    return Op("acquire", lock)


def release(lock: str) -> Op:
    """Release ``lock`` (the thread must hold it)."""
    return Op("release", lock)


def spawn(tid: int) -> Op:
    """Start thread ``tid``."""
    return Op("spawn", tid)


def join(tid: int) -> Op:
    """Wait for thread ``tid`` to finish."""
    return Op("join", tid)


def draw(var: str, bound: int) -> Op:
    """Set shared ``var`` to the scheduler's ``next_int(bound)``."""
    return Op("draw", var, bound)


def local() -> Op:
    """An operation that touches nothing shared (still a switch point)."""
    return Op("local")


@dataclass(frozen=True)
class Program:
    """Threads' operations; ``initial`` threads run from the start, the others once spawned;
    ``check`` judges the final shared state (True: correct)."""

    threads: tuple[tuple[Op, ...], ...]
    check: Callable[[dict[str, int]], bool] = lambda shared: True
    initial: tuple[int, ...] = (0,)


@dataclass
class Execution:
    """What one execution did."""

    choices: list[Choice]
    failure: str | None  # None, "deadlock" or "assertion"
    shared: dict[str, int]
    draws: list[int] = field(default_factory=list)
    index: int | None = None

    @property
    def threads(self) -> list[int]:
        return [c.chosen for c in self.choices]


class _State:
    def __init__(self, program: Program) -> None:
        self.program = program
        self.pc = [0] * len(program.threads)
        self.started = set(program.initial)
        self.locks: dict[str, int] = {}
        self.shared: dict[str, int] = {}
        self.locals: list[dict[str, int]] = [{} for _ in program.threads]

    def copy(self) -> _State:
        other = _State(self.program)
        other.pc = list(self.pc)
        other.started = set(self.started)
        other.locks = dict(self.locks)
        other.shared = dict(self.shared)
        other.locals = [dict(d) for d in self.locals]
        return other

    def failure(self) -> str | None:
        """Judge an execution that ended (no runnable thread)."""
        if any(not self.done(t) for t in self.started):
            return "deadlock"
        return None if self.program.check(self.shared) else "assertion"

    def done(self, tid: int) -> bool:
        return self.pc[tid] >= len(self.program.threads[tid])

    def enabled(self, tid: int) -> bool:
        if tid not in self.started or self.done(tid):
            return False
        op = self.program.threads[tid][self.pc[tid]]
        if op.kind == "acquire":
            return op.target not in self.locks
        if op.kind == "join":
            return op.target in self.started and self.done(int(op.target))
        return True

    def runnable(self) -> list[int]:
        return [t for t in range(len(self.pc)) if self.enabled(t)]

    def run(self, tid: int, scheduler: Scheduler, draws: list[int]) -> None:
        op = self.program.threads[tid][self.pc[tid]]
        self.pc[tid] += 1
        if op.kind == "read":
            self.locals[tid][str(op.target)] = self.shared.get(str(op.target), 0)
        elif op.kind == "write":
            self.shared[str(op.target)] = self.locals[tid].get(str(op.target), 0) + 1
        elif op.kind == "acquire":
            self.locks[str(op.target)] = tid
        elif op.kind == "release":
            assert self.locks.pop(str(op.target)) == tid, f"thread {tid} releases {op.target}"
        elif op.kind == "spawn":
            self.started.add(int(op.target))
        elif op.kind == "draw":
            value = scheduler.next_int(op.bound)
            assert 0 <= value < op.bound
            draws.append(value)
            self.shared[str(op.target)] = value


def execute(program: Program, scheduler: Scheduler) -> Execution:
    """Run one execution of ``program`` under ``scheduler`` (its new_execution already
    returned True)."""
    state = _State(program)
    choices: list[Choice] = []
    draws: list[int] = []
    current: int | None = None
    while True:
        runnable = state.runnable()
        if not runnable:
            break
        chosen = scheduler.next_thread(list(runnable), current, len(choices))
        assert chosen in runnable, f"scheduler chose {chosen}, not one of {runnable}"
        choices.append(Choice(chosen, tuple(runnable), current))
        state.run(chosen, scheduler, draws)
        current = chosen if state.enabled(chosen) else None
    index = getattr(scheduler, "index", None)
    return Execution(choices, state.failure(), state.shared, draws, index)


def explore(program: Program, scheduler: Scheduler) -> Iterator[Execution]:
    """Every execution the scheduler asks for, in order."""
    while scheduler.new_execution():
        yield execute(program, scheduler)


def all_executions(program: Program) -> list[Execution]:
    """Every execution of ``program`` (without draws), by brute force over copied states:
    an oracle independent of the schedulers."""
    out: list[Execution] = []

    def go(state: _State, choices: list[Choice], current: int | None) -> None:
        runnable = state.runnable()
        if not runnable:
            out.append(Execution(choices, state.failure(), state.shared))
            return
        for tid in runnable:
            after = state.copy()
            after.run(tid, _NO_DRAWS, [])
            mine = [*choices, Choice(tid, tuple(runnable), current)]
            go(after, mine, tid if after.enabled(tid) else None)

    go(_State(program), [], None)
    return out


class _NoDraws:
    def new_execution(self) -> bool:
        return True

    def next_thread(self, runnable: Sequence[int], current: int | None, step: int) -> int:
        raise AssertionError("not a scheduler")

    def next_int(self, bound: int) -> int:
        raise AssertionError("all_executions does not enumerate draws")


_NO_DRAWS = _NoDraws()


def run_lenient(program: Program, kind: str | None) -> Callable[[list[int]], list[Choice] | None]:
    """The shrinker's ``run`` for ``program``: lenient replay, and the actual choices if the
    execution failed with ``kind`` again."""

    def run(threads: list[int]) -> list[Choice] | None:
        scheduler = ReplayScheduler(threads, strict=False)
        scheduler.new_execution()
        execution = execute(program, scheduler)
        return execution.choices if execution.failure == kind else None

    return run


def main_with(workers: Sequence[Sequence[Op]], check: Callable[[dict[str, int]], bool]) -> Program:
    """Thread 0 spawns the workers (threads 1..n), then joins them in order."""
    n = len(workers)
    main = [spawn(t) for t in range(1, n + 1)] + [join(t) for t in range(1, n + 1)]
    return Program((tuple(main), *(tuple(w) for w in workers)), check)


def lost_update(padding: int = 0) -> Program:
    """Two workers increment x by read-then-write, each with ``padding`` local operations
    before and after; correct iff x == 2 at the end."""
    worker = [local()] * padding + [read("x"), write("x")] + [local()] * padding
    return main_with([worker, worker], lambda shared: shared.get("x", 0) == 2)


def abba(padding: int = 0) -> Program:
    """Worker 1 takes A then B, worker 2 takes B then A: a deadlock when they interleave."""
    pad = [local()] * padding
    one = [*pad, acquire("A"), acquire("B"), release("B"), release("A"), *pad]
    two = [*pad, acquire("B"), acquire("A"), release("A"), release("B"), *pad]
    return main_with([one, two], lambda shared: True)
