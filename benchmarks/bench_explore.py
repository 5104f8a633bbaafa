#!/usr/bin/env python3
"""The interleaving explorer: bug-finding on a suite of classic bugs, and schedules per second,
against frontrun and interleave-test in the same run.

1. Bug suite (``benchmarks/bugs/``: 40 patterns, each a buggy test and its fixed twin).  For
   each strategy (random, pct, dfs) and seed (``--seeds``; dfs has no seed and runs once),
   snarl explores each buggy test at its default settings (granularity ``auto``, and
   ``include`` for a bug inside a library: what a user runs with no flag; ``--snarl-at bug``
   uses each bug's own granularity instead) with ``--budget`` schedules
   (shrinking on, as by default) and reports: found or not, the failure kind (against the
   kind expected), schedules to the first failure, and the shrunk schedule's preemptions and
   length (switch points).  Each fixed twin is explored with ``--twin-budget`` schedules for
   ``--twin-seeds`` seeds: any failure there is a false positive.
2. Schedules per second on three workloads that never fail (``bugs/workloads.py``: two
   threads x 10 ``counter += 1``; the same under a lock; 5 dining philosophers, fixed), at
   the granularities where they have switch points, with ``explore(..., shrink=False)``: the
   rate is schedules over the wall-clock time of the ``explore()`` call (``Result.rate``,
   which leaves out installing the primitives, is kept in the JSON as ``own_rate``).
   ``--repeat`` rounds of ``--rate-schedules`` schedules per measurement (frontrun, ~5x
   slower, a quarter of that); each round measures snarl, then each peer; medians.
3. ``--peers PYTHON`` (a 3.12+ venv with ``frontrun`` and ``interleave-test``): the same
   workloads and bug suite through each peer (``benchmarks/peers/``: one subprocess per tool
   and part, printing JSON), at the closest granularity each has, and the ratios snarl/peer.
   A peer schedule that does not end is cut after ``--peer-timeout`` seconds (frontrun's twins
   get ``--frontrun-twin-budget`` schedules: it is the slowest).

    python benchmarks/bench_explore.py [--quick] [--peers /tmp/peers-venv-312/bin/python]
        [--seeds 5] [--budget 1000] [--twin-budget 300] [--twin-seeds 2] [--repeat 5]
        [--rate-schedules 120] [--part all|bugs|rates] [--only abba,livelock] [--json PATH]

``--quick`` (under a minute): 8 of the bugs, one seed, smaller budgets, one round.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[0] / "src"))
sys.path.insert(0, str(HERE))

from bugs import BUGS, Bug  # noqa: E402
from bugs.workloads import RATE_GRANULARITIES, TESTS  # noqa: E402

import snarl  # noqa: E402

STRATEGIES = ("random", "pct", "dfs")
PEER_TOOLS = ("interleave-test", "frontrun")
PEER_STRATEGIES = {"interleave-test": ("random", "pct", "dfs"), "frontrun": ("random", "dpor")}
QUICK_BUGS = (
    "abba",
    "lost_update",
    "lost_wakeup",
    "if_not_while",
    "stale_flag",
    "racy_increment",
    "livelock",
    "lazy_singleton",
)


# -- snarl ------------------------------------------------------------------------------------
def snarl_explore(
    fn: Callable[[], None],
    *,
    strategy: str,
    seed: int,
    granularity: str,
    schedules: int,
    include: Sequence[str] = (),
) -> dict[str, Any]:
    """One exploration (shrinking on); the row the tables read."""
    row: dict[str, Any] = {
        "tool": "snarl",
        "strategy": strategy,
        "granularity": granularity,
        "found": False,
        "kind": None,
        "schedules": None,
        "length": None,
        "preemptions": None,
        "found_length": None,
        "found_preemptions": None,
        "shrunk": True,
        "message": None,
        "error": None,
    }
    began = time.perf_counter()
    try:
        result = snarl.explore(
            fn, strategy=strategy, seed=seed, granularity=granularity, schedules=schedules,
            include=include,
        )  # fmt: skip
    except Exception as exc:  # a snarl bug: reported, never hidden
        row["seconds"] = time.perf_counter() - began
        row["error"] = f"{type(exc).__name__}: {exc}"
        return row
    row["seconds"] = time.perf_counter() - began
    row["schedules"] = result.schedules
    f = result.failure
    if f is not None:
        row.update(
            found=True,
            kind=f.kind,
            length=f.steps,
            preemptions=f.preemptions,
            found_length=f.found_steps,
            found_preemptions=f.found_preemptions,
            message=f.message,
            token=f.token,
        )
    return row


def snarl_bugs(
    bugs: Sequence[Bug],
    seeds: Sequence[int],
    budget: int,
    twin_budget: int,
    twin_seeds: int,
    at: str = "default",
) -> list[dict[str, Any]]:
    rows = []
    for bug in bugs:
        began = time.perf_counter()
        for variant, fn, n, variant_seeds in (
            ("buggy", bug.buggy, budget, seeds),
            ("fixed", bug.fixed, twin_budget, seeds[:twin_seeds]),
        ):
            for strategy in STRATEGIES:
                for seed in variant_seeds[:1] if strategy == "dfs" else variant_seeds:
                    row = snarl_explore(
                        fn, strategy=strategy, seed=seed, schedules=n,
                        granularity="auto" if at == "default" else bug.granularity,
                        include=[bug.include] if bug.include else [],
                    )  # fmt: skip
                    row.update(bug=bug.name, variant=variant, seed=seed)
                    rows.append(row)
        _say(f"  snarl: {bug.name} ({time.perf_counter() - began:.1f} s)")
    return rows


def snarl_rates(schedules: int) -> list[dict[str, Any]]:
    rows = []
    for name, granularities in RATE_GRANULARITIES.items():
        for granularity in granularities:
            for strategy in STRATEGIES:
                began = time.perf_counter()
                result = snarl.explore(
                    TESTS[name],
                    strategy=strategy,
                    seed=1,
                    granularity=granularity,
                    schedules=schedules,
                    shrink=False,
                )
                seconds = time.perf_counter() - began
                rows.append(
                    {
                        "tool": "snarl",
                        "strategy": strategy,
                        "granularity": granularity,
                        "snarl_granularity": granularity,
                        "workload": name,
                        "schedules": result.schedules,
                        "seconds": seconds,
                        "rate": result.schedules / seconds,
                        "own_rate": result.rate,  # Result.seconds: the loop, no install
                        "found": result.found,  # never: these workloads cannot fail
                    }
                )
    return rows


# -- peers ------------------------------------------------------------------------------------
def run_peer(python: str, tool: str, part: str, extra: Sequence[str]) -> dict[str, Any] | None:
    cmd = [python, str(HERE / "peers" / "run_peers.py"), "--tool", tool, "--part", part, *extra]
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, check=False)
    if proc.returncode != 0:
        _say(f"  {tool} {part}: exit status {proc.returncode}")
        return None
    try:
        return json.loads(proc.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        _say(f"  {tool} {part}: no JSON on stdout")
        return None


# -- tables -----------------------------------------------------------------------------------
def table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    cells = [[str(c) for c in headers]] + [[_cell(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = []
    for n, r in enumerate(cells):
        lines.append("| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |")
        if n == 0:
            lines.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.0f}" if value >= 100 else f"{value:.3g}"
    return str(value)


def _median(values: Iterable[Any]) -> float | None:
    vs = [v for v in values if v is not None]
    return statistics.median(vs) if vs else None


def bug_table(rows: list[dict[str, Any]], tool: str, strategies: Sequence[str]) -> str:
    """Per bug and strategy: found in k/n runs, median schedules to the first failure, median
    length (preemptions) of the reported schedule; then false positives on the twin."""
    mine = [r for r in rows if r["tool"] == tool]
    headers = ["bug", "gran"]
    for s in strategies:
        headers.append(f"{s}: found, sched, len (pre)")
    headers.append("twin FP / inconcl.")
    out = []
    for name in dict.fromkeys(r["bug"] for r in mine):
        runs = [r for r in mine if r["bug"] == name]
        first = runs[0]
        line: list[Any] = [name, first.get("granularity", "-")]
        if first.get("na"):
            out.append([name, "n/a", *["n/a" for _ in strategies], first["na"]])
            continue
        for s in strategies:
            buggy = [r for r in runs if r["variant"] == "buggy" and r["strategy"] == s]
            found = [r for r in buggy if r["found"]]
            errors = [r for r in buggy if r.get("error")]
            timeouts = [r for r in buggy if r.get("inconclusive")]
            cell = f"{len(found)}/{len(buggy)}"
            if found:
                sched = _median(r["schedules"] for r in found)
                length = _median(r["length"] for r in found)
                pre = _median(r["preemptions"] for r in found)
                cell += f", {_cell(sched)}, {_cell(length)} ({_cell(pre)})"
                if any(r.get("expect") and r["kind"] != r["expect"] for r in found):
                    cell += " kind!=" + ",".join(sorted({str(r["kind"]) for r in found}))
            if timeouts:
                cell += f" ({len(timeouts)} timed out)"
            if errors:
                cell += f" ERROR x{len(errors)}"
            line.append(cell)
        twins = [r for r in runs if r["variant"] == "fixed"]
        fps = [r for r in twins if r["found"]]
        inconclusive = [r for r in twins if r.get("inconclusive")]
        fp = f"{len(fps)}/{len(twins)}"
        if fps:
            fp += " (" + ",".join(sorted({f"{r['strategy']}:{r['kind']}" for r in fps})) + ")"
        if inconclusive:
            fp += f" / {len(inconclusive)}"
        line.append(fp)
        out.append(line)
    return table(headers, out)


def bug_summary(rows: list[dict[str, Any]]) -> tuple[str, list[dict[str, Any]]]:
    groups: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        groups[(r["tool"], r["strategy"])].append(r)
    out, data = [], []
    for (tool, strategy), runs in groups.items():
        live = [r for r in runs if not r.get("na")]
        buggy = [r for r in live if r["variant"] == "buggy"]
        twins = [r for r in live if r["variant"] == "fixed"]
        names = sorted({r["bug"] for r in buggy})
        found_names = sorted({r["bug"] for r in buggy if r["found"]})
        found = [r for r in buggy if r["found"]]
        na = sorted({r["bug"] for r in runs if r.get("na")})
        d = {
            "tool": tool,
            "strategy": strategy,
            "bugs": len(names),
            "na": len(na),
            "bugs_found": len(found_names),
            "runs": len(buggy),
            "runs_found": len(found),
            "median_schedules": _median(r["schedules"] for r in found),
            "median_length": _median(r["length"] for r in found),
            "median_preemptions": _median(r["preemptions"] for r in found),
            "shrunk": all(r.get("shrunk") for r in found) if found else None,
            "twin_runs": len(twins),
            "false_positives": sum(1 for r in twins if r["found"]),
            "timed_out": sum(1 for r in buggy if r.get("inconclusive")),
            "twins_inconclusive": sum(1 for r in twins if r.get("inconclusive")),
            "errors": sum(1 for r in live if r.get("error")),
            "seconds": sum(r.get("seconds", 0.0) for r in live),
        }
        data.append(d)
        out.append(
            [
                tool,
                strategy,
                f"{d['bugs_found']}/{d['bugs']}" + (f" (+{d['na']} n/a)" if na else ""),
                f"{d['runs_found']}/{d['runs']}",
                d["median_schedules"],
                d["median_length"],
                d["median_preemptions"],
                "yes" if d["shrunk"] else "no",
                d["timed_out"],
                f"{d['false_positives']}/{d['twin_runs']}",
                d["twins_inconclusive"],
                d["errors"],
                f"{d['seconds']:.1f}",
            ]
        )
    headers = [
        "tool",
        "strategy",
        "bugs found",
        "runs found",
        "median sched to 1st failure",
        "median length",
        "median preempt.",
        "shrunk",
        "buggy timed out",
        "twin FPs",
        "twin inconcl.",
        "errors",
        "time (s)",
    ]
    return table(headers, out), data


def rate_tables(rows: list[dict[str, Any]]) -> tuple[str, list[dict[str, Any]]]:
    """Median rate per (tool, strategy, workload, granularity), and ratios snarl/peer."""
    samples: dict[tuple[str, str, str, str], list[float]] = defaultdict(list)
    labels: dict[tuple[str, str, str, str], str] = {}
    for r in rows:
        key = (r["tool"], r["strategy"], r["workload"], r["snarl_granularity"])
        samples[key].append(r["rate"])
        labels[key] = r["granularity"]
    med = {k: statistics.median(v) for k, v in samples.items()}
    lines, data = [], []
    for workload, granularities in RATE_GRANULARITIES.items():
        for g in granularities:
            for strategy in STRATEGIES:
                s = med.get(("snarl", strategy, workload, g))
                it = med.get(("interleave-test", strategy, workload, g))
                fr_strategy = {"random": "random", "dfs": "dpor"}.get(strategy)
                fr = med.get(("frontrun", fr_strategy or "", workload, "bytecode"))
                if g != "bytecode":
                    fr = None  # frontrun has no coarser granularity than opcodes
                peers = [p for p in (it, fr) if p]
                best = max(peers) if peers else None
                n = len(samples.get(("snarl", strategy, workload, g), []))
                d = {
                    "workload": workload,
                    "granularity": g,
                    "strategy": strategy,
                    "snarl": s,
                    "interleave_test": it,
                    "frontrun": fr,
                    "frontrun_strategy": fr_strategy if fr else None,
                    "vs_interleave_test": s / it if s and it else None,
                    "vs_frontrun": s / fr if s and fr else None,
                    "vs_faster_peer": s / best if s and best else None,
                    "rounds": n,
                }
                data.append(d)
                lines.append(
                    [
                        workload,
                        g,
                        strategy,
                        s,
                        it,
                        f"{fr:.0f} ({fr_strategy})" if fr else None,
                        _ratio(d["vs_interleave_test"]),
                        _ratio(d["vs_frontrun"]),
                        _ratio(d["vs_faster_peer"]),
                    ]
                )
    headers = [
        "workload",
        "granularity",
        "strategy",
        "snarl /s",
        "interleave-test /s",
        "frontrun /s",
        "snarl/it",
        "snarl/fr",
        "snarl/faster peer",
    ]
    if not any(r["tool"] != "snarl" for r in rows):  # no --peers: snarl's columns only
        headers, lines = headers[:4], [line[:4] for line in lines]
    return table(headers, lines), data


def _ratio(x: float | None) -> str | None:
    return f"{x:.2f}x" if x is not None else None


# -- main -------------------------------------------------------------------------------------
def _say(text: str) -> None:
    sys.stderr.write(text + "\n")
    sys.stderr.flush()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="a subset, one seed, one round")
    p.add_argument("--peers", metavar="PYTHON", help="a 3.12+ Python with the peer tools")
    p.add_argument("--part", choices=("all", "bugs", "rates"), default="all")
    p.add_argument("--seeds", type=int, help="seeds per strategy (default 5; quick 1)")
    p.add_argument("--budget", type=int, help="schedules per buggy run (default 1000)")
    p.add_argument("--twin-budget", type=int, help="schedules per twin run (default 300)")
    p.add_argument("--twin-seeds", type=int, help="seeds for the twins (default 2; quick 1)")
    p.add_argument(
        "--frontrun-twin-budget",
        type=int,
        help="frontrun's schedules per twin run (default 60: it runs ~30-200 schedules/s)",
    )
    p.add_argument("--peer-timeout", type=float, default=1.0, help="peers: s per schedule")
    p.add_argument("--repeat", type=int, help="rate rounds (default 5; quick 1)")
    p.add_argument("--rate-schedules", type=int, help="schedules per rate sample (120; 50)")
    p.add_argument("--only", default="", help="comma-separated bug names")
    p.add_argument(
        "--snarl-at",
        choices=("default", "bug"),
        default="default",
        help="snarl's granularity: its default (auto), or each bug's own",
    )
    p.add_argument("--json", metavar="PATH", help="write every row and summary here")
    a = p.parse_args(argv)
    q = a.quick
    seeds = list(range(a.seeds if a.seeds is not None else (1 if q else 5)))
    budget = a.budget or (300 if q else 1000)
    twin_budget = a.twin_budget or (100 if q else 300)
    twin_seeds = a.twin_seeds or (1 if q else 2)
    fr_twin_budget = a.frontrun_twin_budget or (30 if q else 60)
    repeat = a.repeat or (1 if q else 5)
    rate_schedules = a.rate_schedules or (50 if q else 120)
    bugs = list(BUGS)
    if a.only:
        wanted = set(a.only.split(","))
        bugs = [b for b in bugs if b.name in wanted]
    elif q:
        bugs = [b for b in bugs if b.name in QUICK_BUGS]
    peer_python = a.peers
    began = time.perf_counter()
    print(f"snarl {snarl.__version__} on CPython {platform.python_version()} ({sys.executable})")
    if peer_python:
        out = subprocess.run(
            [peer_python, "-c", "import platform; print(platform.python_version())"],
            stdout=subprocess.PIPE,
            text=True,
            check=True,
        )
        print(f"peers on CPython {out.stdout.strip()} ({peer_python})")
    print(
        f"seeds {len(seeds)}, budget {budget}, twins {twin_budget} x {twin_seeds} seeds "
        f"(frontrun {fr_twin_budget}), rate rounds {repeat} x {rate_schedules} schedules, "
        f"peer timeout {a.peer_timeout} s"
    )
    report: dict[str, Any] = {
        "python": platform.python_version(),
        "argv": sys.argv[1:],
        "bugs": [],
        "rates": [],
    }

    if a.part in ("all", "bugs"):
        _say("bug suite: snarl")
        rows = snarl_bugs(bugs, seeds, budget, twin_budget, twin_seeds, a.snarl_at)
        if peer_python:
            names = ",".join(b.name for b in bugs)
            common = ["--seeds", ",".join(map(str, seeds)), "--budget", str(budget)]
            common += ["--twin-seeds", str(twin_seeds), "--timeout", str(a.peer_timeout)]
            common += ["--only", names]
            for tool in PEER_TOOLS:
                _say(f"bug suite: {tool}")
                tb = fr_twin_budget if tool == "frontrun" else twin_budget
                doc = run_peer(peer_python, tool, "bugs", [*common, "--twin-budget", str(tb)])
                if doc is not None:
                    report[f"{tool}_version"] = doc["version"]
                    rows.extend(doc["rows"])
        expect = {b.name: b.expect for b in bugs}
        for r in rows:
            r["expect"] = expect[r["bug"]]
        report["bugs"] = rows
        print()
        print("## Bug suite")
        print()
        for b in bugs:
            print(f"- {b.name} ({b.granularity}; switch: {b.switch}; expect {b.expect}): "
                  f"{b.pattern}")  # fmt: skip
        print()
        print("### snarl (length = shrunk switch points, pre = shrunk preemptions)")
        print()
        print(bug_table(rows, "snarl", STRATEGIES))
        for tool in PEER_TOOLS:
            if any(r["tool"] == tool for r in rows):
                print()
                print(f"### {tool} (length and preemptions as found: no shrinking)")
                print()
                print(bug_table(rows, tool, PEER_STRATEGIES[tool]))
        summary, data = bug_summary(rows)
        report["bug_summary"] = data
        print()
        print("### Summary")
        print()
        print(summary)
        problems = [
            r
            for r in rows
            if r["tool"] == "snarl"
            and (
                r.get("error")
                or (r["variant"] == "fixed" and r["found"])
                or (r["variant"] == "buggy" and r["found"] and r["kind"] != r["expect"])
            )
        ]
        if problems:
            print()
            print("### snarl: false positives, wrong kinds and errors")
            print()
            for r in problems:
                what = r.get("error") or f"{r['kind']}: {r['message']}"
                print(
                    f"- {r['bug']} {r['variant']} {r['strategy']} seed {r['seed']} "
                    f"({r['granularity']}): {what}"
                )

    if a.part in ("all", "rates"):
        rows = []
        for n in range(repeat):
            _say(f"rates: round {n + 1}/{repeat}: snarl")
            rows.extend(dict(r, round=n) for r in snarl_rates(rate_schedules))
            if peer_python:
                for tool in PEER_TOOLS:
                    _say(f"rates: round {n + 1}/{repeat}: {tool}")
                    count = rate_schedules if tool == "interleave-test" else rate_schedules // 4
                    doc = run_peer(peer_python, tool, "rates", ["--schedules", str(count)])
                    if doc is not None:
                        rows.extend(dict(r, round=n) for r in doc["rows"])
        report["rates"] = rows
        text, data = rate_tables(rows)
        report["rate_summary"] = data
        print()
        print(f"## Schedules per second (median of {repeat} rounds)")
        print()
        print(text)
        wrong = [r for r in rows if r.get("found") or r.get("error") or r.get("inconclusive")]
        if wrong:
            print()
            print("Failures reported on workloads that cannot fail:")
            for r in wrong:
                print(f"- {r['tool']} {r['strategy']} {r['workload']} {r['granularity']}")

    seconds = time.perf_counter() - began
    report["seconds"] = seconds
    print()
    print(f"total {seconds:.0f} s")
    if a.json:
        Path(a.json).write_text(json.dumps(report, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
