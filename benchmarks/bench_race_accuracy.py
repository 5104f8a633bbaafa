#!/usr/bin/env python3
"""Accuracy of ``snarl race`` on ``benchmarks/races/``: each racy program must be reported in a
single ordinary run, each twin must not.

Each program is run once as a subprocess (racy, then its twin with ``RACE_TWIN=1``), under
``python -m snarl race --json``; with ``--threadcheck PATH`` also under ``PATH run --json``
(threadcheck from PyPI, installed in a separate virtualenv: it is never a dependency of
snarl).  A markdown table is printed: one row a program, found/clean per tool.

    python benchmarks/bench_race_accuracy.py [--threadcheck /path/to/venv/bin/threadcheck]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
PROGRAMS = sorted((HERE / "races").glob("[0-9][0-9]_*.py"))
SRC = str(HERE.parent / "src")


def snarl_races(program: Path, twin: bool) -> tuple[int, float]:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "races.json"
        env = {**os.environ, "PYTHONPATH": SRC, "RACE_TWIN": "1" if twin else "0"}
        t0 = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "snarl", "race", "--json", str(out), str(program)],
            env=env, capture_output=True, timeout=120, check=False,
        )  # fmt: skip
        dt = time.perf_counter() - t0
        return len(json.loads(out.read_text())["races"]), dt


def threadcheck_races(exe: str, program: Path, twin: bool) -> int | None:
    env = {**os.environ, "RACE_TWIN": "1" if twin else "0"}
    proc = subprocess.run(
        [exe, "run", "-q", "--json", str(program)],
        env=env, capture_output=True, text=True, timeout=120, check=False, cwd=program.parent,
    )  # fmt: skip
    lines = proc.stdout.splitlines()
    for i in range(len(lines) - 1, -1, -1):  # its JSON comes last, after the program's output
        if lines[i].startswith("["):
            try:
                return len(json.loads("\n".join(lines[i:])))
            except ValueError:
                continue
    return None  # it crashed or printed no JSON


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threadcheck", metavar="PATH", help="threadcheck executable to compare")
    args = ap.parse_args()
    print(f"CPython {platform.python_version()}, {len(PROGRAMS)} programs")
    head = "| program | snarl: racy | snarl: twin |"
    if args.threadcheck:
        head += " threadcheck: racy | threadcheck: twin |"
    print(head)
    print("|" + " --- |" * (head.count("|") - 1))
    found = clean = tc_found = tc_clean = 0
    for program in PROGRAMS:
        racy, _ = snarl_races(program, False)
        twin, _ = snarl_races(program, True)
        found += racy > 0
        clean += twin == 0
        row = f"| {program.stem} | {'found' if racy else 'MISSED'} ({racy}) |"
        row += f" {'clean' if twin == 0 else 'FALSE'} ({twin}) |"
        if args.threadcheck:
            a = threadcheck_races(args.threadcheck, program, False)
            b = threadcheck_races(args.threadcheck, program, True)
            tc_found += bool(a)
            tc_clean += b == 0
            row += f" {'error' if a is None else ('found' if a else 'missed')} ({a}) |"
            row += f" {'error' if b is None else ('clean' if b == 0 else 'FALSE')} ({b}) |"
        print(row)
    n = len(PROGRAMS)
    print(f"\nsnarl race: {found}/{n} races found, {clean}/{n} twins clean")
    if args.threadcheck:
        print(f"threadcheck: {tc_found}/{n} races found, {tc_clean}/{n} twins clean")


if __name__ == "__main__":
    main()
