"""What an exploration returns (:class:`Result`, with its :class:`Failure`) and raises
(:class:`StuckOutsideControl`, and :class:`InterleavingFailure` from a decorated test)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..errors import SnarlError
from ..runtime.controlled import Step
from ..threaddump.model import Deadlock

__all__ = ["Failure", "InterleavingFailure", "Result", "StuckOutsideControl"]


class StuckOutsideControl(SnarlError):
    """A managed thread stopped reaching switch points: it blocks where snarl has no say (a
    lock made before :func:`snarl.install`, I/O, a C call), so exploration cannot go on."""

    help = (
        "Create the locks the test uses inside the test function (snarl controls those), and "
        "keep real I/O and native blocking out of the explored code."
    )


class InterleavingFailure(SnarlError, AssertionError):
    """Raised by :func:`snarl.interleavings` tests: a schedule made the test fail.

    ``failure`` is the :class:`Failure`; ``token`` its replay token (also in the message).
    """

    help = "Replay it with the command in the message, or snarl.replay(test, token)."

    def __init__(self, failure: Failure) -> None:
        super().__init__(failure.report)
        self.failure = failure
        self.token = failure.token


@dataclass(frozen=True)
class Failure:
    """A failing schedule, shrunk, with the report of its final replay."""

    kind: str  # "assertion", "exception", "deadlock", "livelock" or "race" (--races)
    message: str  # one line
    token: str
    report: str  # the whole report: what failed, the interleaving table, how to replay
    threads: tuple[str, ...]  # names by thread id
    steps: int  # switch points in the shrunk schedule
    preemptions: int
    found_steps: int  # ... and in the schedule exploration found
    found_preemptions: int
    exception: BaseException | None = None
    deadlocks: tuple[Deadlock, ...] = ()
    schedule: tuple[int, ...] = ()
    trace: tuple[Step, ...] = ()  # the final replay's switch points (the table, timelines)
    shrink_stopped: str | None = None  # "cap" or "interrupted": shrinking did not finish
    race: Any = None  # kind "race": the race (snarl.race.Race) that ended the schedule

    def to_dict(self) -> dict[str, Any]:
        """The failure's part of ``--json``."""
        return {
            "kind": self.kind,
            "message": self.message,
            "replay": self.token,
            "steps": self.steps,
            "preemptions": self.preemptions,
            "found_steps": self.found_steps,
            "found_preemptions": self.found_preemptions,
            "threads": list(self.threads),
            "shrink_stopped": self.shrink_stopped,
            **({"race": _race_json(self.race)} if self.race is not None else {}),
        }


def _race_json(race: Any) -> dict[str, Any]:
    from .races import race_json

    return race_json(race)


@dataclass(frozen=True)
class Result:
    """What an exploration did and found; ``str()`` is the report a user reads."""

    failure: Failure | None
    schedules: int
    distinct: int
    failing: int
    seconds: float
    strategy: str
    granularity: str
    seed: int
    covered: bool | None = None  # dfs: the whole bounded space was explored
    pct_bound: float | None = None  # pct: per-run probability bound for a depth-d bug
    depth: int | None = None  # pct: the bug depth d the bound is for
    notes: tuple[str, ...] = field(default=())
    interrupted: bool = False  # a KeyboardInterrupt ended exploring or shrinking
    points: str | None = None  # "auto": how many schedules ran at each granularity
    uncontrolled: tuple[str, ...] = ()  # what stayed outside the exploration's control
    races: Any = None  # --races: what the race checks covered (races.Coverage), else None

    @property
    def found(self) -> bool:
        """Whether a failing schedule was found."""
        return self.failure is not None

    @property
    def rate(self) -> float:
        """Schedules per second."""
        return self.schedules / self.seconds if self.seconds > 0 else 0.0

    def statistics(self) -> str:
        """One line: schedules run, distinct interleavings, failing share, speed (and whether
        it was interrupted)."""
        share = 100.0 * self.failing / self.schedules if self.schedules else 0.0
        line = (
            f"{self.schedules} schedule{'s' if self.schedules != 1 else ''} "
            f"({self.strategy}, seed {self.seed}, granularity {self.granularity}"
            f"{f': {self.points}' if self.points else ''}), "
            f"{self.distinct} distinct interleaving{'s' if self.distinct != 1 else ''}, "
            f"{self.failing} failing ({share:.1f} %), {self.rate:.0f} schedules/s"
        )
        if self.covered and not self.uncontrolled:  # (what snarl did not control, it did not cover)
            line += "; the whole bounded space was covered"
        if self.pct_bound is not None:
            line += (
                f"; PCT finds a depth-{self.depth} bug with probability"
                f" >= {self.pct_bound:.2g} per run"
            )
        if self.interrupted:
            line += "; interrupted"
        return line

    def to_dict(self) -> dict[str, Any]:
        """The ``--json`` form."""
        d: dict[str, Any] = {
            "found": self.found,
            "kind": self.failure.kind if self.failure else None,
            "schedules": self.schedules,
            "replay": self.failure.token if self.failure else None,
            "message": self.failure.message if self.failure else None,
            "distinct": self.distinct,
            "failing": self.failing,
            "seconds": round(self.seconds, 6),
            "strategy": self.strategy,
            "granularity": self.granularity,
            "seed": self.seed,
            "covered": self.covered,
            "pct_bound": self.pct_bound,
            "depth": self.depth,
            "interrupted": self.interrupted,
            "points": self.points,
            "uncontrolled": list(self.uncontrolled),
            "races": self.races.to_dict() if self.races is not None else None,
        }
        if self.failure:
            d["failure"] = self.failure.to_dict()
        return d

    def __str__(self) -> str:
        head = self.failure.report if self.failure else "No failing schedule found."
        if self.interrupted and not self.failure:
            head = "Interrupted: no failing schedule found in the schedules run."
        if not self.failure:
            head += "\n" + self.coverage()
        return head + "\n\n" + self.statistics() + "\n"

    def coverage(self) -> str:
        """What a "no failure" verdict rests on: where threads could be switched, and what
        stayed outside control."""
        where = _POINTS.get(self.granularity.split(" ")[0], f"at {self.granularity} points")
        lines = [f"Threads were switched {where}."]
        if self.uncontrolled:
            lines.append("Not under snarl's control (a bug through these can be missed):")
            lines.extend(f"  - {u}" for u in self.uncontrolled)
        if self.races is not None:
            lines.extend(self.races.lines())
        return "\n".join(lines)


_POINTS = {
    "auto": (
        "at every synchronisation operation, and, in the schedules run at shared, also"
        " before every access to shared state in user code"
    ),
    "sync": "only at synchronisation operations (a data race on plain state is not looked for)",
    "shared": "at synchronisation operations and before every access to shared state",
    "line": "at synchronisation operations and before every line of user code",
    "bytecode": "at synchronisation operations and before every instruction of user code",
    "gil": "at synchronisation operations and where CPython's GIL can change hands",
}
