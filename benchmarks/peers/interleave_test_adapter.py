"""interleave-test (``interleave_test.explore``) on the suite's test functions.

interleave-test runs the same no-argument test functions snarl does (it patches
``threading.Thread`` and the primitives during a run), with strategies ``random``, ``pct`` and
``dfs`` (``max_preemptions``) and granularities ``opcode`` and ``line``.  The mapping from
snarl's granularities:

* ``sync``: interleave-test has none; the closest is ``line`` with ``include=`` naming a
  directory that holds no code, so no user line is traced and only the modelled primitives
  (locks, Conditions, Events, sleeps, thread start and join) are scheduling points;
* ``line``: ``line``;
* ``bytecode``: ``opcode``;
* ``gil``: ``opcode`` (the finest it has; GIL switch points are a subset of opcodes).

It has no shrinker: the length reported is the found schedule's, and preemptions are counted
from its recorded steps (a step whose previous thread was still runnable and was not chosen).
A schedule that does not end is reported by its per-schedule wall-clock ``timeout`` (a hang).
"""

from __future__ import annotations

import itertools
import os
import tempfile
import time
from collections.abc import Callable
from typing import Any

import interleave_test as it

TOOL = "interleave-test"
STRATEGIES = ("random", "pct", "dfs")
_NOWHERE = os.path.join(tempfile.gettempdir(), "snarl-bench-no-code-here")


def granularity(snarl_granularity: str) -> tuple[str, dict[str, Any], str]:
    """interleave-test's granularity and extra options for one of snarl's, and its label."""
    if snarl_granularity == "sync":
        return "line", {"include": [_NOWHERE]}, "sync (line + include=nothing)"
    if snarl_granularity == "line":
        return "line", {}, "line"
    return "opcode", {}, "opcode"


def explore(
    test_fn: Callable[[], None],
    *,
    strategy: str,
    seed: int,
    snarl_granularity: str,
    schedules: int,
    timeout: float,
) -> dict[str, Any]:
    """One exploration; what it found, in the benchmark's terms."""
    gran, extra, label = granularity(snarl_granularity)
    out: dict[str, Any] = {
        "tool": TOOL,
        "strategy": strategy,
        "granularity": label,
        "found": False,
        "schedules": 0,
        "seconds": 0.0,
        "kind": None,
        "length": None,
        "preemptions": None,
        "shrunk": False,
        "message": None,
        "error": None,
    }
    began = time.perf_counter()
    try:
        result = it.explore(
            test_fn,
            iterations=schedules,
            seed=seed,
            strategy=strategy,
            granularity=gran,
            max_preemptions=2,
            timeout=timeout,
            raise_on_failure=False,
            **extra,
        )
    except Exception as exc:  # the tool's own error (e.g. a DFS revisit that diverged)
        out["seconds"] = time.perf_counter() - began
        out["error"] = f"{type(exc).__name__}: {exc}"[:300]
        return out
    out["seconds"] = time.perf_counter() - began
    out["schedules"] = result.schedules_run
    out["found"] = result.failure is not None
    f = result.failure
    if f is not None:
        out["kind"] = _kind(f)
        out["length"] = len(f.schedule.choices)
        out["preemptions"] = _preemptions(f)
        out["message"] = (f.format().splitlines() or [""])[0][:200]
    return out


def _kind(f: Any) -> str:
    if f.kind == "exception":
        return "assertion" if isinstance(f.exception, AssertionError) else "exception"
    if f.kind == "hang":
        return "livelock"
    return str(f.kind)


def _preemptions(f: Any) -> int | None:
    steps = list(f.steps)
    if len(steps) < len(f.schedule.choices):  # the step log keeps the last 1000 only
        return None
    count = 0
    for before, step in itertools.pairwise(steps):
        if before.chosen in step.runnable and step.chosen != before.chosen:
            count += 1
    return count


def rate(
    test_fn: Callable[[], None], *, strategy: str, snarl_granularity: str, schedules: int
) -> dict[str, Any]:
    """Schedules per second on a test function that never fails."""
    row = explore(
        test_fn,
        strategy=strategy,
        seed=1,
        snarl_granularity=snarl_granularity,
        schedules=schedules,
        timeout=30.0,
    )
    row["rate"] = row["schedules"] / row["seconds"] if row["seconds"] > 0 else 0.0
    return row
