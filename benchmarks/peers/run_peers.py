#!/usr/bin/env python3
"""Run the benchmark's workloads and bug suite through one peer tool; print one JSON document.

Run by ``benchmarks/bench_explore.py --peers PYTHON`` with the peers' venv Python (3.12+;
interleave-test needs it), one process per tool and part:

    PYTHON benchmarks/peers/run_peers.py --tool interleave-test --part rates --schedules 200
    PYTHON benchmarks/peers/run_peers.py --tool frontrun --part bugs --seeds 0,1 ...

``--part rates`` runs each workload once per (strategy, granularity) the tool supports;
``--part bugs`` runs every bug (its buggy test, then its fixed twin) for each strategy and
seed.  Progress goes to stderr; the JSON (``{"tool", "version", "python", "rows"}``) to stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
from importlib.metadata import version
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # benchmarks/: the bugs package
sys.path.insert(0, str(HERE))

from bugs import BUGS  # noqa: E402
from bugs.workloads import RATE_GRANULARITIES, TESTS, WORKLOADS  # noqa: E402


def _say(text: str) -> None:
    sys.stderr.write(text + "\n")
    sys.stderr.flush()


def interleave_rates(schedules: int) -> list[dict[str, Any]]:
    import interleave_test_adapter as a

    rows = []
    for name, grans in RATE_GRANULARITIES.items():
        for gran in grans:
            for strategy in a.STRATEGIES:
                row = a.rate(
                    TESTS[name], strategy=strategy, snarl_granularity=gran, schedules=schedules
                )
                row.update(workload=name, snarl_granularity=gran)
                rows.append(row)
    return rows


def frontrun_rates(schedules: int) -> list[dict[str, Any]]:
    import frontrun_adapter as a

    rows = []
    for name in RATE_GRANULARITIES:
        for strategy in a.STRATEGIES:
            row = a.rate(WORKLOADS[name], strategy=strategy, schedules=schedules)
            row.update(workload=name, snarl_granularity="bytecode")
            rows.append(row)
    return rows


def _runs(strategies: tuple[str, ...], seeds: list[int], seedless: tuple[str, ...]):
    for strategy in strategies:
        for seed in seeds[:1] if strategy in seedless else seeds:
            yield strategy, seed


def interleave_bugs(args: argparse.Namespace) -> list[dict[str, Any]]:
    import interleave_test_adapter as a

    rows = []
    for bug in BUGS:
        for variant, fn, budget, seeds in (
            ("buggy", bug.buggy, args.budget, args.seeds),
            ("fixed", bug.fixed, args.twin_budget, args.seeds[: args.twin_seeds]),
        ):
            for strategy, seed in _runs(a.STRATEGIES, seeds, ("dfs",)):
                row = a.explore(
                    fn,
                    strategy=strategy,
                    seed=seed,
                    snarl_granularity=bug.granularity,
                    schedules=budget,
                    timeout=args.timeout,
                )
                row.update(bug=bug.name, variant=variant, seed=seed)
                rows.append(row)
        _say(f"  {a.TOOL}: {bug.name}")
    return rows


def frontrun_bugs(args: argparse.Namespace) -> list[dict[str, Any]]:
    import frontrun_adapter as a

    rows = []
    for bug in BUGS:
        for variant, program, budget, seeds in (
            ("buggy", bug.buggy_program, args.budget, args.seeds),
            ("fixed", bug.fixed_program, args.twin_budget, args.seeds[: args.twin_seeds]),
        ):
            for strategy, seed in _runs(a.STRATEGIES, seeds, ("dpor",)):
                if program is None:
                    row = {
                        "tool": a.TOOL,
                        "strategy": strategy,
                        "granularity": a.GRANULARITY,
                        "na": bug.why_not_workers,
                    }
                else:
                    row = a.explore(
                        program,
                        strategy=strategy,
                        seed=seed,
                        schedules=budget,
                        timeout=args.timeout,
                    )
                row.update(bug=bug.name, variant=variant, seed=seed)
                rows.append(row)
        _say(f"  {a.TOOL}: {bug.name}")
    return rows


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--tool", choices=("interleave-test", "frontrun"), required=True)
    p.add_argument("--part", choices=("rates", "bugs"), required=True)
    p.add_argument("--schedules", type=int, default=200, help="per rate measurement")
    p.add_argument("--seeds", default="0,1,2,3,4")
    p.add_argument("--budget", type=int, default=1000, help="schedules per buggy run")
    p.add_argument("--twin-budget", type=int, default=300, help="schedules per twin run")
    p.add_argument("--twin-seeds", type=int, default=2, help="seeds for the twins")
    p.add_argument("--timeout", type=float, default=2.0, help="per-schedule wall clock (s)")
    p.add_argument("--only", default="", help="comma-separated bug names (default: all)")
    args = p.parse_args(argv)
    args.seeds = [int(s) for s in args.seeds.split(",") if s]
    if args.only:
        wanted = set(args.only.split(","))
        BUGS[:] = [b for b in BUGS if b.name in wanted]
    if args.tool == "frontrun":
        os.environ["FRONTRUN_ACTIVE"] = "1"  # what the frontrun CLI sets (see the adapter)
    if args.part == "rates":
        fn = interleave_rates if args.tool == "interleave-test" else frontrun_rates
        rows = fn(args.schedules)
    else:
        fn = interleave_bugs if args.tool == "interleave-test" else frontrun_bugs
        rows = fn(args)
    package = "interleave-test" if args.tool == "interleave-test" else "frontrun"
    doc = {
        "tool": args.tool,
        "version": version(package),
        "python": platform.python_version(),
        "rows": rows,
    }
    json.dump(doc, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
