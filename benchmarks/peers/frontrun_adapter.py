"""frontrun (``frontrun.explore``) on the suite's programs in workers form.

frontrun takes ``setup``, a list of worker functions (it starts one thread per worker
itself) and an invariant over the state, so it runs the :class:`bugs.Program` of each bug;
a bug that is not in that form (the test thread itself starts and joins threads) is n/a.
Strategies: ``dpor`` (the default; ``preemption_bound=2``, ``max_executions``; no seed) and
``random`` (``max_attempts``, ``seed``).  Both schedule at bytecode (opcode) granularity: it
has no coarser or line mode, so it is compared with snarl's ``bytecode`` (DPOR then prunes
schedules that only reorder independent operations).

Options: ``reproduce_on_failure=0`` (no replays of a counterexample in the timings),
``detect_io=False`` (no sockets or files in these programs), and ``deadlock_timeout`` and
``timeout_per_run`` set to the benchmark's per-schedule timeout (frontrun's default is 5 s):
a wait that never ends (a lost wakeup, a livelock) is reported through them, and frontrun
calls such a run inconclusive (``property_holds is None``), which counts as not found.
frontrun requires its CLI's environment (``FRONTRUN_ACTIVE=1``); ``run_peers.py`` sets that
variable (the CLI's LD_PRELOAD I/O library is not needed: there is no I/O).
"""

from __future__ import annotations

import contextlib
import io
import time
from typing import Any

import frontrun

TOOL = "frontrun"
STRATEGIES = ("dpor", "random")
GRANULARITY = "opcode"


def explore(
    program: Any, *, strategy: str, seed: int, schedules: int, timeout: float
) -> dict[str, Any]:
    """One exploration of a :class:`bugs.Program`; what it found, in the benchmark's terms."""
    kw: dict[str, Any] = {
        "strategy": strategy,
        "reproduce_on_failure": 0,
        "detect_io": False,
        "deadlock_timeout": timeout,
        "timeout_per_run": timeout,
    }
    if strategy == "random":
        kw.update(max_attempts=schedules, seed=seed)
    else:
        kw.update(max_executions=schedules)
    began = time.perf_counter()
    error: Exception | None = None
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            result = frontrun.explore(
                setup=program.setup,
                workers=list(program.workers),
                invariant=program.invariant,
                **kw,
            )
    except Exception as exc:  # the program's own exception, raised out of explore()
        result, error = None, exc
    seconds = time.perf_counter() - began
    out: dict[str, Any] = {
        "tool": TOOL,
        "strategy": strategy,
        "granularity": GRANULARITY,
        "found": False,
        "schedules": 0,
        "seconds": seconds,
        "kind": None,
        "length": None,
        "preemptions": None,
        "shrunk": False,
        "message": None,
        "inconclusive": False,
    }
    if error is not None:
        # frontrun's DPOR re-raises some worker exceptions instead of reporting them: the bug
        # surfaced all the same (how many executions it took is not known).
        out["found"] = True
        out["kind"] = "exception"
        out["schedules"] = None
        out["message"] = f"raised out of explore(): {type(error).__name__}: {error}"[:200]
        return out
    out["schedules"] = result.num_explored
    explanation = (result.explanation or "").strip()
    if result.property_holds is False:
        out["found"] = True
        out["kind"] = _kind(explanation)
        ce = result.counterexample
        if strategy == "dpor" and isinstance(ce, list):  # random's is its sampled prefix
            out["length"] = len(ce)
        out["message"] = explanation.splitlines()[0][:200] if explanation else None
    elif result.property_holds is None:
        out["inconclusive"] = True
        out["message"] = (result.inconclusive_reason or explanation)[:200]
    return out


def _kind(explanation: str) -> str:
    first = (explanation.splitlines() or [""])[0].lower()
    if first.startswith("deadlock"):
        return "deadlock"
    if first.startswith("worker crash"):
        return "exception"
    return "assertion"  # "AssertionError: ..." or "Race condition found ..." (the invariant)


def rate(program: Any, *, strategy: str, schedules: int) -> dict[str, Any]:
    """Schedules per second on a program that never fails."""
    row = explore(program, strategy=strategy, seed=1, schedules=schedules, timeout=30.0)
    row["rate"] = row["schedules"] / row["seconds"] if row["seconds"] > 0 else 0.0
    return row
