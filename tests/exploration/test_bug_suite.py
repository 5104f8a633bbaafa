"""Issue 12, point 8: every bug of the benchmark suite (``benchmarks/bugs/``) is found at
default settings (granularity auto, and ``include`` for the bug inside a library), and no
fixed twin fails.  One seed and smaller budgets than ``benchmarks/bench_explore.py``; the
benchmark measures the rest (schedules to the first failure, the peers)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from snarl.exploration.runner import explore

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

from bugs import BUGS


@pytest.mark.parametrize("bug", BUGS, ids=lambda b: b.name)
def test_found_at_default_settings_and_the_twin_passes(bug):
    include = [bug.include] if bug.include else []
    found = explore(bug.buggy, schedules=2000, include=include)
    assert found.failure is not None, f"{bug.name}: {found}"
    assert found.failure.kind == bug.expect, found.failure.report
    twin = explore(bug.fixed, schedules=200, include=include, shrink=False)
    assert twin.failure is None, f"{bug.name} (fixed): {twin}"
